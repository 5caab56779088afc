//! The veto a backend loses: Chat waits 2 s for the answer to a before callback, and then lets
//! the event go ahead as if the backend had said yes (protocol.md section 7), silently. Load
//! mode, `check` and `replay` count how often that happened.

use crate::client::{Exchange, TransportError};
use crate::protocol::{BUDGET, Callback, Kind};
use serde::Serialize;
use std::fmt;

/// Before callbacks that came to something, and how many of them went ahead on Chat's timeout.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct LostVetoes {
    /// Before callbacks answered, or waited for: those that could not be sent at all are not
    /// counted.
    pub before_callbacks: u64,
    /// Of those, the ones with no complete answer within 2 s: Chat went ahead without the
    /// backend's veto.
    pub went_ahead: u64,
}

impl LostVetoes {
    /// Counts what came back for a callback of `callback` (`None`: not an Official Account
    /// command): an answer later than 2 s, or none within a wait of 2 s or more, lost the
    /// veto. A broken answer is counted, as kept: whether Chat goes ahead then is not
    /// documented.
    pub(crate) fn count(
        &mut self,
        callback: Option<&Callback>,
        answer: &Result<Exchange, TransportError>,
    ) {
        let late = match answer {
            Ok(exchange) => exchange.latency > BUDGET,
            Err(TransportError::Timeout(waited)) => *waited >= BUDGET,
            Err(TransportError::Broken(_)) => false,
            Err(TransportError::Unreachable { .. }) => return,
        };
        if callback.is_some_and(|c| c.kind == Kind::Before) {
            self.before_callbacks += 1;
            self.went_ahead += u64::from(late);
        }
    }

    pub(crate) fn add(&mut self, other: LostVetoes) {
        self.before_callbacks += other.before_callbacks;
        self.went_ahead += other.went_ahead;
    }

    /// The share that went ahead, in percent; 0 when no before callback was counted.
    pub(crate) fn percent(&self) -> f64 {
        if self.before_callbacks == 0 {
            return 0.0;
        }
        self.went_ahead as f64 * 100.0 / self.before_callbacks as f64
    }

    /// The figure as machine-readable reports give it.
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "before_callbacks": self.before_callbacks,
            "count": self.went_ahead,
            "percent": (self.percent() * 1000.0).round() / 1000.0,
        })
    }
}

/// `went ahead on Chat's timeout: 3 (1.5%)`.
impl fmt::Display for LostVetoes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "went ahead on Chat's timeout: {} ({})",
            self.went_ahead,
            percent(self.percent())
        )
    }
}

/// A percentage with one decimal; one that rounds to 0 but is not 0 says so (`<0.1%`).
pub(crate) fn percent(value: f64) -> String {
    if value > 0.0 && value < 0.05 {
        "<0.1%".to_owned()
    } else {
        let text = format!("{value:.1}");
        format!("{}%", text.strip_suffix(".0").unwrap_or(&text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderMap;
    use std::time::Duration;

    fn answered(ms: u64) -> Result<Exchange, TransportError> {
        Ok(Exchange::new(
            200,
            &HeaderMap::new(),
            Vec::new(),
            false,
            Duration::from_millis(ms),
        ))
    }

    #[test]
    fn only_before_callbacks_late_or_unanswered_for_2_s_lose_their_veto() {
        let before = Callback::find("before-subscribe").ok();
        let after = Callback::find("after-unsubscribe").ok();
        let mut lost = LostVetoes::default();
        lost.count(before, &answered(5));
        lost.count(before, &answered(2001));
        lost.count(before, &Err(TransportError::Timeout(BUDGET)));
        lost.count(
            before,
            &Err(TransportError::Timeout(Duration::from_secs(1))),
        );
        lost.count(before, &Err(TransportError::Broken("cut".into())));
        lost.count(
            before,
            &Err(TransportError::Unreachable {
                message: "refused".into(),
                hint: String::new(),
            }),
        );
        lost.count(after, &answered(3000));
        lost.count(None, &answered(3000));
        assert_eq!(
            lost,
            LostVetoes {
                before_callbacks: 5,
                went_ahead: 2
            }
        );
        assert_eq!(lost.to_string(), "went ahead on Chat's timeout: 2 (40%)");
        let mut total = LostVetoes::default();
        total.add(lost);
        total.add(LostVetoes {
            before_callbacks: 995,
            went_ahead: 0,
        });
        assert_eq!(total.to_string(), "went ahead on Chat's timeout: 2 (0.2%)");
        assert_eq!(total.json()["percent"], 0.2);
    }

    #[test]
    fn percentages_never_round_a_loss_away() {
        assert_eq!(percent(0.0), "0%");
        assert_eq!(percent(0.01), "<0.1%");
        assert_eq!(percent(0.05), "0.1%");
        assert_eq!(percent(12.345), "12.3%");
        assert_eq!(percent(100.0), "100%");
    }
}
