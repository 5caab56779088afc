//! Reading a record for replay: line by line, the callbacks chosen, how the lines came out.

use crate::record::{Line, Lines, Recorded};
use std::io::BufRead;

/// Which lines of a record are replayed.
#[derive(Clone, Copy)]
pub(crate) struct Choice {
    /// The requests serve refused too (`--all`).
    pub all: bool,
    /// A line that is not a record is a skipped case instead of the end (`--skip-invalid`).
    pub skip_invalid: bool,
}

/// What the reading of a record hands the engine, in the record's order.
pub(crate) enum Input {
    /// A callback to replay, and its line.
    Callback(usize, Box<Recorded>),
    /// A line that is not a record, skipped (`--skip-invalid`): why.
    Skipped(usize, String),
    /// A line that is not a record: the reading stops there.
    Invalid(usize, String),
    /// The record could not be read further.
    Unreadable(std::io::Error),
    /// The end, and how the lines came out.
    End(Tally),
}

/// How the lines of a record came out.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Tally {
    /// Lines read, blank ones included.
    pub lines: usize,
    pub records: usize,
    /// Records chosen for replay.
    pub chosen: usize,
    /// Lines that are not records, skipped (`--skip-invalid`).
    pub skipped: usize,
    /// The last line, cut short as it was written: skipped, with a warning.
    pub cut: Option<usize>,
}

/// Reads a record line by line, at most `limit` lines, handing `each` what replay does with
/// them in order, until the end or the first line that stops the reading (`each` returning
/// false stops it too). Memory holds one line at a time.
pub(crate) fn read(
    reader: impl BufRead,
    choice: Choice,
    limit: Option<usize>,
    mut each: impl FnMut(Input) -> bool,
) -> Tally {
    let mut tally = Tally::default();
    for read in Lines::new(reader) {
        let (number, line) = match read {
            Ok(read) => read,
            Err(e) => {
                each(Input::Unreadable(e));
                return tally;
            }
        };
        if limit.is_some_and(|limit| number > limit) {
            break;
        }
        tally.lines = number;
        let input = match line {
            Line::Record(record) => {
                tally.records += 1;
                if !(choice.all || record.valid) {
                    continue;
                }
                tally.chosen += 1;
                Input::Callback(number, record)
            }
            Line::Cut => {
                tally.cut = Some(number);
                continue;
            }
            Line::Invalid(why) if choice.skip_invalid => {
                tally.skipped += 1;
                Input::Skipped(number, why)
            }
            Line::Invalid(why) => {
                each(Input::Invalid(number, why));
                return tally;
            }
        };
        if !each(input) {
            break;
        }
    }
    tally
}

/// Why the reading of a record stopped before its end.
pub(crate) enum Unread {
    Invalid(usize, String),
    Failed(std::io::Error),
}
