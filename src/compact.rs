//! JSON written byte for byte as `serde_json::to_writer` writes it, for the lines serve writes
//! for every callback (record lines, JSON event lines, the inspector's rows). serde_json looks
//! at a string's bytes one at a time to find what to escape, which was an eighth of the work
//! of a callback with `--record`; this writer looks at eight at a time, and escapes only a
//! string that needs it.
//!
//! Numbers are written by serde_json itself, and a [`serde_json::value::RawValue`] as it is, as
//! serde_json does. Tests compare the bytes with serde_json's for every kind of value.

use serde::Serialize;
use serde::ser::{self, Error as _};

/// serde_json's name for the struct a `RawValue` serializes as: its one field is its JSON,
/// which serde_json writes as it is.
const RAW_VALUE: &str = "$serde_json::private::RawValue";

/// Writes `json`, text known to be one JSON value, as it is: as a `RawValue` is written, by
/// serde_json and by [`write`], without reading it again to make one.
pub(crate) fn verbatim<S: ser::Serializer>(json: &&str, serializer: S) -> Result<S::Ok, S::Error> {
    use ser::SerializeStruct as _;
    let mut raw = serializer.serialize_struct(RAW_VALUE, 1)?;
    raw.serialize_field(RAW_VALUE, json)?;
    raw.end()
}

/// Appends `value` as JSON to `out`, as `serde_json::to_writer` would.
pub(crate) fn write(
    out: &mut Vec<u8>,
    value: &(impl Serialize + ?Sized),
) -> serde_json::Result<()> {
    value.serialize(&mut Writer { out, raw: false })
}

/// `value` as JSON, as `serde_json::to_vec` would write it.
pub(crate) fn to_vec(value: &(impl Serialize + ?Sized)) -> serde_json::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(128);
    write(&mut out, value)?;
    Ok(out)
}

/// `value` as JSON text, as `serde_json::to_string` would write it.
pub(crate) fn to_string(value: &(impl Serialize + ?Sized)) -> serde_json::Result<String> {
    // Only valid UTF-8 is written: strings whole, and ASCII around them.
    to_vec(value).map(|bytes| String::from_utf8(bytes).unwrap_or_default())
}

struct Writer<'a> {
    out: &'a mut Vec<u8>,
    /// The next string is a `RawValue`'s JSON, written as it is.
    raw: bool,
}

impl<'a> Writer<'a> {
    /// An integer, as serde_json writes it (with itoa).
    fn integer(&mut self, value: impl itoa::Integer) -> serde_json::Result<()> {
        self.out
            .extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
        Ok(())
    }

    /// `{"variant":` and the array or object opened by `open`, which `end` closes.
    fn variant<'w>(&'w mut self, variant: &str, open: u8, end: &'static [u8]) -> Compound<'w, 'a> {
        self.out.push(b'{');
        string(self.out, variant);
        self.out.extend_from_slice(&[b':', open]);
        Compound::new(self, end)
    }

    /// Another number, written by serde_json.
    fn number(&mut self, value: impl Serialize) -> serde_json::Result<()> {
        serde_json::to_writer(&mut *self.out, &value)
    }
}

/// Serializer methods that write a number with one of [`Writer`]'s.
macro_rules! numbers {
    ($($method:ident: $type:ty => $how:ident),*) => {$(
        fn $method(self, value: $type) -> serde_json::Result<()> {
            self.$how(value)
        }
    )*};
}

/// Whether JSON escapes `byte`: a control character, `"` or `\`.
fn escaped(byte: u8) -> bool {
    byte < 0x20 || byte == b'"' || byte == b'\\'
}

/// The escape of `byte`, as serde_json writes it: `\uXXXX` but for the seven it names.
fn escape(out: &mut Vec<u8>, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let short = match byte {
        b'"' => b'"',
        b'\\' => b'\\',
        0x08 => b'b',
        b'\t' => b't',
        b'\n' => b'n',
        0x0C => b'f',
        b'\r' => b'r',
        _ => {
            let hex = [HEX[usize::from(byte >> 4)], HEX[usize::from(byte & 0xF)]];
            out.extend_from_slice(b"\\u00");
            out.extend_from_slice(&hex);
            return;
        }
    };
    out.extend_from_slice(&[b'\\', short]);
}

