//! Webhook authentication: `Sign` = lower-case hex of SHA-256(token + RequestTime).

use sha2::{Digest, Sha256};
use std::time::Duration;
use subtle::ConstantTimeEq;

/// The `Sign` Chat sends for `token` at `request_time` (Unix seconds).
pub fn sign(token: &str, request_time: u64) -> String {
    hex::encode(digest(token, request_time))
}

fn digest(token: &str, request_time: u64) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(token.as_bytes());
    hasher.update(request_time.to_string().as_bytes());
    hasher.finalize().into()
}

/// Why a callback's signature is not authentic.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error(
        "the query has no Sign parameter: webhook authentication is off at the sender, or the parameter was lost"
    )]
    MissingSign,
    #[error("the query has a Sign but no RequestTime, so the Sign cannot be checked")]
    MissingRequestTime,
    #[error("RequestTime `{0}` is not a Unix time in seconds")]
    MalformedRequestTime(String),
    #[error("Sign `{0}` is not 64 hex digits (a SHA-256 digest)")]
    MalformedSign(String),
    #[error(
        "Sign does not match SHA-256(token + RequestTime): the token differs, or the Sign was computed another way"
    )]
    Mismatch,
    #[error(
        "RequestTime is {age} s old, beyond the {window} s freshness window: a replayed or delayed callback"
    )]
    Stale { age: u64, window: u64 },
    #[error(
        "RequestTime is {ahead} s in the future, beyond the {window} s freshness window: check the sender's clock"
    )]
    Future { ahead: u64, window: u64 },
}

impl SignatureError {
    /// A stable identifier for reports.
    pub fn code(&self) -> &'static str {
        match self {
            SignatureError::MissingSign => "missing-sign",
            SignatureError::MissingRequestTime => "missing-request-time",
            SignatureError::MalformedRequestTime(_) => "malformed-request-time",
            SignatureError::MalformedSign(_) => "malformed-sign",
            SignatureError::Mismatch => "bad-sign",
            SignatureError::Stale { .. } => "stale-request-time",
            SignatureError::Future { .. } => "future-request-time",
        }
    }
}

/// What an authentic signature looked like.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    pub request_time: u64,
    /// Seconds between RequestTime and now; negative when RequestTime is ahead.
    pub age: i64,
    /// The Sign was upper-case hex: accepted, though Chat sends lower case.
    pub upper_case: bool,
}

