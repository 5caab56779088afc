//! A request's head as serve's handler reads it: its method, its target (path and query) and
//! its header fields. A request read directly ([`super::listen`]) keeps them where they arrived,
//! in the bytes its body shares, as offsets found by httparse: no `Uri` checked again byte by
//! byte and no `HeaderMap` hashed for a request whose target and few headers serve reads once or
//! twice (2.9k of the tap's 38k instructions a callback, and of serve's 26k). A request hyper
//! read keeps hyper's parts. Both read the same: a name's values together, in the order of
//! its first line, as a `HeaderMap` gives them.

use bytes::Bytes;
use hyper::Method;
use hyper::header::HeaderValue;
use hyper::http::request::Parts;
use std::ops::Range;

/// The longest target read directly: `Uri`'s limit (a longer one is hyper's, which refuses it).
const MAX_TARGET: usize = u16::MAX as usize - 1;

/// The longest header name read directly: `HeaderName`'s limit (likewise).
const MAX_NAME: usize = u16::MAX as usize;

pub(crate) struct Head(Kind);

enum Kind {
    /// Read directly: each field's name and value are ranges of `bytes`. The target is a
    /// copy, as text: read as text from `bytes` each time, it cost more than the copy.
    Read {
        bytes: Bytes,
        target: Box<str>,
        fields: Vec<(Range<usize>, Range<usize>)>,
    },
    /// Boxed: read directly, a head is a fifth of the size of hyper's parts, and it is moved
    /// with the handler's future.
    Hyper(Box<Parts>),
}

impl From<Parts> for Head {
    fn from(parts: Parts) -> Self {
        Head(Kind::Hyper(Box::new(parts)))
    }
}

impl Head {
    /// The head of a `POST` that httparse read from `bytes`: its `target` and its `fields`,
    /// slices of `bytes`, which `shared` copies (once the head is known to be read here).
    /// `None` for a head left to hyper: a target that is not [simple](is_simple), or a name
    /// longer than hyper takes.
    pub(super) fn read<'b>(
        bytes: &'b [u8],
        target: &'b str,
        fields: impl ExactSizeIterator<Item = (&'b str, &'b [u8])>,
        shared: impl FnOnce() -> Bytes,
    ) -> Option<(Self, Bytes)> {
        if !is_simple(target.as_bytes()) {
            return None;
        }
        let at = |of: &[u8]| {
            let from = of.as_ptr() as usize - bytes.as_ptr() as usize;
            from..from + of.len()
        };
        let mut read = Vec::with_capacity(fields.len());
        for (name, value) in fields {
            // httparse took only a token's bytes for a name and only visible bytes, spaces and
            // tabs for a value, what `HeaderName` and `HeaderValue` take.
            if name.len() > MAX_NAME {
                return None;
            }
            read.push((at(name.as_bytes()), at(value)));
        }
        let bytes = shared();
        let head = Head(Kind::Read {
            bytes: bytes.clone(),
            target: target.into(),
            fields: read,
        });
        Some((head, bytes))
    }

    pub(crate) fn method(&self) -> &Method {
        match &self.0 {
            Kind::Read { .. } => &Method::POST,
            Kind::Hyper(parts) => &parts.method,
        }
    }

    /// The path and query as received (without a fragment, which hyper drops): what the tests
    /// compare; serve reads the two apart.
    #[cfg(test)]
    pub(crate) fn target(&self) -> &str {
        match &self.0 {
            Kind::Read { target, .. } => target,
            Kind::Hyper(parts) => parts
                .uri
                .path_and_query()
                .map_or_else(|| parts.uri.path(), |p| p.as_str()),
        }
    }

    pub(crate) fn path(&self) -> &str {
        match &self.0 {
            Kind::Read { target, .. } => &target[..query_at(target).unwrap_or(target.len())],
            Kind::Hyper(parts) => parts.uri.path(),
        }
    }

    pub(crate) fn query(&self) -> Option<&str> {
        match &self.0 {
            Kind::Read { target, .. } => query_at(target).map(|at| &target[at + 1..]),
            Kind::Hyper(parts) => parts.uri.query(),
        }
    }

    /// The values of the field `name` (lower case), in the order they came.
    pub(crate) fn values<'a>(&'a self, name: &'a str) -> Values<'a> {
        match &self.0 {
            Kind::Read { bytes, fields, .. } => Values::Read {
                bytes,
                fields: fields.iter(),
                name: name.as_bytes(),
            },
            Kind::Hyper(parts) => Values::Map(parts.headers.get_all(name).into_iter()),
        }
    }

    /// The first value of the field `name` (lower case).
    pub(crate) fn value<'a>(&'a self, name: &'a str) -> Option<&'a [u8]> {
        self.values(name).next()
    }

    /// Every field as `(name, value)`, a name's values together in the order they came, the
    /// names in the order each first came, as a `HeaderMap` gives them. Names as received:
    /// hyper's are lower case, those read directly as the caller wrote them.
    pub(crate) fn fields(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        let (read, map) = match &self.0 {
            Kind::Read { bytes, fields, .. } => (Some((&bytes[..], &fields[..])), None),
            Kind::Hyper(parts) => (None, Some(&parts.headers)),
        };
        let read = read.into_iter().flat_map(|(bytes, fields)| {
            let name = move |i: usize| &bytes[fields[i].0.clone()];
            let first = move |i: &usize| !(0..*i).any(|j| name(j).eq_ignore_ascii_case(name(*i)));
            (0..fields.len()).filter(first).flat_map(move |i| {
                (i..fields.len())
                    .filter(move |&j| j == i || name(j).eq_ignore_ascii_case(name(i)))
                    .map(move |j| (name(j), &bytes[fields[j].1.clone()]))
            })
        });
        let map = map.into_iter().flat_map(|map| {
            map.iter()
                .map(|(name, value)| (name.as_str().as_bytes(), value.as_bytes()))
        });
        read.chain(map)
    }
}

