//! Webhook authentication: `Sign` = lower-case hex of SHA-256(token + RequestTime).

use super::query::{ReceivedQuery, param};
use sha2::{Digest, Sha256};
use std::time::Duration;
use subtle::{Choice, ConstantTimeEq};

/// The `Sign` Chat sends for `token` at `request_time` (Unix seconds).
pub fn sign(token: &str, request_time: u64) -> String {
    hex::encode(digest(token, &request_time.to_string()))
}

/// SHA-256 over the token and the RequestTime text exactly as sent or received.
fn digest(token: &str, request_time: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(token.as_bytes());
    hasher.update(request_time.as_bytes());
    hasher.finalize().into()
}

/// The most digits a canonical RequestTime has: every 19-digit number fits in a u64.
const MAX_REQUEST_TIME_DIGITS: usize = 19;

/// The latest RequestTime that is canonical: the largest number of 19 digits.
pub const MAX_REQUEST_TIME: u64 = 9_999_999_999_999_999_999;

/// A RequestTime as Chat writes one: ASCII digits, no sign, no leading zero, no spaces, at most
/// 19 digits. Anything else (`0`+now, `+`now, ` now`) is refused rather than re-formatted, so
/// that what is hashed, what is judged fresh and what was received are the same text.
pub fn canonical_request_time(raw: &str) -> Option<u64> {
    let canonical = !raw.is_empty()
        && raw.len() <= MAX_REQUEST_TIME_DIGITS
        && raw.bytes().all(|b| b.is_ascii_digit())
        && (raw == "0" || !raw.starts_with('0'));
    canonical.then(|| raw.parse().ok()).flatten()
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
    #[error(
        "RequestTime `{0}` is not a Unix time in seconds as Chat writes one (digits only, no sign, no leading zero, at most 19 digits)"
    )]
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
    #[error(
        "{name} appears {times} times in the query; Chat sends it once, and which one counts would be ambiguous"
    )]
    Repeated { name: &'static str, times: usize },
}

impl SignatureError {
    /// Whether the query cannot be checked at all, as no callback Chat sends: it has no Sign or
    /// no RequestTime, or one not written as Chat writes it (a placeholder such as `Sign=...`
    /// pasted from documentation, a RequestTime with a sign or a leading zero). A receiver
    /// refuses these as it refuses the rest; a person checking a URL by hand has pasted the
    /// wrong thing. The others were checked and failed: a Sign made with another token or
    /// another way, a RequestTime out of the window, a parameter sent twice.
    pub fn is_malformed(&self) -> bool {
        matches!(
            self,
            SignatureError::MissingSign
                | SignatureError::MissingRequestTime
                | SignatureError::MalformedRequestTime(_)
                | SignatureError::MalformedSign(_)
        )
    }

    /// The code of [`SignatureError::Repeated`].
    pub const REPEATED: &'static str = "repeated-parameter";

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
            SignatureError::Repeated { .. } => Self::REPEATED,
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
/// RequestTime must be canonical (see [`canonical_request_time`]) and the Sign covers its text
/// as received; the age is worked out without overflow, so no RequestTime, however far off, is
/// ever taken for a fresh one.
pub fn verify(
    token: &str,
    sign: Option<&str>,
    request_time: Option<&str>,
    now: u64,
    max_skew: Duration,
) -> Result<Verified, SignatureError> {
    verify_against(
        |raw_time, _| hex_digest(token, raw_time),
        sign,
        request_time,
        now,
        max_skew,
    )
}

/// The digest in lower-case hex, as Chat writes the Sign.
fn hex_digest(token: &str, request_time: &str) -> [u8; 64] {
    let mut hex = [0; 64];
    // 32 bytes always fill 64 hex digits.
    let _ = hex::encode_to_slice(digest(token, request_time), &mut hex);
    hex
}

/// [`verify`] with the expected Sign (lower-case hex) worked out by `expected`, from the
/// RequestTime as received and as a number (see [`Token::verify`]).
fn verify_against(
    expected: impl FnOnce(&str, u64) -> [u8; 64],
    sign: Option<&str>,
    request_time: Option<&str>,
    now: u64,
    max_skew: Duration,
) -> Result<Verified, SignatureError> {
    let sign = sign.ok_or(SignatureError::MissingSign)?;
    let raw_time = request_time.ok_or(SignatureError::MissingRequestTime)?;
    let request_time = canonical_request_time(raw_time)
        .ok_or_else(|| SignatureError::MalformedRequestTime(raw_time.to_owned()))?;
    // 64 hex digits in either case: compared as lower case, it is the digest compared.
    let Ok(given) = <[u8; 64]>::try_from(sign.as_bytes()) else {
        return Err(SignatureError::MalformedSign(sign.to_owned()));
    };
    if !given.iter().all(u8::is_ascii_hexdigit) {
        return Err(SignatureError::MalformedSign(sign.to_owned()));
    }
    let given = given.map(|b| b.to_ascii_lowercase());
    if !same_in_constant_time(&given, &expected(raw_time, request_time)) {
        return Err(SignatureError::Mismatch);
    }
    let window = max_skew.as_secs();
    // Both are u64, so the difference always fits in an i128.
    let age = i128::from(now) - i128::from(request_time);
    let distance = u64::try_from(age.unsigned_abs()).unwrap_or(u64::MAX);
    if distance > window {
        return Err(if age > 0 {
            SignatureError::Stale {
                age: distance,
                window,
            }
        } else {
            SignatureError::Future {
                ahead: distance,
                window,
            }
        });
    }
    Ok(Verified {
        request_time,
        // Within the window, which a u64 of seconds bounds; clamped all the same.
        age: i64::try_from(age).unwrap_or(if age > 0 { i64::MAX } else { i64::MIN }),
        upper_case: sign.bytes().any(|b| b.is_ascii_uppercase()),
    })
}

/// Whether two Signs are equal, in a time that does not depend on where they differ: compared
/// eight bytes at a time (`subtle` for each word), which costs an eighth of byte by byte.
fn same_in_constant_time(given: &[u8; 64], expected: &[u8; 64]) -> bool {
    let word = |bytes: &[u8]| u64::from_ne_bytes(bytes.try_into().unwrap_or_default());
    let same = given
        .chunks_exact(8)
        .zip(expected.chunks_exact(8))
        .fold(Choice::from(1), |same, (a, b)| {
            same & word(a).ct_eq(&word(b))
        });
    bool::from(same)
}

/// A webhook token, as a receiver holds it: never shown (its `Debug` hides it).
#[derive(Clone)]
pub struct Token(String);

impl Token {
    pub fn new(token: String) -> Self {
        Token(token)
    }

