//! What a JSON tree no longer shows about the text it was read from, and whether a JSON reader
//! takes the text back at all.

use super::finding::{Finding, Findings, Severity, excerpt};
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

/// The visits of the scalars of a walk over JSON that looks only at its structure.
macro_rules! scalars_pass {
    () => {
        fn visit_bool<E>(self, _: bool) -> Result<(), E> {
            Ok(())
        }

        fn visit_i64<E>(self, _: i64) -> Result<(), E> {
            Ok(())
        }

        fn visit_u64<E>(self, _: u64) -> Result<(), E> {
            Ok(())
        }

        fn visit_f64<E>(self, _: f64) -> Result<(), E> {
            Ok(())
        }

        fn visit_str<E>(self, _: &str) -> Result<(), E> {
            Ok(())
        }

        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
    };
}

/// Keys that appear more than once in one object, at any depth, as warnings naming the object:
/// a JSON tree keeps the last of them (serde_json does, and so do most parsers), so whatever
/// the others said is silently gone, a subscriber for instance. One pass over `raw` without
/// building a tree; text that is not JSON yields what was found before the error (reporting
/// that it is not JSON is someone else's finding). Capped like every body's findings.
pub fn duplicate_keys(raw: &[u8]) -> Vec<Finding> {
    let mut findings = Findings::default();
    let mut json = serde_json::Deserializer::from_slice(raw);
    let _ = Node {
        at: &Path::Root,
        findings: &mut findings,
    }
    .deserialize(&mut json);
    findings.into_vec()
}

/// Whether serde_json's default reader (and others with limits: it is among the strictest)
/// takes `json`, valid JSON, back when it sits `depth` levels deep in a document: a raw value
/// lets through a number out of range (`1e400`), nesting past 128 and a lone surrogate
/// (`"\ud800"`), which such a reader refuses. Walks the text once, keeping nothing.
pub fn reads_back(json: &str, depth: usize) -> bool {
    Readable { depth }
        .deserialize(&mut serde_json::Deserializer::from_str(json))
        .is_ok()
}

/// serde_json's own reader walking a value, as it does for a tree, that fails where a document
/// would be nested 128 deep (`depth` levels are around it already).
#[derive(Clone, Copy)]
struct Readable {
    depth: usize,
}

/// The most levels serde_json's reader takes in one document.
const READER_DEPTH: usize = 127;

impl<'de> DeserializeSeed<'de> for Readable {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Readable {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    scalars_pass!();

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<(), A::Error> {
        let inner = self.deeper()?;
        while items.next_element_seed(inner)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut members: A) -> Result<(), A::Error> {
        let inner = self.deeper()?;
        while members.next_key_seed(inner)?.is_some() {
            members.next_value_seed(inner)?;
        }
        Ok(())
    }
}

impl Readable {
    fn deeper<E: de::Error>(self) -> Result<Self, E> {
        if self.depth >= READER_DEPTH {
            return Err(E::custom("nested too deep"));
        }
        Ok(Readable {
            depth: self.depth + 1,
        })
    }
}

/// Where a value is, in the notation of the other findings: `SubscribeAccountList[0]`, and
/// `body` for the whole.
enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => f.write_str("body"),
            Path::Key(Path::Root, key) => f.write_str(&shown(key)),
            Path::Key(parent, key) => write!(f, "{parent}.{}", shown(key)),
            Path::Index(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

/// A key as a finding shows it: whole unless it is long.
fn shown(key: &str) -> String {
    excerpt(key.as_bytes(), 64)
}

/// Visits one value, and the values inside it, reporting repeated keys.
struct Node<'p, 'f> {
    at: &'p Path<'p>,
    findings: &'f mut Findings,
}

impl<'de> DeserializeSeed<'de> for Node<'_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    scalars_pass!();

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<(), A::Error> {
        let mut i = 0;
        while items
            .next_element_seed(Node {
                at: &Path::Index(self.at, i),
                findings: &mut *self.findings,
            })?
            .is_some()
        {
            i += 1;
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut members: A) -> Result<(), A::Error> {
        // Each key, with where it first appeared and how often.
        let mut seen: HashMap<Cow<'de, str>, (usize, usize)> = HashMap::new();
        let mut n = 0;
        while let Some(Key(key)) = members.next_key()? {
            members.next_value_seed(Node {
                at: &Path::Key(self.at, &key),
                findings: &mut *self.findings,
            })?;
            seen.entry(key).or_insert((n, 0)).1 += 1;
            n += 1;
        }
        let mut repeated: Vec<_> = seen.into_iter().filter(|(_, (_, k))| *k > 1).collect();
        repeated.sort_unstable_by_key(|(_, (first, _))| *first);
        for (key, (_, times)) in repeated {
            let at = self.at;
            self.findings.push_with(Severity::Warning, || {
                Finding::warning(
                    "duplicate-key",
                    at.to_string(),
                    format!(
                        "key \"{}\" appears {}; Chat's JSON has each key once (the last one is used)",
                        shown(&key),
                        match times {
                            2 => "twice".to_owned(),
                            n => format!("{n} times"),
                        }
                    ),
                )
            });
        }
        Ok(())
    }
}

/// An object's key, borrowed from the text unless it had escapes to undo.
struct Key<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;

        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }

            fn visit_borrowed_str<E>(self, key: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(key)))
            }

            fn visit_str<E>(self, key: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(key.to_owned())))
            }
        }

        deserializer.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::MAX_FINDINGS;

    fn found(raw: &str) -> Vec<(String, String)> {
        duplicate_keys(raw.as_bytes())
            .into_iter()
            .map(|f| {
                assert_eq!(f.code, "duplicate-key");
                assert!(!f.is_error());
                (f.path, f.message)
            })
            .collect()
    }

    #[test]
    fn a_repeated_key_is_named_with_its_object() {
        let raw = r#"{"CallbackCommand":"x","SubscribeAccountList":[{"Subscriber_Account":"jared","Subscriber_Account":"leckie"}]}"#;
        assert_eq!(
            found(raw),
            [(
                "SubscribeAccountList[0]".to_owned(),
                "key \"Subscriber_Account\" appears twice; Chat's JSON has each key once (the last one is used)".to_owned()
            )]
        );
    }

    #[test]
    fn every_depth_is_scanned_and_counted() {
        let raw = r#"{"a":1,"b":{"c":[0,{"d":1,"d":2,"d":3}]},"a":2,"e":[[{"f":1,"f":1}]]}"#;
        let paths: Vec<_> = found(raw);
        assert_eq!(
            paths,
            [
                (
                    "b.c[1]".to_owned(),
                    "key \"d\" appears 3 times; Chat's JSON has each key once (the last one is used)".to_owned()
                ),
                (
                    "e[0][0]".to_owned(),
                    "key \"f\" appears twice; Chat's JSON has each key once (the last one is used)".to_owned()
                ),
                (
                    "body".to_owned(),
                    "key \"a\" appears twice; Chat's JSON has each key once (the last one is used)".to_owned()
                ),
            ]
        );
        assert_eq!(found(r#"[{"x":1,"x":1}]"#)[0].0, "body[0]");
    }

    #[test]
    fn escaped_keys_are_the_same_key() {
        assert_eq!(found(r#"{"a":1,"\u0061":2}"#).len(), 1);
    }

    #[test]
    fn json_without_repeats_and_text_that_is_not_json_say_nothing() {
        for raw in [
            r#"{"a":{"a":{"a":1}},"b":[{"a":1},{"a":2}]}"#,
            "",
            "{",
            "not json",
            r#"{"a":1,"a""#,
            "[1, 2, true, null, \"x\", 1.5, -3]",
        ] {
            assert_eq!(found(raw), [], "{raw}");
        }
        // Found before the text went wrong: still said.
        assert_eq!(found(r#"[{"a":1,"a":2}, nonsense"#).len(), 1);
    }

    #[test]
    fn long_keys_are_cut_in_paths_and_messages() {
        let key = "k".repeat(1000);
        let raw = format!(r#"{{"{key}":{{"x":1,"x":2}},"{key}":1}}"#);
        for (path, message) in found(&raw) {
            assert!(path.len() < 100, "{path}");
            assert!(message.len() < 200, "{message}");
        }
    }

    #[test]
    fn a_flood_of_repeats_is_capped() {
        let raw = format!("[{}]", vec![r#"{"a":1,"a":2}"#; 50_000].join(","));
        let findings = duplicate_keys(raw.as_bytes());
        assert_eq!(findings.len(), MAX_FINDINGS + 1);
        let last = findings.last().unwrap();
        assert_eq!(
            (last.code, last.path.as_str(), last.message.as_str()),
            (
                "more-findings",
                "body",
                "and 49990 more warnings, not listed"
            )
        );
    }
}
