//! One call: read the chosen log with the mode's sink and describe the result.

use crate::kubesphere::KsError;
use crate::kubesphere::logs::ByteStream;
use crate::kubesphere::models::BlueNode;
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::logread::{
    GrepSink, HeadSink, Kept, LINE_CAP, LogSource, Pos, ReadOutcome, Segment, TailSink, read_log, render_lines,
    run_log_undeliverable,
};
use crate::mcp::nodes::nodes_of;
use crate::mcp::resolve::ProjectRef;
use crate::mcp::runlocate::LocatedRun;
use crate::mcp::runview::RunView;

use super::choose::{LogKind, choose, per_step_run, segment_writing, step_open};
use super::cursor::{CURSOR_VERSION, Cursor, Target};
use super::mode::Mode;
use super::note::Note;
use super::{GetRunLogOutput, MatchInfo, Omitted, Span};

pub(super) fn not_ready(project: ProjectRef, run: RunView, mode: &Mode, why: String) -> GetRunLogOutput {
    GetRunLogOutput {
        project,
        run,
        log: LogKind::Run.as_str().into(),
        per_step: false,
        node: None,
        stage_name: None,
        step: None,
        step_name: None,
        ready: false,
        still_writing: true,
        mode: mode.name().into(),
        text: String::new(),
        returned: None,
        log_bytes: None,
        log_lines: None,
        omitted_before: Omitted {
            lines: Some(0),
            bytes: Some(0),
        },
        omitted_after: Omitted {
            lines: None,
            bytes: None,
        },
        matches: None,
        cursor: None,
        note: why,
    }
}

/// One read of the chosen log with the sink of `mode`: what was read, the
/// lines picked, where the next read resumes, and whether the sink stopped
/// before the end.
pub(super) async fn read_with_mode(
    src: &LogSource<'_>,
    from: Pos,
    cap: usize,
    writing: &(dyn Fn(&Segment, &ByteStream) -> bool + Sync),
    mode: &Mode,
    max_bytes: usize,
) -> Result<(ReadOutcome, Picked, Pos, bool), KsError> {
    match mode {
        Mode::Tail(n) => {
            let mut sink = TailSink::new(*n as usize, max_bytes);
            let o = read_log(src, from, cap, writing, &mut sink).await?;
            let kept = sink.finish();
            let cursor = o.committed;
            Ok((o, Picked::Lines(kept), cursor, false))
        }
        Mode::Head(n) | Mode::Continue(n) => {
            let mut sink = HeadSink::new(*n as usize, max_bytes);
            let o = read_log(src, from, cap, writing, &mut sink).await?;
            let cursor = if sink.full {
                sink.resume.unwrap_or(from)
            } else {
                o.committed
            };
            Ok((o, Picked::Lines(sink.lines), cursor, sink.full))
        }
        Mode::Grep {
            re,
            context,
            max_matches,
            ..
        } => {
            let mut sink = GrepSink::new((**re).clone(), *context as usize, *max_matches as u64, max_bytes);
            let o = read_log(src, from, cap, writing, &mut sink).await?;
            let cursor = if sink.done {
                sink.resume.unwrap_or(from)
            } else {
                o.committed
            };
            let stopped = sink.done;
            Ok((o, Picked::Grep(Box::new(sink)), cursor, stopped))
        }
    }
}