    /// [`verify`] with this token, with the Sign it expects (lower-case hex ASCII) given by
    /// `expected(RequestTime, work_out)`: `work_out()`, or for a caller that keeps the latest
    /// one (Chat signs every callback of one second alike) the one it gave for that
    /// RequestTime before.
    pub fn verify(
        &self,
        sign: Option<&str>,
        request_time: Option<&str>,
        now: u64,
        max_skew: Duration,
        expected: impl FnOnce(u64, &dyn Fn() -> [u8; 64]) -> [u8; 64],
    ) -> Result<Verified, SignatureError> {
        verify_against(
            |raw_time, time| expected(time, &|| hex_digest(&self.0, raw_time)),
            sign,
            request_time,
            now,
            max_skew,
        )
    }
}

impl std::fmt::Debug for Token {
    /// Never the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<hidden>)")
    }
}

/// [`verify`] for a query as received: first, that it carries none of `Sign`, `RequestTime`,
/// `SdkAppid` and `CallbackCommand` more than once (which one would a backend check?).
pub fn verify_query(
    token: &str,
    query: &ReceivedQuery<'_>,
    now: u64,
    max_skew: Duration,
) -> Result<Verified, SignatureError> {
    if let Some((name, times)) = query.repeated() {
        return Err(SignatureError::Repeated { name, times });
    }
    verify(
        token,
        query.get(param::SIGN),
        query.get(param::REQUEST_TIME),
        now,
        max_skew,
    )
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

    #[test]
    fn request_time_must_be_canonical() {
        let (token, time, _) = VECTORS[0];
        for raw in [
            format!("0{time}"),
            format!("+{time}"),
            format!(" {time}"),
            format!("{time} "),
            format!("-{time}"),
            "".to_owned(),
            "00".to_owned(),
            "1".repeat(20),
            "18446744073709551616".to_owned(),
        ] {
            // Signed over the very text sent, so only the canonical form can be at fault.
            let signed = hex::encode(digest(token, &raw));
            assert_eq!(
                verify(token, Some(&signed), Some(&raw), time, WINDOW),
                Err(SignatureError::MalformedRequestTime(raw.clone())),
                "{raw:?}"
            );
        }
        assert_eq!(canonical_request_time("0"), Some(0));
        assert_eq!(
            canonical_request_time("9999999999999999999"),
            Some(9_999_999_999_999_999_999)
        );
    }

    #[test]
    fn a_request_time_far_ahead_never_wraps_into_a_fresh_one() {
        let token = "xxxxyyyy";
        let now = 1_669_872_112_u64;
        for ahead in [
            now + (1 << 63),
            u64::MAX / 2 + now,
            9_999_999_999_999_999_999,
        ] {
            let t = ahead.to_string();
            let error =
                verify(token, Some(&sign(token, ahead)), Some(&t), now, WINDOW).unwrap_err();
            assert_eq!(error.code(), "future-request-time", "{t}");
        }
        let wide = Duration::from_secs(u64::MAX - 1);
        assert_eq!(
            verify(token, Some(&sign(token, 0)), Some("0"), u64::MAX, wide),
            Err(SignatureError::Stale {
                age: u64::MAX,
                window: u64::MAX - 1
            })
        );
    }

    #[test]
    fn signs_differing_in_any_one_byte_are_not_the_same() {
        let sign = [b'a'; 64];
        assert!(same_in_constant_time(&sign, &sign));
        for i in 0..64 {
            let mut other = sign;
            other[i] = b'b';
            assert!(!same_in_constant_time(&other, &sign), "byte {i}");
        }
    }

    #[test]
    fn a_token_verifies_as_verify_does_with_the_sign_it_is_given() {
        let tokens = ["my_token", "other"].map(|token| (token, Token::new(token.into())));
        for time in [1773643904, 1773643905, 1669872112] {
            let raw = time.to_string();
            for (token, held) in &tokens {
                for sign in [
                    sign("my_token", time),
                    sign("my_token", time).to_uppercase(),
                    sign("other", time),
                    sign("my_token", time + 1),
                    "zz".repeat(32),
                    "é".repeat(32),
                    "ab".into(),
                ] {
                    let verified = verify(token, Some(&sign), Some(&raw), 1773643904, WINDOW);
                    let held = held.verify(
                        Some(&sign),
                        Some(&raw),
                        1773643904,
                        WINDOW,
                        |asked, work_out| {
                            assert_eq!(asked, time);
                            work_out()
                        },
                    );
                    assert_eq!(held, verified, "token {token}, Sign {sign}");
                }
            }
        }
        let (time, good) = (1773643904, sign("my_token", 1773643904));
        let expecting_another = tokens[0].1.verify(
            Some(&good),
            Some(&time.to_string()),
            time,
            WINDOW,
            |_, _| hex_digest("other", &time.to_string()),
        );
        assert_eq!(expecting_another, Err(SignatureError::Mismatch));
        assert!(!format!("{:?}", tokens[0].1).contains("my_token"));
    }

    #[test]
    fn a_repeated_parameter_is_refused_by_name() {
        let (token, time, good) = VECTORS[0];
        let query = format!("Sign={good}&RequestTime={time}&Sign={good}");
        let query = ReceivedQuery::parse(&query);
        assert_eq!(
            verify_query(token, &query, time, WINDOW),
            Err(SignatureError::Repeated {
                name: "Sign",
                times: 2
            })
        );
        let query = format!("SdkAppid=1&Sign={good}&RequestTime={time}&SdkAppid=2");
        let error = verify_query(token, &ReceivedQuery::parse(&query), time, WINDOW).unwrap_err();
        assert_eq!(error.code(), "repeated-parameter");
        assert!(error.to_string().starts_with("SdkAppid appears 2 times"));
        let query = format!("Sign={good}&RequestTime={time}");
        assert!(verify_query(token, &ReceivedQuery::parse(&query), time, WINDOW).is_ok());
    }

    #[test]
    fn a_query_without_a_sign_and_request_time_as_chat_writes_them_is_malformed() {
        let at = |sign: Option<&str>, time: Option<&str>| {
            verify("xxxxyyyy", sign, time, 1669872112, WINDOW).unwrap_err()
        };
        let (sign, time) = (VECTORS[0].2, Some("1669872112"));
        for malformed in [
            at(None, time),
            at(Some(sign), None),
            at(Some("..."), time),
            at(Some(&sign[1..]), time),
            at(Some(sign), Some("...")),
            at(Some(sign), Some("01669872112")),
        ] {
            assert!(malformed.is_malformed(), "{malformed}");
        }
        let wrong = "0".repeat(64);
        for checked in [at(Some(&wrong), time), at(Some(sign), Some("1669870000"))] {
            assert!(!checked.is_malformed(), "{checked}");
        }
        assert!(
            !SignatureError::Repeated {
                name: "Sign",
                times: 2
            }
            .is_malformed()
        );
    }

    proptest::proptest! {
        #[test]
        fn no_request_time_outside_the_window_is_ever_accepted(
            now in proptest::num::u64::ANY,
            request_time in proptest::num::u64::ANY,
            window in 0_u64..=100_000,
        ) {
            let token = "prop-token";
            let t = request_time.to_string();
            let result = verify(token, Some(&sign(token, request_time)), Some(&t), now, Duration::from_secs(window));
            let within = request_time <= MAX_REQUEST_TIME && now.abs_diff(request_time) <= window;
            proptest::prop_assert_eq!(result.is_ok(), within, "now {} RequestTime {} window {}", now, request_time, window);
            if let Ok(verified) = result {
                proptest::prop_assert_eq!(i128::from(verified.age), i128::from(now) - i128::from(request_time));
            }
        }

        #[test]
        fn nothing_but_the_signed_canonical_text_verifies(raw in "[0-9+ -]{0,22}", now in proptest::num::u64::ANY) {
            let token = "prop-token";
            let signed = hex::encode(digest(token, &raw));
            if let Ok(verified) = verify(token, Some(&signed), Some(&raw), now, Duration::MAX) {
                proptest::prop_assert_eq!(verified.request_time.to_string(), raw);
            }
        }
    }
}