/// Whether one of `bytes` is escaped in JSON, looked at eight at a time: the strings of a
/// line are mostly short names, for which a loop a byte at a time (or one that copies the last
/// few bytes) cost more than the rest of the line.
fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGH: u64 = ONES * 0x80;
    // Whether a byte of `word` is below `n` (at most 0x80): a byte at or above 0x80 never
    // is, and a borrow moves up only from a byte that is, so "one is" is exact.
    let below = |word: u64, n: u64| word.wrapping_sub(ONES * n) & !word & HIGH;
    let flagged = |word: u64| {
        below(word, 0x20)
            | below(word ^ (ONES * u64::from(b'"')), 1)
            | below(word ^ (ONES * u64::from(b'\\')), 1)
    };
    let word = |eight: &[u8]| u64::from_le_bytes(eight.try_into().unwrap_or_default());
    let Some(last) = bytes.len().checked_sub(8) else {
        return flagged(short_word(bytes)) != 0;
    };
    let mut seen = flagged(word(&bytes[last..]));
    for eight in bytes.chunks_exact(8) {
        seen |= flagged(word(eight));
    }
    seen != 0
}

/// `bytes` (fewer than eight) as a word to look at, read without a copy in at most two reads
/// that may overlap, and padded with letters that are never escaped.
fn short_word(bytes: &[u8]) -> u64 {
    const PAD: u64 = u64::from_le_bytes([b'a'; 8]);
    let n = bytes.len();
    let ends = |size: usize| (&bytes[..size], &bytes[n - size..]);
    if n >= 4 {
        let (first, last) = ends(4);
        let four = |b: &[u8]| u64::from(u32::from_le_bytes(b.try_into().unwrap_or_default()));
        four(first) | four(last) << 32
    } else if n >= 2 {
        let (first, last) = ends(2);
        let two = |b: &[u8]| u64::from(u16::from_le_bytes(b.try_into().unwrap_or_default()));
        PAD << 32 | two(first) | two(last) << 16
    } else {
        bytes.first().map_or(PAD, |&b| PAD << 8 | u64::from(b))
    }
}

/// Appends `text` as a JSON string, escaped as serde_json escapes it.
#[inline]
fn string(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    let escapes = needs_escape(bytes);
    if !escapes && bytes.len() <= SHORT {
        return short_string(out, bytes);
    }
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    if escapes {
        let mut clean = 0;
        for (i, &byte) in bytes.iter().enumerate() {
            if escaped(byte) {
                out.extend_from_slice(&bytes[clean..i]);
                escape(out, byte);
                clean = i + 1;
            }
        }
        out.extend_from_slice(&bytes[clean..]);
    } else {
        out.extend_from_slice(bytes);
    }
    out.push(b'"');
}

/// Appends a struct's field name `key` and its colon. A field's name is a Rust name, or one of
/// oa-hook's own given with `#[serde(rename)]`, none escaped in JSON: not looked at again for
/// every field of every line (a record line has some 25). The tests, which write every kind of
/// line, would find one that is.
fn name(out: &mut Vec<u8>, key: &'static str) {
    debug_assert!(!needs_escape(key.as_bytes()), "a field named {key:?}");
    if key.len() <= SHORT {
        short_string(out, key.as_bytes());
    } else {
        string(out, key);
    }
    out.push(b':');
}

/// The longest string [`short_string`] writes.
const SHORT: usize = 32;

/// Appends `bytes` (at most [`SHORT`], none escaped) between quotes, copied as two words that
/// may overlap into room made first: most strings of a line are short names, and a copy of a
/// length known only at run time is a call to `memcpy`, which cost more than the rest.
fn short_string(out: &mut Vec<u8>, bytes: &[u8]) {
    let n = bytes.len();
    let start = out.len();
    out.extend_from_slice(&[0; SHORT + 2]);
    let room = &mut out[start..];
    room[0] = b'"';
    match n {
        16.. => ends::<16>(room, bytes),
        8.. => ends::<8>(room, bytes),
        4.. => ends::<4>(room, bytes),
        2.. => ends::<2>(room, bytes),
        1 => ends::<1>(room, bytes),
        0 => {}
    }
    room[n + 1] = b'"';
    out.truncate(start + n + 2);
}