/// Checks `Sign` and `RequestTime` as received against `token`, in constant time and in either
/// hex case, and that RequestTime is within `max_skew` of `now` (Unix seconds) either way.
/// The signature is checked before freshness, so a stale error means a genuine but old callback.
pub fn verify(
    token: &str,
    sign: Option<&str>,
    request_time: Option<&str>,
    now: u64,
    max_skew: Duration,
) -> Result<Verified, SignatureError> {
    let sign = sign.ok_or(SignatureError::MissingSign)?;
    let raw_time = request_time.ok_or(SignatureError::MissingRequestTime)?;
    let request_time: u64 = raw_time
        .parse()
        .ok()
        .filter(|_| raw_time.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| SignatureError::MalformedRequestTime(raw_time.to_owned()))?;
    let given = hex::decode(sign)
        .ok()
        .filter(|bytes| bytes.len() == 32)
        .ok_or_else(|| SignatureError::MalformedSign(sign.to_owned()))?;
    if !bool::from(given.ct_eq(&digest(token, request_time))) {
        return Err(SignatureError::Mismatch);
    }
    let window = max_skew.as_secs().min(i64::MAX as u64);
    let age = now as i64 - request_time as i64;
    if age > window as i64 {
        return Err(SignatureError::Stale {
            age: age.unsigned_abs(),
            window,
        });
    }
    if -age > window as i64 {
        return Err(SignatureError::Future {
            ahead: age.unsigned_abs(),
            window,
        });
    }
    Ok(Verified {
        request_time,
        age,
        upper_case: sign.bytes().any(|b| b.is_ascii_uppercase()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const VECTORS: &[(&str, u64, &str)] = &[
        (
            "xxxxyyyy",
            1669872112,
            "17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061",
        ),
        (
            "my_token",
            1773643904,
            "c187855d0c55a14ae4ea6fd5c5313eed3bbd9a5621bcb0d1a57a4680871f8681",
        ),
        (
            "callback-auth-token",
            1786334400,
            "9f594528a57139de47912d068d560344c59fc654e7ec39e7d37b1c5fee39d8ff",
        ),
    ];
    const WINDOW: Duration = Duration::from_secs(60);

    #[test]
    fn the_three_test_vectors_reproduce() {
        for &(token, time, expected) in VECTORS {
            assert_eq!(sign(token, time), expected, "token {token}");
        }
    }

    #[test]
    fn the_older_doc_token_does_not_reproduce_the_vector() {
        assert_ne!(sign("xxxyyy", 1669872112), VECTORS[0].2);
    }

    #[test]
    fn vectors_verify_in_either_case() {
        for &(token, time, expected) in VECTORS {
            let t = time.to_string();
            let ok = verify(token, Some(expected), Some(&t), time, WINDOW).unwrap();
            assert_eq!((ok.request_time, ok.age, ok.upper_case), (time, 0, false));
            let upper = expected.to_uppercase();
            assert!(
                verify(token, Some(&upper), Some(&t), time, WINDOW)
                    .unwrap()
                    .upper_case
            );
        }
    }

    #[test]
    fn each_failure_has_its_reason() {
        let (token, time, good) = VECTORS[0];
        let t = time.to_string();
        let check = |sign: Option<&str>, rt: Option<&str>, now: u64| {
            verify(token, sign, rt, now, WINDOW).unwrap_err()
        };
        assert_eq!(check(None, Some(&t), time), SignatureError::MissingSign);
        assert_eq!(
            check(Some(good), None, time),
            SignatureError::MissingRequestTime
        );
        assert_eq!(
            check(Some(good), Some("16698721l2"), time),
            SignatureError::MalformedRequestTime("16698721l2".into())
        );
        assert_eq!(
            check(Some(good), Some("+1669872112"), time),
            SignatureError::MalformedRequestTime("+1669872112".into())
        );
        assert_eq!(
            check(Some("xyz"), Some(&t), time),
            SignatureError::MalformedSign("xyz".into())
        );
        assert_eq!(
            check(Some(&good[..62]), Some(&t), time),
            SignatureError::MalformedSign(good[..62].into())
        );
        assert_eq!(
            verify("xxxyyy", Some(good), Some(&t), time, WINDOW).unwrap_err(),
            SignatureError::Mismatch
        );
        assert_eq!(
            check(Some(good), Some("1669872113"), time),
            SignatureError::Mismatch
        );
        assert_eq!(
            check(Some(good), Some(&t), time + 61),
            SignatureError::Stale {
                age: 61,
                window: 60
            }
        );
        assert_eq!(
            check(Some(good), Some(&t), time - 61),
            SignatureError::Future {
                ahead: 61,
                window: 60
            }
        );
    }

    #[test]
    fn the_window_is_inclusive_and_configurable() {
        let (token, time, good) = VECTORS[0];
        let t = time.to_string();
        assert_eq!(
            verify(token, Some(good), Some(&t), time + 60, WINDOW)
                .unwrap()
                .age,
            60
        );
        assert_eq!(
            verify(token, Some(good), Some(&t), time - 60, WINDOW)
                .unwrap()
                .age,
            -60
        );
        let wide = Duration::from_secs(600);
        assert!(verify(token, Some(good), Some(&t), time + 599, wide).is_ok());
        assert!(verify(token, Some(good), Some(&t), time + 10_000, Duration::MAX).is_ok());
        assert_eq!(
            verify(token, Some(good), Some(&t), time + 1, Duration::ZERO)
                .unwrap_err()
                .code(),
            "stale-request-time"
        );
    }
}