pub(super) async fn read(
    ctx: &ToolCtx,
    project: ProjectRef,
    located: LocatedRun,
    target: &Target,
    from: Option<Pos>,
    mode: Mode,
    max_bytes: usize,
) -> Result<GetRunLogOutput, ToolError> {
    let run = located.view;
    let Some(blue) = located.blue else {
        let why = "No log yet: Jenkins has not started this run (it is queued). Call again in a few seconds, or wait_for_run first.".to_string();
        return Ok(not_ready(project, run, &mode, why));
    };
    let mut chosen = match choose(ctx, &project, &blue, run.name.as_deref(), target).await? {
        Some(c) => c,
        None => {
            let why = format!(
                "No log yet: the {} has not started. Call again in a few seconds.",
                if target.step.is_some() { "step" } else { "stage" }
            );
            return Ok(not_ready(project, run, &mode, why));
        }
    };
    if from.is_some() && target.cursor_node.is_some() && chosen.node != target.cursor_node {
        return Err(ToolError::InvalidInput(
            "the cursor belongs to another stage; omit the cursor, or pass it with the same node and step it came with"
                .into(),
        ));
    }
    let resumed = from.is_some();
    let from = from.unwrap_or_default();
    if from.seg as usize >= chosen.segments.len().max(1) {
        return Err(ToolError::InvalidInput(
            "the cursor points past the steps of this log; omit it to read the log again".into(),
        ));
    }
    let run_finished = run.finished;
    let cap = LINE_CAP.min(max_bytes.saturating_sub(64)).max(64);
    let cluster = project.cluster();
    let mut attempt = {
        let open = chosen.open_steps.clone();
        let writing = move |seg: &Segment, body: &ByteStream| segment_writing(seg, body, run_finished, &open);
        let src = LogSource {
            client: &ctx.client,
            cluster: &cluster,
            run: &blue,
            segments: &chosen.segments,
        };
        read_with_mode(&src, from, cap, &writing, &mode, max_bytes).await
    };
    // §16 U8: a run log too large for ks-devops to relay fails (500 or a
    // timeout), or comes back empty when Jenkins' answer outlasted the
    // relay's timeout after its headers (pure_request.go:88 ignores that
    // error). A finished run always has a log: read its steps instead.
    let undeliverable = chosen.kind == LogKind::Run
        && !chosen.per_step
        && match &attempt {
            Err(e) => run_log_undeliverable(e),
            Ok((o, ..)) => run_finished && o.bytes_read == 0 && from == Pos::default(),
        };
    if undeliverable {
        if resumed {
            return Err(ToolError::InvalidInput(
                "KubeSphere can no longer deliver this run's log through its run log route (the log has grown too large for it to relay), and this cursor reads that route line by line. Read on per stage or step (get_run_log with `node`/`step`; diagnose_run lists them), or call again without `cursor` to read the whole run as its step logs."
                    .into(),
            ));
        }
        let nodes: Vec<BlueNode> = nodes_of(ctx, &cluster, &blue, run.name.as_deref()).await?;
        chosen = per_step_run(&nodes);
        let open = chosen.open_steps.clone();
        let writing = move |seg: &Segment, body: &ByteStream| segment_writing(seg, body, run_finished, &open);
        let src = LogSource {
            client: &ctx.client,
            cluster: &cluster,
            run: &blue,
            segments: &chosen.segments,
        };
        attempt = read_with_mode(&src, from, cap, &writing, &mode, max_bytes).await;
    }
    let (outcome, picked, resume, stopped_early) = match attempt {
        Ok(x) => x,
        Err(KsError::NotFound { .. }) if !run.finished => {
            let why = "No log yet: Jenkins does not have this run's log (the run is queued or just starting). Call again in a few seconds.".to_string();
            return Ok(not_ready(project, run, &mode, why));
        }
        Err(e) => return Err(e.into()),
    };
    let still_writing = match chosen.kind {
        LogKind::Run => !run.finished,
        LogKind::Step => !run.finished && (outcome.more_data || step_open(&chosen)),
        LogKind::Stage => !run.finished && (!chosen.stage_done || outcome.more_data),
    };
    let cursor = Cursor {
        v: CURSOR_VERSION,
        ns: project.name.clone(),
        p: blue.pipeline.clone(),
        // The encoded name: it parses back to the same branch whatever it holds.
        b: blue.branch.as_ref().map(|b| b.encoded()),
        id: blue.run_id.clone(),
        name: run.name.clone(),
        node: chosen.node.clone().filter(|_| chosen.kind != LogKind::Run),
        step: chosen.step.clone(),
        ps: chosen.per_step,
        pos: resume,
    };
    let log_bytes = outcome.reached_end.then(|| outcome.end.byte());
    let log_lines = outcome.reached_end.then_some(outcome.lines_seen);
    let empty_log = outcome.reached_end && outcome.end.byte() == 0 && outcome.held_back_bytes == 0;
    if empty_log && still_writing && from == Pos::default() {
        let why = format!(
            "No log yet: the {} has not written anything (state {}). Call again in a few seconds.",
            chosen.kind.as_str(),
            run.state.as_deref().unwrap_or("unknown")
        );
        let mut o = not_ready(project, run, &mode, why);
        o.log = chosen.kind.as_str().into();
        o.per_step = chosen.per_step;
        o.node = chosen.node;
        o.stage_name = chosen.stage_name;
        o.step = chosen.step;
        o.step_name = chosen.step_name;
        o.cursor = Some(cursor.encode());
        return Ok(o);
    }
    let (text, kept_span, matches) = match &picked {
        Picked::Lines(lines) => (render_lines(lines), span(lines), None),
        Picked::Grep(g) => {
            let kept: Vec<Kept> = g.out.iter().map(|l| l.kept.clone()).collect();
            (
                g.render(),
                span(&kept),
                Some(MatchInfo {
                    total: g.total,
                    returned: g.returned,
                    not_returned: g.total - g.returned,
                }),
            )
        }
    };
    let text = ctx.client.redactor().redact(&text);
    let (omitted_before, mut omitted_after) = omitted(&kept_span, &from, &resume, log_bytes, log_lines, &mode);
    // An answer cut at Jenkins' per-answer line limit is not the end.
    let capped = outcome.capped && still_writing;
    if capped {
        omitted_after = Omitted {
            lines: None,
            bytes: None,
        };
    }
    let note = Note {
        mode: &mode,
        span: kept_span.as_ref(),
        log_bytes: if capped { None } else { log_bytes },
        log_lines: if capped { None } else { log_lines },
        before: &omitted_before,
        after: &omitted_after,
        matches: matches.as_ref(),
        still_writing,
        stopped_early,
        held_back_bytes: outcome.held_back_bytes,
        capped,
        run_log: chosen.kind == LogKind::Run && !chosen.per_step,
        per_step: chosen.per_step,
    }
    .text();
    Ok(GetRunLogOutput {
        project,
        run,
        log: chosen.kind.as_str().into(),
        per_step: chosen.per_step,
        node: chosen.node,
        stage_name: chosen.stage_name,
        step: chosen.step,
        step_name: chosen.step_name,
        ready: true,
        still_writing,
        mode: mode.name().into(),
        text,
        returned: kept_span,
        log_bytes: if capped { None } else { log_bytes },
        log_lines: if capped { None } else { log_lines },
        omitted_before,
        omitted_after,
        matches,
        cursor: Some(cursor.encode()),
        note,
    })
}

