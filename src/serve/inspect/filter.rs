//! Which rows a list or a download takes: the filters of the page (command, verdict, text in
//! the body) and the list's cursor, as the API's query gives them.

use super::ApiError;
use super::kept::Kept;
use axum::http::Uri;

/// Rows one list gives at most, and when not told.
const MAX_LIMIT: usize = 500;
const DEFAULT_LIMIT: usize = 100;

/// The longest text rows can be filtered by.
const MAX_TEXT_BYTES: usize = 256;

/// Which rows a list or a download takes.
#[derive(Debug, Default)]
pub(super) struct Filter {
    pub(super) command: Option<String>,
    pub(super) verdict: Option<VerdictFilter>,
    /// Text the body contains, lower-cased (the match ignores ASCII case).
    pub(super) text: Option<Vec<u8>>,
}

/// The verdicts a list can be narrowed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum VerdictFilter {
    /// A callback Chat could have sent.
    Valid,
    /// Anything else: refused by serve's checks (or, in tap mode, passed on all the same).
    Invalid,
    /// The answer accepts the callback.
    Accepted,
    /// The answer refuses or fails it.
    Refused,
    /// An error was found in the request or the answer.
    Errors,
    /// A warning was found in the request or the answer.
    Warnings,
    /// Sent by the page's Replay.
    Replays,
}

impl VerdictFilter {
    pub(super) const NAMES: [(&'static str, VerdictFilter); 7] = [
        ("valid", VerdictFilter::Valid),
        ("invalid", VerdictFilter::Invalid),
        ("accepted", VerdictFilter::Accepted),
        ("refused", VerdictFilter::Refused),
        ("errors", VerdictFilter::Errors),
        ("warnings", VerdictFilter::Warnings),
        ("replays", VerdictFilter::Replays),
    ];
}

impl Kept {
    pub(super) fn passes(&self, filter: &Filter) -> bool {
        if let Some(command) = &filter.command
            && self.seen.command() != Some(command.as_str())
        {
            return false;
        }
        if let Some(text) = &filter.text
            && !contains_ignoring_case(self.seen.request.body(), text)
        {
            return false;
        }
        let Some(verdict) = filter.verdict else {
            return true;
        };
        match verdict {
            VerdictFilter::Valid => self.seen.is_valid(),
            VerdictFilter::Invalid => !self.seen.is_valid(),
            VerdictFilter::Replays => self.replay.is_some(),
            VerdictFilter::Accepted => self.seen.judged().accepted,
            VerdictFilter::Refused => !self.seen.judged().accepted,
            VerdictFilter::Errors => self.counts().1.errors > 0,
            VerdictFilter::Warnings => self.counts().1.warnings > 0,
        }
    }
}

/// Whether `haystack` contains `needle` (lower-case already), ignoring ASCII case.
fn contains_ignoring_case(haystack: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(&haystack.to_ascii_lowercase(), needle).is_some()
}

/// The parameters of a list or a download.
pub(super) struct Asked {
    pub(super) filter: Filter,
    pub(super) after: u64,
    pub(super) before: u64,
    pub(super) limit: usize,
}

impl Asked {
    /// Reads `query`; `paged` lists take `after`, `before` and `limit` too.
    pub(super) fn read(uri: &Uri, paged: bool) -> Result<Self, ApiError> {
        let mut asked = Asked {
            filter: Filter::default(),
            after: 0,
            before: u64::MAX,
            limit: DEFAULT_LIMIT,
        };
        let query = uri.query().unwrap_or_default();
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            match (&*name, paged) {
                ("command", _) => {
                    asked.filter.command = Some(value.into_owned()).filter(|c| !c.is_empty());
                }
                ("verdict", _) if value.is_empty() => {}
                ("verdict", _) => {
                    let found = VerdictFilter::NAMES.iter().find(|(n, _)| *n == value);
                    asked.filter.verdict = Some(found.map(|(_, v)| *v).ok_or_else(|| {
                        let names: Vec<&str> =
                            VerdictFilter::NAMES.iter().map(|(n, _)| *n).collect();
                        ApiError::bad(format!(
                            "verdict={value} is not a verdict; give one of {}",
                            names.join(", ")
                        ))
                    })?);
                }
                ("q", _) if value.len() > MAX_TEXT_BYTES => {
                    return Err(ApiError::bad(format!(
                        "q is {} bytes; give at most {MAX_TEXT_BYTES}",
                        value.len()
                    )));
                }
                ("q", _) => {
                    asked.filter.text =
                        Some(value.to_ascii_lowercase().into_bytes()).filter(|t| !t.is_empty());
                }
                ("after", true) => asked.after = id(&name, &value)?,
                ("before", true) => asked.before = id(&name, &value)?,
                ("limit", true) => {
                    asked.limit = value
                        .parse()
                        .ok()
                        .filter(|n| (1..=MAX_LIMIT).contains(n))
                        .ok_or_else(|| {
                            ApiError::bad(format!(
                                "limit={value} is not a whole number from 1 to {MAX_LIMIT}"
                            ))
                        })?;
                }
                (other, _) => {
                    let known = if paged {
                        "command, verdict, q, after, before and limit"
                    } else {
                        "command, verdict and q"
                    };
                    return Err(ApiError::bad(format!(
                        "{other} is not a parameter here; it takes {known}"
                    )));
                }
            }
        }
        Ok(asked)
    }
}

fn id(name: &str, value: &str) -> Result<u64, ApiError> {
    value.parse().map_err(|_| {
        ApiError::bad(format!(
            "{name}={value} is not an event number; give the id of a row"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_found_whatever_its_case() {
        assert!(contains_ignoring_case(b"Subscriber JARED", b"jared"));
        assert!(contains_ignoring_case(b"x", b""));
        assert!(!contains_ignoring_case(b"jare", b"jared"));
    }
}