/// Copies the first and the last `N` of `bytes` (`N` to `2N` of them) to `room` after its
/// first byte, each as one word of a size known when compiled.
#[inline(always)]
fn ends<const N: usize>(room: &mut [u8], bytes: &[u8]) {
    let n = bytes.len();
    let word = |from: usize| -> [u8; N] { bytes[from..from + N].try_into().unwrap_or([0; N]) };
    let (first, last) = (word(0), word(n - N));
    room[1..=N].copy_from_slice(&first);
    room[n + 1 - N..=n].copy_from_slice(&last);
}

impl<'w, 'o> ser::Serializer for &'w mut Writer<'o> {
    type Ok = ();
    type Error = serde_json::Error;
    type SerializeSeq = Compound<'w, 'o>;
    type SerializeTuple = Compound<'w, 'o>;
    type SerializeTupleStruct = Compound<'w, 'o>;
    type SerializeTupleVariant = Compound<'w, 'o>;
    type SerializeMap = Compound<'w, 'o>;
    type SerializeStruct = Compound<'w, 'o>;
    type SerializeStructVariant = Compound<'w, 'o>;

    fn serialize_bool(self, value: bool) -> serde_json::Result<()> {
        self.out
            .extend_from_slice(if value { b"true" } else { b"false" });
        Ok(())
    }

    numbers!(
        serialize_i8: i8 => integer,
        serialize_i16: i16 => integer,
        serialize_i32: i32 => integer,
        serialize_i64: i64 => integer,
        serialize_i128: i128 => integer,
        serialize_u8: u8 => integer,
        serialize_u16: u16 => integer,
        serialize_u32: u32 => integer,
        serialize_u64: u64 => integer,
        serialize_u128: u128 => integer,
        serialize_f32: f32 => number,
        serialize_f64: f64 => number
    );

    fn serialize_char(self, value: char) -> serde_json::Result<()> {
        self.serialize_str(value.encode_utf8(&mut [0; 4]))
    }

    fn serialize_str(self, value: &str) -> serde_json::Result<()> {
        if std::mem::take(&mut self.raw) {
            self.out.extend_from_slice(value.as_bytes());
        } else {
            string(self.out, value);
        }
        Ok(())
    }

    fn serialize_bytes(self, value: &[u8]) -> serde_json::Result<()> {
        use ser::SerializeSeq as _;
        let mut seq = self.serialize_seq(Some(value.len()))?;
        for byte in value {
            seq.serialize_element(byte)?;
        }
        seq.end()
    }

    fn serialize_none(self) -> serde_json::Result<()> {
        self.serialize_unit()
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> serde_json::Result<()> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> serde_json::Result<()> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }

    fn serialize_unit_struct(self, _name: &'static str) -> serde_json::Result<()> {
        self.serialize_unit()
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> serde_json::Result<()> {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> serde_json::Result<()> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> serde_json::Result<()> {
        self.out.push(b'{');
        string(self.out, variant);
        self.out.push(b':');
        value.serialize(&mut *self)?;
        self.out.push(b'}');
        Ok(())
    }

    fn serialize_seq(self, _len: Option<usize>) -> serde_json::Result<Compound<'w, 'o>> {
        self.out.push(b'[');
        Ok(Compound::new(self, b"]"))
    }

    fn serialize_tuple(self, len: usize) -> serde_json::Result<Compound<'w, 'o>> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> serde_json::Result<Compound<'w, 'o>> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> serde_json::Result<Compound<'w, 'o>> {
        Ok(self.variant(variant, b'[', b"]}"))
    }

    fn serialize_map(self, _len: Option<usize>) -> serde_json::Result<Compound<'w, 'o>> {
        self.out.push(b'{');
        Ok(Compound::new(self, b"}"))
    }

    fn serialize_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> serde_json::Result<Compound<'w, 'o>> {
        if name == RAW_VALUE {
            return Ok(Compound::new(self, b"").raw());
        }
        self.serialize_map(Some(len))
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> serde_json::Result<Compound<'w, 'o>> {
        Ok(self.variant(variant, b'{', b"}}"))
    }
}

/// An array or object being written.
struct Compound<'w, 'o> {
    writer: &'w mut Writer<'o>,
    first: bool,
    /// What closes it.
    end: &'static [u8],
    /// A `RawValue`: its one field is written as it is.
    raw: bool,
}

impl<'w, 'o> Compound<'w, 'o> {
    fn new(writer: &'w mut Writer<'o>, end: &'static [u8]) -> Self {
        Compound {
            writer,
            first: true,
            end,
            raw: false,
        }
    }

    fn raw(self) -> Self {
        Compound { raw: true, ..self }
    }

    fn comma(&mut self) {
        if !std::mem::take(&mut self.first) {
            self.writer.out.push(b',');
        }
    }

    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> serde_json::Result<()> {
        self.comma();
        value.serialize(&mut *self.writer)
    }

    fn field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> serde_json::Result<()> {
        if self.raw {
            self.writer.raw = true;
            let written = value.serialize(&mut *self.writer);
            // A RawValue's field is a string; anything else is not one.
            return match std::mem::take(&mut self.writer.raw) {
                false => written,
                true => Err(serde_json::Error::custom("expected RawValue")),
            };
        }
        self.comma();
        name(self.writer.out, key);
        value.serialize(&mut *self.writer)
    }

    fn close(self) -> serde_json::Result<()> {
        self.writer.out.extend_from_slice(self.end);
        Ok(())
    }
}

/// The impls of an array's kinds: each element after a comma.
macro_rules! elements {
    ($($kind:ident::$method:ident),*) => {$(
        impl ser::$kind for Compound<'_, '_> {
            type Ok = ();
            type Error = serde_json::Error;

            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> serde_json::Result<()> {
                self.element(value)
            }

            fn end(self) -> serde_json::Result<()> {
                self.close()
            }
        }
    )*};
}

elements!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

/// The impls of a struct's kinds: each field named.
macro_rules! fields {
    ($($kind:ident),*) => {$(
        impl ser::$kind for Compound<'_, '_> {
            type Ok = ();
            type Error = serde_json::Error;

            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> serde_json::Result<()> {
                self.field(key, value)
            }

            fn end(self) -> serde_json::Result<()> {
                self.close()
            }
        }
    )*};
}

fields!(SerializeStruct, SerializeStructVariant);

impl ser::SerializeMap for Compound<'_, '_> {
    type Ok = ();
    type Error = serde_json::Error;

    /// A key is a string, or a number or `bool` written as one, as serde_json writes it; any
    /// other is refused.
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> serde_json::Result<()> {
        self.comma();
        let start = self.writer.out.len();
        key.serialize(&mut *self.writer)?;
        let out = &mut *self.writer.out;
        match out.get(start) {
            Some(b'"') => {}
            Some(b'-' | b'0'..=b'9' | b't' | b'f') => {
                out.insert(start, b'"');
                out.push(b'"');
            }
            _ => return Err(serde_json::Error::custom("key must be a string")),
        }
        out.push(b':');
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> serde_json::Result<()> {
        value.serialize(&mut *self.writer)
    }

    fn end(self) -> serde_json::Result<()> {
        self.close()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::Value;
    use serde_json::value::RawValue;
    use std::collections::BTreeMap;

    /// The same bytes, or an error from both.
    fn same(value: &(impl Serialize + ?Sized)) {
        let theirs = serde_json::to_vec(value).map_err(|_| "refused");
        let ours = to_vec(value).map_err(|_| "refused");
        assert_eq!(
            ours.as_deref().map(String::from_utf8_lossy),
            theirs.as_deref().map(String::from_utf8_lossy)
        );
    }

    #[test]
    fn every_byte_is_escaped_as_serde_json_escapes_it() {
        let all: String = (0..=0x7F_u8).map(char::from).collect();
        same(&all);
        for at in 0..20 {
            for byte in [0x00, 0x08, 0x1F, b'"', b'\\', 0x7F, b'/', 0x20] {
                let mut text = "é".repeat(at / 2) + &"a".repeat(at);
                text.push(char::from(byte));
                text.push_str(&"z".repeat(at));
                same(&text);
            }
        }
        same("");
        same("\u{10FFFF}\u{2028}😀");
    }

    #[test]
    fn a_string_of_any_length_is_written_whole_after_what_came_before() {
        let text: String = ('a'..='z').chain('A'..='Z').collect();
        for length in 0..=text.len() {
            let words = [&text[..length], &text[length..]];
            let mut out = b"[".to_vec();
            write(&mut out, &words[0]).unwrap();
            write(&mut out, &words[1]).unwrap();
            let expected = format!("[{:?}{:?}", words[0], words[1]);
            assert_eq!(String::from_utf8_lossy(&out), expected);
        }
    }

    #[derive(Serialize)]
    enum Kinds {
        Unit,
        Newtype(u8),
        Tuple(u8, &'static str),
        Struct { a: Option<u8> },
    }

    #[derive(Serialize)]
    struct Event<'a> {
        time: &'a str,
        latency_ms: f64,
        not_a_number: f64,
        small: f32,
        #[serde(skip_serializing_if = "Option::is_none")]
        skipped: Option<u8>,
        none: Option<u8>,
        kinds: [Kinds; 4],
        unit: (),
        tuple: (i8, i128, u128, char),
        bytes: &'a serde_bytes_like::Bytes,
        numbers: BTreeMap<i32, bool>,
        flags: BTreeMap<bool, u8>,
        empty: Vec<u8>,
        empty_map: BTreeMap<String, u8>,
        raw: &'a RawValue,
    }

    #[derive(Serialize)]
    struct Flattened<'a> {
        v: u64,
        #[serde(flatten)]
        event: &'a Event<'a>,
        after: &'a str,
    }

    mod serde_bytes_like {
        /// Serializes as bytes (what `serialize_bytes` is called with).
        pub(super) struct Bytes(pub(super) [u8; 3]);

        impl serde::Serialize for Bytes {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(&self.0)
            }
        }
    }

    #[test]
    fn every_kind_of_value_is_written_as_serde_json_writes_it() {
        let raw = RawValue::from_string(r#"{"a" : [1, "x\n"]}"#.into()).unwrap();
        let event = Event {
            time: "2022-12-01T05:21:52.000Z",
            latency_ms: 0.1 + 0.2,
            not_a_number: f64::NAN,
            small: 1.5e-7,
            skipped: None,
            none: None,
            kinds: [
                Kinds::Unit,
                Kinds::Newtype(7),
                Kinds::Tuple(1, "a\"b"),
                Kinds::Struct { a: Some(2) },
            ],
            unit: (),
            tuple: (-8, i128::MIN, u128::MAX, '\u{1}'),
            bytes: &serde_bytes_like::Bytes([0, 1, 255]),
            numbers: BTreeMap::from([(-1, true), (2, false)]),
            flags: BTreeMap::from([(true, 1)]),
            empty: Vec::new(),
            empty_map: BTreeMap::new(),
            raw: &raw,
        };
        same(&event);
        same(&Flattened {
            v: 2,
            event: &event,
            after: "end",
        });
        same(&Some(&*raw));
        #[derive(Serialize)]
        struct Verbatim<'a>(#[serde(serialize_with = "verbatim")] &'a str);
        same(&[Verbatim(r#"{"a" : [1, "x\n"]}"#), Verbatim("2")]);
        assert_eq!(to_vec(&Verbatim("[1 ]")).unwrap(), b"[1 ]");
        same(&BTreeMap::from([((1, 2), 3)]));
        /// A map with one key, of any kind.
        struct Keyed<K>(K);
        impl<K: Serialize> Serialize for Keyed<K> {
            fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_map([(&self.0, 1)])
            }
        }
        same(&Keyed(-1.5e300));
        same(&Keyed(f64::NAN));
        same(&Keyed(false));
        same(&Keyed(u128::MAX));
        same(&Keyed('"'));
        same(&Keyed(Kinds::Unit));
        same(&Keyed(Kinds::Newtype(1)));
        same(&Keyed(()));
        same(&Keyed([1]));
    }

    fn json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            any::<String>().prop_map(Value::from),
            "[\\x00-\\x7f]{0,40}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::from),
                prop::collection::vec(("[\\x00-\\x7f]{0,12}", inner), 0..8)
                    .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_json_is_written_as_serde_json_writes_it(value in json()) {
            prop_assert_eq!(to_vec(&value).unwrap(), serde_json::to_vec(&value).unwrap());
        }
    }
}