/// Where the query of `target` begins: its first `?`, found a byte at a time (it is near the
/// start of a callback's target: a search made for long texts cost more).
fn query_at(target: &str) -> Option<usize> {
    target.bytes().position(|b| b == b'?')
}

/// The values of a field, as [`Head::values`] finds them.
pub(crate) enum Values<'a> {
    Read {
        bytes: &'a Bytes,
        fields: std::slice::Iter<'a, (Range<usize>, Range<usize>)>,
        name: &'a [u8],
    },
    Map(hyper::header::ValueIter<'a, HeaderValue>),
}

impl<'a> Iterator for Values<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        match self {
            Values::Read {
                bytes,
                fields,
                name,
            } => fields
                .find(|(n, _)| bytes[n.clone()].eq_ignore_ascii_case(name))
                .map(|(_, v)| &bytes[v.clone()]),
            Values::Map(values) => values.next().map(HeaderValue::as_bytes),
        }
    }
}

/// Whether hyper reads `target` (whose bytes httparse took: `!` to `~` and any byte past
/// ASCII) as an origin-form `Uri` whose path is all before the first `?` and whose query all
/// after it. So is every target of a path and query of URI characters: what this leaves out is
/// hyper's to read (a byte past ASCII, which must be UTF-8; a fragment, which it drops; a byte
/// it refuses, `<` or `>`; one it takes in a path and not in a query, `"`, or the other way
/// round, `` ` ``). Each byte is compared, not looked up, so that the check runs 16 bytes at
/// once.
fn is_simple(target: &[u8]) -> bool {
    let odd = target.iter().fold(false, |odd, &b| {
        odd | (b == b'"') | (b == b'#') | (b == b'<') | (b == b'>') | (b == b'`') | (b >= 0x80)
    });
    target.first() == Some(&b'/') && target.len() <= MAX_TARGET && !odd
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every target of a few bytes read directly reads as hyper's `Uri` reads it.
    #[test]
    fn a_simple_target_reads_as_a_uri_reads_it() {
        let bytes: Vec<u8> = (b'!'..=b'~').chain([0x80, 0xc3, 0xa9]).collect();
        let mut simple = 0;
        for a in &bytes {
            for b in &bytes {
                for c in [b'?', b'x', b'/'] {
                    let target = [b'/', *a, c, *b, b'?', *a];
                    if !is_simple(&target) {
                        continue;
                    }
                    simple += 1;
                    let text = std::str::from_utf8(&target).unwrap();
                    let uri: hyper::Uri = text.parse().expect(text);
                    let head = read(text, &[]);
                    assert_eq!(head.path(), uri.path(), "{text}");
                    assert_eq!(head.query(), uri.query(), "{text}");
                    assert_eq!(head.target(), uri.path_and_query().unwrap().as_str());
                }
            }
        }
        assert!(simple > 20_000, "{simple}");
        for odd in [
            "x",
            "/a#b",
            "/a?b\"",
            "/a\"b",
            "/`",
            "/<",
            "/?>",
            "/caf\u{e9}",
            "",
        ] {
            assert!(!is_simple(odd.as_bytes()), "{odd}");
        }
        assert!(!is_simple(&[b'/'; MAX_TARGET + 1]));
    }

    fn read(target: &str, fields: &[(&str, &str)]) -> Head {
        let mut text = format!("POST {target} HTTP/1.1\r\n");
        for (name, value) in fields {
            text += &format!("{name}: {value}\r\n");
        }
        text += "\r\n";
        let shared = Bytes::from(text);
        let mut lines = [httparse::EMPTY_HEADER; 16];
        let mut parsed = httparse::Request::new(&mut lines);
        parsed.parse(&shared).unwrap();
        let fields = parsed.headers.iter().map(|h| (h.name, h.value));
        Head::read(&shared, parsed.path.unwrap(), fields, || shared.clone())
            .unwrap()
            .0
    }

    /// A name's values come together and names in the order each first came, as a
    /// `HeaderMap` gives them, read directly or by hyper.
    #[test]
    fn fields_read_as_a_header_map_gives_them() {
        let lines = [
            ("Via", "1"),
            ("X-A", "a"),
            ("via", "2"),
            ("Content-Type", "json"),
            ("VIA", "3"),
        ];
        let direct = read("/?x", &lines);
        let mut hyper = hyper::Request::post("/?x");
        for (name, value) in lines {
            hyper = hyper.header(name, value);
        }
        let hyper = Head::from(hyper.body(()).unwrap().into_parts().0);
        let lower = |head: &Head| {
            head.fields()
                .map(|(n, v)| (n.to_ascii_lowercase(), v.to_vec()))
                .collect::<Vec<_>>()
        };
        assert_eq!(lower(&direct), lower(&hyper));
        assert_eq!(
            lower(&direct)
                .iter()
                .map(|(n, v)| format!(
                    "{}={}",
                    String::from_utf8_lossy(n),
                    String::from_utf8_lossy(v)
                ))
                .collect::<Vec<_>>(),
            ["via=1", "via=2", "via=3", "x-a=a", "content-type=json"]
        );
        for head in [&direct, &hyper] {
            assert_eq!(head.values("via").collect::<Vec<_>>(), [b"1", b"2", b"3"]);
            assert_eq!(head.value("content-type"), Some(&b"json"[..]));
            assert_eq!(head.value("x-b"), None);
            assert_eq!(head.method(), Method::POST);
            assert_eq!((head.path(), head.query()), ("/", Some("x")));
        }
    }
}
