//! How the text is chosen: `tail_lines`, `head_lines`, a cursor or `grep`.

use regex::bytes::{Regex, RegexBuilder};

use crate::mcp::error::ToolError;

use super::{DEFAULT_LINES, GetRunLogInput, MAX_LINES};

const DEFAULT_CONTEXT: u32 = 2;
const MAX_CONTEXT: u32 = 10;
const DEFAULT_MATCHES: u32 = 50;
const MAX_MATCHES: u32 = 500;
const MAX_PATTERN: usize = 500;

/// How the text is chosen.
#[derive(Debug)]
pub(super) enum Mode {
    Tail(u32),
    Head(u32),
    /// From a cursor, forward.
    Continue(u32),
    Grep {
        re: Box<Regex>,
        pattern: String,
        context: u32,
        max_matches: u32,
    },
}

impl Mode {
    pub(super) fn parse(input: &GetRunLogInput) -> Result<Mode, ToolError> {
        let lines = |v: Option<u32>, what: &str| -> Result<Option<u32>, ToolError> {
            match v {
                Some(n) if n == 0 || n > MAX_LINES => Err(ToolError::InvalidInput(format!(
                    "{what} must be between 1 and {MAX_LINES}"
                ))),
                other => Ok(other),
            }
        };
        let tail = lines(input.tail_lines, "tail_lines")?;
        let head = lines(input.head_lines, "head_lines")?;
        let grep = input.grep.as_deref().filter(|g| !g.is_empty());
        if tail.is_some() && head.is_some() {
            return Err(ToolError::InvalidInput(
                "pass tail_lines or head_lines, not both".into(),
            ));
        }
        if grep.is_none() && (input.context.is_some() || input.max_matches.is_some()) {
            return Err(ToolError::InvalidInput(
                "context and max_matches only apply with grep".into(),
            ));
        }
        if let Some(pattern) = grep {
            if tail.is_some() || head.is_some() {
                return Err(ToolError::InvalidInput(
                    "grep searches the whole log (or from `cursor`): do not combine it with tail_lines or head_lines"
                        .into(),
                ));
            }
            if pattern.len() > MAX_PATTERN {
                return Err(ToolError::InvalidInput(format!(
                    "grep pattern is longer than {MAX_PATTERN} characters"
                )));
            }
            let context = input.context.unwrap_or(DEFAULT_CONTEXT);
            if context > MAX_CONTEXT {
                return Err(ToolError::InvalidInput(format!(
                    "context must be between 0 and {MAX_CONTEXT}"
                )));
            }
            let max_matches = input.max_matches.unwrap_or(DEFAULT_MATCHES);
            if max_matches == 0 || max_matches > MAX_MATCHES {
                return Err(ToolError::InvalidInput(format!(
                    "max_matches must be between 1 and {MAX_MATCHES}"
                )));
            }
            let re = RegexBuilder::new(pattern)
                .size_limit(2 * 1024 * 1024)
                .dfa_size_limit(4 * 1024 * 1024)
                .build()
                .map_err(|e| {
                    ToolError::InvalidInput(format!(
                        "grep is not a valid regular expression ({}); escape special characters such as ( [ . * with \\",
                        e.to_string().lines().last().unwrap_or("syntax error").trim()
                    ))
                })?;
            return Ok(Mode::Grep {
                re: Box::new(re),
                pattern: pattern.to_string(),
                context,
                max_matches,
            });
        }
        let has_cursor = input.cursor.as_deref().is_some_and(|c| !c.trim().is_empty());
        Ok(match (tail, head) {
            (Some(n), _) => Mode::Tail(n),
            (_, Some(n)) => Mode::Head(n),
            _ if has_cursor => Mode::Continue(DEFAULT_LINES),
            _ => Mode::Tail(DEFAULT_LINES),
        })
    }

    pub(super) fn name(&self) -> &'static str {
        match self {
            Mode::Tail(_) => "tail",
            Mode::Head(_) => "head",
            Mode::Continue(_) => "continue",
            Mode::Grep { .. } => "grep",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_conflicts_are_explained() {
        let base = || GetRunLogInput {
            scope: crate::mcp::args::ProjectArgs::named("p"),
            ..Default::default()
        };
        let mut i = base();
        i.tail_lines = Some(5);
        i.head_lines = Some(5);
        assert!(Mode::parse(&i).is_err());
        let mut i = base();
        i.grep = Some("(".into());
        let e = Mode::parse(&i).unwrap_err().to_string();
        assert!(e.contains("not a valid regular expression"), "{e}");
        let mut i = base();
        i.grep = Some("x".into());
        i.tail_lines = Some(3);
        assert!(Mode::parse(&i).is_err());
        let mut i = base();
        i.context = Some(3);
        assert!(Mode::parse(&i).is_err());
        let mut i = base();
        i.tail_lines = Some(0);
        assert!(Mode::parse(&i).is_err());
        assert!(matches!(Mode::parse(&base()).unwrap(), Mode::Tail(200)));
    }
}
