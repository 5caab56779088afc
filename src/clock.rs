//! The one source of "now", so tests can fix it and compare outputs and signatures exactly.

use crate::error::{Error, Result};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Set to Unix seconds to fix the clock (RequestTime, EventTime, freshness checks).
pub const FIXED_CLOCK_ENV: &str = "OA_HOOK_NOW";

#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    fixed_ms: Option<i64>,
}

impl Clock {
    pub(crate) fn from_env() -> Result<Self> {
        match std::env::var(FIXED_CLOCK_ENV) {
            Ok(value) => value.parse().map(Clock::fixed).map_err(|_| {
                Error::usage(format!("{FIXED_CLOCK_ENV}=`{value}` is not Unix seconds"))
                    .hint(format!("unset {FIXED_CLOCK_ENV} to use the real clock"))
            }),
            Err(_) => Ok(Clock { fixed_ms: None }),
        }
    }

    /// A clock stopped at `secs` (Unix seconds).
    pub(crate) fn fixed(secs: u32) -> Self {
        Clock {
            fixed_ms: Some(i64::from(secs) * 1000),
        }
    }

    /// Unix time in milliseconds (EventTime).
    pub(crate) fn now_ms(&self) -> i64 {
        self.fixed_ms.unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64)
        })
    }

    /// Unix time in seconds (RequestTime).
    pub(crate) fn now_secs(&self) -> u64 {
        (self.now_ms() / 1000) as u64
    }
}

/// Milliseconds to the microsecond, the precision latencies are measured and reported with.
pub(crate) fn millis(duration: Duration) -> f64 {
    micros_as_millis(duration.as_micros() as u64)
}

pub(crate) fn micros_as_millis(micros: u64) -> f64 {
    micros as f64 / 1000.0
}
