//! The record format: what `serve --record` writes, one JSON object per line, and what `replay`
//! reads back. Versioned by its `v` field; every field is documented in the README ("The record
//! format"), and a change to what a field means is a new version. Whatever serve writes, replay
//! reads back: a body is kept as JSON only when any JSON reader takes it back.

/// The version this oa-hook writes.
pub(crate) const VERSION: u64 = 2;

/// The versions this oa-hook reads: version 1 has no `sign` and no `base64` bodies, and kept
/// as JSON some bodies that JSON readers refuse (replay reads those too).
const READS: [u64; 2] = [1, VERSION];

/// The longest record line replay reads. Serve writes none longer: a body of at most 1 MiB
/// (as text, escaped, at most 6 MiB) and in tap mode an answer of at most as much.
pub(crate) const MAX_LINE_BYTES: usize = 16 << 20;

/// The largest refused body kept in a record line.
pub(crate) const REFUSED_BODY_KEPT: usize = 64 << 10;

mod read;
mod verdict;
mod write;

pub(crate) use read::{Line, Lines, Recorded, RecordedVerdict};
pub(crate) use verdict::{Answered, Verdict, same_decision};
pub(crate) use write::{Body, RecordLine};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Decision, reads_back};
    use serde_json::Value;
    use serde_json::value::RawValue;

    #[test]
    fn bodies_are_kept_as_json_only_when_that_gives_the_same_bytes() {
        let compact = br#"{"a":1,"b":[true]}"#;
        assert_eq!(Body::of(compact).format(), "json");
        assert_eq!(Body::exact(compact).format(), "json");
        for other in [&b"{\n  \"a\": 1\n}"[..], b" {}", b"not json", b""] {
            assert_eq!(Body::of(other).format(), "text", "{other:?}");
            assert_eq!(Body::exact(other).format(), "text", "{other:?}");
        }
        assert_eq!(Body::of(b"\xff\xfe").format(), "text");
        assert_eq!(Body::exact(b"\xff\xfe").format(), "base64");
    }

    #[test]
    fn json_that_readers_refuse_is_kept_as_text() {
        let deep = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        for refused in [
            r#"{"x":1e400}"#.to_owned(),
            "-1e400".to_owned(),
            format!("1{}", "0".repeat(400)),
            r#"{"x":"\ud800"}"#.to_owned(),
            r#"{"\udfff":1}"#.to_owned(),
            deep(127),
            deep(200),
        ] {
            assert!(!reads_back(&refused, 1), "{refused}");
            assert_eq!(
                Body::exact(refused.as_bytes()).format(),
                "text",
                "{refused}"
            );
        }
        for taken in [
            r#"{"x":1e300,"y":-1e-400,"z":18446744073709551616}"#.to_owned(),
            r#"{"x":"\ud83d\ude00"}"#.to_owned(),
            deep(126),
        ] {
            assert!(reads_back(&taken, 1), "{taken}");
            assert_eq!(Body::exact(taken.as_bytes()).format(), "json", "{taken}");
        }
        // The deepest body kept as JSON leaves its record line within serde_json's own limit.
        let line = format!("{{\"body\":{}}}", deep(126));
        assert!(serde_json::from_str::<Value>(&line).is_ok());
        let line = format!("{{\"body\":{}}}", deep(127));
        assert!(serde_json::from_str::<Value>(&line).is_err());
    }

    /// A verdict as the record kept it.
    fn was(decision: Value) -> RecordedVerdict {
        RecordedVerdict {
            decision: RawValue::from_string(decision.to_string()).ok(),
            says: String::new(),
            accepted: true,
            findings: Vec::new(),
            error_info: None,
        }
    }

    /// A verdict as replay reaches it now.
    fn now(decision: Decision) -> Verdict {
        Verdict {
            says: decision.to_string(),
            decision: Some(decision),
            accepted: true,
            findings: Vec::new(),
            error_info: None,
        }
    }

    #[test]
    fn decisions_compare_by_kind_and_users_not_words() {
        let subscribes = |subscribed: &[&str], refused: &[&str]| Decision::Subscribes {
            subscribed: subscribed.iter().map(|u| (*u).to_owned()).collect(),
            refused: refused.iter().map(|u| (*u).to_owned()).collect(),
        };
        let recorded = serde_json::to_value(subscribes(&["a", "b"], &["c"])).unwrap();
        assert!(same_decision(
            &was(recorded.clone()),
            &now(subscribes(&["b", "a"], &["c"]))
        ));
        assert!(!same_decision(
            &was(recorded.clone()),
            &now(subscribes(&["a"], &["b", "c"]))
        ));
        assert!(!same_decision(&was(recorded), &now(Decision::RejectsAll)));
        let undocumented = |reason: &str| Decision::Undocumented {
            reason: reason.into(),
        };
        assert!(same_decision(
            &was(serde_json::to_value(undocumented("in 5 ms")).unwrap()),
            &now(undocumented("in 7 ms"))
        ));
    }

    /// What [`Lines`] makes of `text`: each line's number, and its record's command or why not.
    fn lines(text: &[u8]) -> Vec<(usize, String)> {
        Lines::new(text)
            .map(|line| {
                let (number, line) = line.unwrap();
                let said = match line {
                    Line::Record(record) => record.command.unwrap_or_default(),
                    Line::Invalid(why) => why,
                    Line::Cut => "cut".to_owned(),
                };
                (number, said)
            })
            .collect()
    }

    const V1: &str = r#"{"v":1,"time":null,"command":"before-subscribe","valid":true,"query":{},"body":{"x":1e400},"body_format":"json","judgement":{"decision":null,"says":"","accepted":true}}"#;

    #[test]
    fn lines_of_another_version_or_not_json_are_named() {
        let v3 = V1.replace(r#"{"v":1,"#, r#"{"v":3,"#);
        let text = [
            format!("{V1}\n\n{{\n[1]\n{v3}\n{{\"time\":\"x\"}}\n{{\"v\":1,\"valid\":true}}\n")
                .as_bytes(),
            b"\xff\n",
            "x".repeat(MAX_LINE_BYTES + 1).as_bytes(),
            format!("\n{V1}\r\n{{\"v\":2,").as_bytes(),
        ]
        .concat();
        let said = lines(&text);
        let expected: Vec<(usize, &str)> = vec![
            (1, "before-subscribe"),
            (
                3,
                "not JSON (EOF while parsing an object at line 1 column 1)",
            ),
            (4, "not a JSON object, so not a record"),
            (
                5,
                "a record of version 3; this oa-hook reads versions 1 and 2",
            ),
            (
                6,
                "no version field `v`: not a record of version 1 or 2 (written by an older oa-hook, or not a record)",
            ),
            (
                7,
                "not a record of version 1: missing field `query` at line 1 column 20",
            ),
            (8, "not UTF-8 text, so not a record"),
            (9, "longer than 16 MiB, so not a line serve writes"),
            (10, "before-subscribe"),
            (11, "cut"),
        ];
        let said: Vec<(usize, &str)> = said.iter().map(|(n, s)| (*n, s.as_str())).collect();
        assert_eq!(said, expected);
        // A last line without its newline is read when it is whole.
        assert_eq!(lines(V1.as_bytes()), [(1, "before-subscribe".to_owned())]);
        assert!(lines(b"\n \n").is_empty());
    }

    #[test]
    fn a_version_1_body_that_readers_refuse_is_read_back_byte_for_byte() {
        let record = Recorded::read(V1).unwrap();
        assert_eq!(record.body.as_deref(), Some(&br#"{"x":1e400}"#[..]));
        assert_eq!(record.sign, None);
        let v2 = V1.replace(r#"{"v":1,"#, r#"{"v":2,"sign":null,"#).replace(
            r#""body":{"x":1e400},"body_format":"json""#,
            r#""body":"//4=","body_format":"base64""#,
        );
        let record = Recorded::read(&v2).unwrap();
        assert_eq!(record.body.as_deref(), Some(&b"\xff\xfe"[..]));
        assert_eq!(record.sign, Some(None));
        let wrong = v2.replace(r#""//4=""#, "1");
        assert_eq!(
            Recorded::read(&wrong).unwrap_err(),
            "`body` is not base64, as `body_format` \"base64\" says"
        );
    }

    #[test]
    fn a_changed_code_or_rewrite_is_a_changed_decision_and_words_are_not() {
        let refuses = |code| Decision::RefusesMessage {
            error_code: code,
            caller_code: code,
        };
        let recorded = serde_json::to_value(refuses(120001)).unwrap();
        assert!(same_decision(&was(recorded.clone()), &now(refuses(120001))));
        assert!(!same_decision(&was(recorded), &now(refuses(120002))));
        let rewrite = |text: &str| Decision::SendsRewritten {
            msg_body: None,
            cloud_custom_data: Some(text.to_owned()),
        };
        let recorded = serde_json::to_value(rewrite("hello")).unwrap();
        assert!(!same_decision(&was(recorded), &now(rewrite("different"))));
        let subscribes = |users: [&str; 2]| Decision::Subscribes {
            subscribed: users.map(str::to_owned).to_vec(),
            refused: Vec::new(),
        };
        let recorded = serde_json::to_value(subscribes(["a", "b"])).unwrap();
        assert!(same_decision(&was(recorded), &now(subscribes(["b", "a"]))));
        let undocumented = |reason: &str| Decision::Undocumented {
            reason: reason.to_owned(),
        };
        let recorded = serde_json::to_value(undocumented("old words")).unwrap();
        assert!(same_decision(
            &was(recorded),
            &now(undocumented("new words"))
        ));
    }
}