pub(super) enum Picked {
    Lines(Vec<Kept>),
    Grep(Box<GrepSink>),
}

pub(super) fn span(lines: &[Kept]) -> Option<Span> {
    let (first, last) = (lines.first()?, lines.last()?);
    Some(Span {
        first_line: first.no,
        last_line: last.no,
        lines: lines.len() as u64,
        start_byte: first.start,
        end_byte: last.end.byte(),
    })
}

pub(super) fn omitted(
    span: &Option<Span>,
    from: &Pos,
    resume: &Pos,
    log_bytes: Option<u64>,
    log_lines: Option<u64>,
    mode: &Mode,
) -> (Omitted, Omitted) {
    let (start_byte, start_line, end_byte, end_line) = match span {
        Some(s) => (s.start_byte, s.first_line - 1, s.end_byte, s.last_line),
        None => (resume.byte(), resume.line, resume.byte(), resume.line),
    };
    // grep leaves out non-matching lines in between too; "before" is what
    // precedes the searched part plus the skipped lines up to the first match.
    let _ = (from, mode);
    let before = Omitted {
        lines: Some(start_line),
        bytes: Some(start_byte),
    };
    let after = Omitted {
        lines: log_lines.map(|t| t.saturating_sub(end_line)),
        bytes: log_bytes.map(|t| t.saturating_sub(end_byte)),
    };
    (before, after)
}
