//! The cursor (where a read resumes, and which log it belongs to) and the
//! target (the run and part of it a call is about).

use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::mcp::error::ToolError;
use crate::mcp::logread::Pos;
use crate::mcp::resolve::ProjectRef;
use crate::mcp::runlocate::RunSelector;

use super::GetRunLogInput;

/// What a cursor holds: the log it belongs to and the place to resume.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub(super) struct Cursor {
    pub(super) v: u8,
    pub(super) ns: String,
    pub(super) p: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) b: Option<String>,
    pub(super) id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) node: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) step: Option<String>,
    /// The run log is read as its step logs.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(super) ps: bool,
    pub(super) pos: Pos,
}

/// Cursors of version 1 held byte offsets of the text received, which are
/// not upstream's offsets (§16 U2); they are refused.
pub(super) const CURSOR_VERSION: u8 = 2;

impl Cursor {
    pub(super) fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }

    pub(super) fn decode(s: &str) -> Result<Cursor, ToolError> {
        let bad = || {
            ToolError::InvalidInput(
                "cursor is not a cursor this server issued; pass the `cursor` of an earlier get_run_log result unchanged, or omit it"
                    .into(),
            )
        };
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| bad())?;
        let c: Cursor = serde_json::from_slice(&raw).map_err(|_| bad())?;
        if c.v != CURSOR_VERSION {
            return Err(bad());
        }
        Ok(c)
    }
}

/// The run and part of it the call is about, from the arguments and/or the cursor.
pub(super) struct Target {
    pub(super) name: Option<String>,
    pub(super) pipeline: Option<String>,
    pub(super) run_id: Option<String>,
    pub(super) branch: Option<String>,
    pub(super) node: Option<String>,
    pub(super) step: Option<String>,
    /// The stage id the cursor was issued for (checked once `node` is resolved).
    pub(super) cursor_node: Option<String>,
    /// The cursor reads the run log as its step logs.
    pub(super) per_step: bool,
}

fn opt(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

impl Target {
    pub(super) fn of(
        input: &GetRunLogInput,
        cursor: Option<&Cursor>,
        project: &ProjectRef,
    ) -> Result<Target, ToolError> {
        let mut t = Target {
            name: opt(&input.run.name),
            pipeline: opt(&input.run.pipeline),
            run_id: opt(&input.run.run_id),
            branch: opt(&input.run.branch),
            node: opt(&input.node),
            step: opt(&input.step),
            cursor_node: None,
            per_step: false,
        };
        let Some(c) = cursor else {
            return Ok(t);
        };
        let mismatch = |what: &str| {
            Err(ToolError::InvalidInput(format!(
                "the cursor belongs to another log ({what} differs); omit the cursor, or pass it with the same run, node and step it came with"
            )))
        };
        if c.ns != project.name {
            return mismatch("project");
        }
        let named_run = t.name.is_some() || t.pipeline.is_some() || t.run_id.is_some();
        if named_run {
            if t.name.is_some() && t.name != c.name && t.run_id.is_none() {
                return mismatch("run name");
            }
            if t.pipeline.as_ref().is_some_and(|p| *p != c.p) || t.run_id.as_ref().is_some_and(|r| *r != c.id) {
                return mismatch("run");
            }
        } else {
            t.pipeline = Some(c.p.clone());
            t.run_id = Some(c.id.clone());
            t.branch = c.b.clone();
        }
        if t.node.is_none() && t.step.is_none() {
            t.node = c.node.clone();
            t.step = c.step.clone();
        } else if t.step != c.step || (t.node.is_some() && c.node.is_none()) {
            return mismatch("node or step");
        }
        t.cursor_node = c.node.clone();
        t.per_step = c.ps && t.node.is_none() && t.step.is_none();
        Ok(t)
    }

    pub(super) fn selector(&self) -> RunSelector<'_> {
        RunSelector::of(&self.name, &self.pipeline, &self.run_id, &self.branch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let c = Cursor {
            v: CURSOR_VERSION,
            ns: "ns".into(),
            p: "p".into(),
            b: None,
            id: "3".into(),
            name: None,
            node: None,
            step: None,
            ps: false,
            pos: Pos {
                seg: 0,
                raw: 0,
                skip: 2,
                text: 10,
                line: 2,
            },
        };
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        assert!(Cursor::decode("not-a-cursor").is_err());
    }
}
