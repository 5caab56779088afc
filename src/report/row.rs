//! What reports of `check`'s shape (lines, JSON, JUnit, a CI summary) read of one result, so
//! that a case of the suite and a callback replayed are shown alike.

use crate::check::fuzz::Fuzzed;
use crate::check::{CaseResult, Evidence, Exchanged, Status};
use crate::protocol::Finding;
use crate::replay::Compared;
use crate::veto::LostVetoes;
use serde::Serialize;

/// What a report of `check`'s shape shows of one result: a case of the suite, or a callback
/// replayed. The JSON of a row is its own serialisation.
pub(crate) trait Row: Serialize {
    fn id(&self) -> &str;
    fn description(&self) -> &str;
    fn status(&self) -> Status;
    /// One sentence: why it failed, warned or was skipped, or what passed.
    fn message(&self) -> &str;
    fn findings(&self) -> &[Finding];
    fn evidence(&self) -> Option<&Evidence>;
    /// The genuine callback sent beside a forgery.
    fn control(&self) -> Option<&Evidence> {
        None
    }
    /// Every request and its answer, with `-v`.
    fn transcript(&self) -> &[Exchanged] {
        &[]
    }
    fn went_ahead(&self) -> LostVetoes;
    fn fuzz(&self) -> Option<&Fuzzed> {
        None
    }

    /// The finding reports name as the cause of a failure or a warning.
    fn cause(&self) -> Option<&Finding> {
        self.status().cause_in(self.findings())
    }

    /// The part of the id before the slash: the JUnit test suite.
    fn group(&self) -> &str {
        group_of(self.id())
    }
}

/// The accessors of the fields both results have, by the same names (a replayed callback's
/// in its `outcome`).
macro_rules! shared_fields {
    ($($outcome:ident)?) => {
        fn status(&self) -> Status {
            self$(.$outcome)?.status
        }
        fn message(&self) -> &str {
            &self$(.$outcome)?.message
        }
        fn findings(&self) -> &[Finding] {
            &self$(.$outcome)?.findings
        }
        fn evidence(&self) -> Option<&Evidence> {
            self$(.$outcome)?.evidence.as_ref()
        }
        fn went_ahead(&self) -> LostVetoes {
            self.went_ahead
        }
    };
}

impl Row for CaseResult {
    fn id(&self) -> &str {
        &self.case.id
    }
    fn description(&self) -> &str {
        &self.case.description
    }
    shared_fields!();
    fn control(&self) -> Option<&Evidence> {
        self.control.as_ref()
    }
    fn transcript(&self) -> &[Exchanged] {
        &self.transcript
    }
    fn fuzz(&self) -> Option<&Fuzzed> {
        self.fuzz.as_deref()
    }
}

impl Row for Compared {
    fn id(&self) -> &str {
        &self.id
    }
    fn description(&self) -> &str {
        &self.description
    }
    shared_fields!(outcome);
}

/// The part of an id before the slash.
pub(super) fn group_of(id: &str) -> &str {
    id.split_once('/').map_or(id, |(group, _)| group)
}
