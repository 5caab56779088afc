//! Generated callbacks, within and at the edges of the documented limits (protocol.md sections
//! 2 and 6): UserIDs of 1 to 32 bytes of any Unicode, 1 to 100 subscribers and some named twice,
//! `@TOA#_` IDs up to 48 bytes, names and texts at their byte limits, EventTime anywhere in
//! the 64 bits, every kind of `MsgBody` element. Each callback is drawn from the seed, its
//! command and its number alone, so that any one of them can be made again on its own.

use super::Generated;
use crate::protocol::{
    CALLBACKS, Callback, EventValues, MAX_FACE_URL_BYTES, MAX_INTRODUCTION_BYTES, MAX_NAME_BYTES,
    MAX_OFFICIAL_ACCOUNT_BYTES, MAX_ORGANIZATION_BYTES, MAX_SUBSCRIBERS_PER_CALL,
    MAX_USER_ID_BYTES, MessageElement, OFFICIAL_ACCOUNT_PREFIX, PLATFORMS,
};
use crate::seeded::Rng;
use serde_json::{Map, Value, json};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What draws are for, so that a seed's callbacks differ from its faults.
const STREAM: u64 = 0xF0_2200;

/// The longest `CloudCustomData` generated: the docs give no limit for it.
const CLOUD_CUSTOM_DATA_BYTES: usize = 256;

/// The longest text of a generated `MsgBody` element.
const ELEMENT_TEXT_BYTES: usize = 512;

/// Callback number `index` of `callback` under `seed`.
pub(crate) fn generate(seed: u64, callback: &'static Callback, index: u64) -> Generated {
    let command = CALLBACKS
        .iter()
        .position(|c| std::ptr::eq(c, callback))
        .unwrap_or(CALLBACKS.len()) as u64;
    let mut rng = Rng::draw(seed, STREAM + command, index);
    let rng = &mut rng;
    let mut values = EventValues::seed(callback, event_time(rng));
    values.official_account = official_account(rng);
    values.operator_account = user_id(rng);
    values.owner_account = user_id(rng);
    values.name = text_up_to(rng, MAX_NAME_BYTES);
    values.introduction = text_up_to(rng, MAX_INTRODUCTION_BYTES);
    values.face_url = face_url(rng);
    values.organization = text_up_to(rng, MAX_ORGANIZATION_BYTES);
    values.subscribers = subscribers(rng);
    values.cloud_custom_data = match rng.chance(0.2) {
        true => String::new(),
        false => text_up_to(rng, CLOUD_CUSTOM_DATA_BYTES),
    };
    values.online_only = rng.chance(0.5);
    let keys = match rng.weighted(&[6, 4]) {
        0 => 1,
        _ => rng.between(2, 20) as usize,
    };
    values.msg_keys = (0..keys).map(|_| msg_key(rng)).collect();
    values.msg_time = msg_time(rng);
    let elements = match rng.weighted(&[5, 5]) {
        0 => 1,
        _ => rng.between(2, 5) as usize,
    };
    let elements = (0..elements).map(|_| element(rng)).collect();
    let (client_ip, other_ip) = (ip(rng), ip(rng));
    let platform = platform(rng);
    let other_platform = loop {
        let other = self::platform(rng);
        if other != platform {
            break other;
        }
    };
    Generated {
        callback,
        values,
        elements,
        client_ip,
        platform,
        other_ip,
        other_platform,
    }
}

/// A UserID: exactly 32 bytes, 1 byte, or anything between, of any Unicode.
fn user_id(rng: &mut Rng) -> String {
    let bytes = match rng.weighted(&[3, 1, 6]) {
        0 => MAX_USER_ID_BYTES,
        1 => 1,
        _ => rng.between(1, MAX_USER_ID_BYTES as u64) as usize,
    };
    unicode(rng, bytes)
}

/// Text of 1 to `max` bytes: often exactly `max`, often short.
fn text_up_to(rng: &mut Rng, max: usize) -> String {
    let bytes = match rng.weighted(&[3, 4, 3]) {
        0 => max,
        1 => rng.between(1, 16.min(max) as u64) as usize,
        _ => rng.between(1, max as u64) as usize,
    };
    unicode(rng, bytes)
}

/// Exactly `bytes` bytes of UTF-8: mostly ASCII, with punctuation that JSON and SQL escape,
/// two-, three- and four-byte characters, controls and the odd invisible one.
fn unicode(rng: &mut Rng, bytes: usize) -> String {
    const PUNCTUATION: &[char] = &[
        '"', '\\', '\'', '/', '<', '>', '&', '%', ' ', '#', '@', '_', '-', '.', ';', '`', '$', '{',
        '}', '[', ']', '+', '=', '?', '*', '|', '~', '!', ',', ':',
    ];
    const ODD: &[char] = &[
        '\u{0}', '\t', '\n', '\r', '\u{1b}', '\u{7f}', '\u{a0}', '\u{200b}', '\u{200d}',
        '\u{202e}', '\u{2028}', '\u{feff}', '\u{fffd}', '\u{ffff}',
    ];
    let mut text = String::with_capacity(bytes);
    while text.len() < bytes {
        let left = bytes - text.len();
        let c = match rng.weighted(&[50, 15, 10, 12, 8, 3]) {
            0 => alphanumeric(rng),
            1 => *rng.pick(PUNCTUATION),
            // Latin, Greek, Cyrillic, Hebrew, Arabic: two bytes.
            2 => char::from_u32(rng.between(0xC0, 0x6FF) as u32).unwrap_or('é'),
            // CJK and the rest of the BMP's letters: three bytes.
            3 => char::from_u32(rng.between(0x4E00, 0x9FFF) as u32).unwrap_or('中'),
            // Emoji and other astral characters: four bytes.
            4 => char::from_u32(rng.between(0x1_F300, 0x1_FAFF) as u32).unwrap_or('🙂'),
            _ => *rng.pick(ODD),
        };
        text.push(if c.len_utf8() <= left {
            c
        } else {
            alphanumeric(rng)
        });
    }
    text
}

fn alphanumeric(rng: &mut Rng) -> char {
    const ALPHANUMERIC: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    char::from(*rng.pick(ALPHANUMERIC))
}

/// Printable ASCII, as custom Official Account IDs are.
fn printable(rng: &mut Rng, bytes: usize) -> String {
    (0..bytes)
        .map(|_| char::from(rng.between(0x21, 0x7E) as u8))
        .collect()
}

/// `@TOA#_` and printable ASCII, 7 to 48 bytes in all.
fn official_account(rng: &mut Rng) -> String {
    let prefix = OFFICIAL_ACCOUNT_PREFIX.len();
    let bytes = match rng.weighted(&[3, 1, 6]) {
        0 => MAX_OFFICIAL_ACCOUNT_BYTES,
        1 => prefix + 1,
        _ => rng.between(prefix as u64 + 1, MAX_OFFICIAL_ACCOUNT_BYTES as u64) as usize,
    };
    format!(
        "{OFFICIAL_ACCOUNT_PREFIX}{}",
        printable(rng, bytes - prefix)
    )
}

/// A URL of up to 500 bytes.
fn face_url(rng: &mut Rng) -> String {
    const SCHEME: &str = "https://";
    let bytes = match rng.weighted(&[3, 7]) {
        0 => MAX_FACE_URL_BYTES,
        _ => rng.between(SCHEME.len() as u64 + 1, 80) as usize,
    };
    format!("{SCHEME}{}", printable(rng, bytes - SCHEME.len()))
}

/// 1 to 100 subscribers: one, a hundred, two, or anything between; now and then someone named
/// twice.
fn subscribers(rng: &mut Rng) -> Vec<String> {
    let count = match rng.weighted(&[3, 2, 2, 3]) {
        0 => 1,
        1 => MAX_SUBSCRIBERS_PER_CALL,
        2 => 2,
        _ => rng.between(1, MAX_SUBSCRIBERS_PER_CALL as u64) as usize,
    };
    let mut users: Vec<String> = (0..count).map(|_| user_id(rng)).collect();
    if count > 1 && rng.chance(0.2) {
        for _ in 0..rng.between(1, 3) {
            let from = rng.below(count as u64) as usize;
            let to = rng.below(count as u64) as usize;
            users[to] = users[from].clone();
        }
    }
    users
}

/// EventTime anywhere in the 64 bits Chat can send, at the edges often: 0, seconds read as
/// milliseconds, 13 digits, the largest integer.
fn event_time(rng: &mut Rng) -> i64 {
    const EDGES: &[i64] = &[
        0,
        1,
        99_999_999_999,
        100_000_000_000,
        1_670_574_414_123,
        9_999_999_999_999,
        10_000_000_000_000,
        i64::MAX - 1,
        i64::MAX,
    ];
    match rng.weighted(&[4, 3, 3]) {
        0 => *rng.pick(EDGES),
        1 => rng.between(1_000_000_000_000, 9_999_999_999_999) as i64,
        _ => rng.between(0, i64::MAX as u64) as i64,
    }
}

/// MsgTime, seconds, anywhere in the 64 bits.
fn msg_time(rng: &mut Rng) -> i64 {
    const EDGES: &[i64] = &[0, 1, 1_490_686_222, u32::MAX as i64, i64::MAX];
    match rng.weighted(&[4, 3, 3]) {
        0 => *rng.pick(EDGES),
        1 => rng.between(1_000_000_000, 9_999_999_999) as i64,
        _ => rng.between(0, i64::MAX as u64) as i64,
    }
}

/// A message key, as Chat's `71_1_1698741698`, or anything printable.
fn msg_key(rng: &mut Rng) -> String {
    match rng.weighted(&[7, 3]) {
        0 => format!(
            "{}_{}_{}",
            rng.below(1000),
            rng.below(100),
            rng.between(1_000_000_000, 9_999_999_999)
        ),
        _ => {
            let bytes = rng.between(1, 64) as usize;
            printable(rng, bytes)
        }
    }
}

/// An element of `MsgBody`, of any of the kinds Chat's messages carry, as its docs lay out
/// their contents.
fn element(rng: &mut Rng) -> MessageElement {
    let text = |rng: &mut Rng| text_up_to(rng, ELEMENT_TEXT_BYTES);
    let url = |rng: &mut Rng| face_url(rng);
    let uuid = |rng: &mut Rng| printable(rng, 32);
    let size = |rng: &mut Rng| rng.below(100 << 20);
    let (kind, content) = match rng.weighted(&[4, 1, 1, 2, 1, 1, 1, 1]) {
        0 => ("TIMTextElem", json!({ "Text": text(rng) })),
        1 => (
            "TIMLocationElem",
            json!({
                "Desc": text(rng),
                "Latitude": rng.unit() * 180.0 - 90.0,
                "Longitude": rng.unit() * 360.0 - 180.0,
            }),
        ),
        2 => (
            "TIMFaceElem",
            json!({ "Index": rng.below(1000), "Data": text(rng) }),
        ),
        3 => (
            "TIMCustomElem",
            json!({ "Data": text(rng), "Desc": text(rng), "Ext": text(rng), "Sound": text(rng) }),
        ),
        4 => (
            "TIMSoundElem",
            json!({
                "Url": url(rng), "UUID": uuid(rng), "Size": size(rng),
                "Second": rng.below(60), "Download_Flag": 2,
            }),
        ),
        5 => {
            let image = |rng: &mut Rng, kind: u64| {
                json!({
                    "Type": kind, "Size": size(rng), "Width": rng.below(4096),
                    "Height": rng.below(4096), "URL": url(rng),
                })
            };
            (
                "TIMImageElem",
                json!({
                    "UUID": uuid(rng),
                    "ImageFormat": rng.between(1, 255),
                    "ImageInfoArray": [image(rng, 1), image(rng, 2), image(rng, 3)],
                }),
            )
        }
        6 => (
            "TIMFileElem",
            json!({
                "Url": url(rng), "UUID": uuid(rng), "FileSize": size(rng),
                "FileName": text(rng), "Download_Flag": 2,
            }),
        ),
        _ => (
            "TIMVideoFileElem",
            json!({
                "VideoUrl": url(rng), "VideoUUID": uuid(rng), "VideoSize": size(rng),
                "VideoSecond": rng.below(600), "VideoFormat": "mp4", "VideoDownloadFlag": 2,
                "ThumbUrl": url(rng), "ThumbUUID": uuid(rng), "ThumbSize": size(rng),
                "ThumbWidth": rng.below(4096), "ThumbHeight": rng.below(4096),
                "ThumbFormat": "JPG", "ThumbDownloadFlag": 2,
            }),
        ),
    };
    let msg_content = match content {
        Value::Object(content) => content,
        _ => Map::new(),
    };
    MessageElement {
        msg_type: kind.to_owned(),
        msg_content,
    }
}

/// An IPv4 address (loopback, private, public) or now and then an IPv6 one.
fn ip(rng: &mut Rng) -> IpAddr {
    match rng.weighted(&[8, 2]) {
        0 => IpAddr::V4(Ipv4Addr::from(rng.next_u64() as u32)),
        _ => IpAddr::V6(Ipv6Addr::from(
            (u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64()),
        )),
    }
}

/// One of the documented OptPlatform values, or the English docs' `macOS`.
fn platform(rng: &mut Rng) -> &'static str {
    match rng.weighted(&[9, 1]) {
        0 => rng.pick::<&str>(PLATFORMS),
        _ => "macOS",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Callback, Inbound, ReceivedQuery, Receiver};
    use std::time::Duration;

    #[test]
    fn the_same_seed_command_and_number_give_the_same_callback() {
        let callback = Callback::find("before-subscribe").unwrap();
        let first = generate(7, callback, 3);
        assert_eq!(first, generate(7, callback, 3));
        assert_ne!(first, generate(7, callback, 4));
        assert_ne!(first, generate(8, callback, 3));
        let after = Callback::find("after-subscribe").unwrap();
        assert_ne!(first.values, generate(7, after, 3).values);
    }

    #[test]
    fn text_has_exactly_the_bytes_asked_for() {
        let mut rng = Rng::draw(1, 2, 3);
        for bytes in [1, 2, 3, 4, 5, 31, 32, 150, 500] {
            for _ in 0..50 {
                assert_eq!(unicode(&mut rng, bytes).len(), bytes);
            }
        }
    }

    /// Everything generated is within the documented limits, reaches their edges, and is a
    /// callback serve takes: answered, never refused as malformed.
    #[test]
    fn generated_callbacks_are_within_and_at_the_limits_and_valid() {
        let receiver = Receiver {
            sdk_appid: None,
            token: None,
            max_skew: Duration::from_secs(60),
        };
        let mut longest_user = 0;
        let mut most_subscribers = 0;
        let mut repeated = false;
        let mut largest_time = 0;
        for callback in CALLBACKS {
            for index in 0..300 {
                let g = generate(11, callback, index);
                let v = &g.values;
                for user in v
                    .subscribers
                    .iter()
                    .chain([&v.operator_account, &v.owner_account])
                {
                    assert!((1..=MAX_USER_ID_BYTES).contains(&user.len()), "{user:?}");
                    longest_user = longest_user.max(user.len());
                }
                assert!((1..=MAX_SUBSCRIBERS_PER_CALL).contains(&v.subscribers.len()));
                most_subscribers = most_subscribers.max(v.subscribers.len());
                let mut distinct = v.subscribers.clone();
                distinct.sort();
                distinct.dedup();
                repeated |= distinct.len() < v.subscribers.len();
                assert!(v.official_account.len() <= MAX_OFFICIAL_ACCOUNT_BYTES);
                assert!(v.official_account.starts_with(OFFICIAL_ACCOUNT_PREFIX));
                assert!(v.name.len() <= MAX_NAME_BYTES && v.face_url.len() <= MAX_FACE_URL_BYTES);
                assert!(v.event_time >= 0);
                largest_time = largest_time.max(v.event_time);
                assert_ne!(g.platform, g.other_platform);
                let query = g
                    .url(&url::Url::parse("http://h/im").unwrap(), 1, None)
                    .query()
                    .unwrap_or_default()
                    .to_owned();
                let query = ReceivedQuery::parse(&query);
                let body = g.body_bytes();
                let inbound = Inbound {
                    method: "POST",
                    query: &query,
                    body: &body,
                };
                let received = receiver.receive(inbound, 0);
                assert!(
                    received.verdict.is_ok(),
                    "{}: {:?}",
                    String::from_utf8_lossy(&body),
                    received.verdict.err()
                );
            }
        }
        assert_eq!(longest_user, MAX_USER_ID_BYTES);
        assert_eq!(most_subscribers, MAX_SUBSCRIBERS_PER_CALL);
        assert!(repeated);
        assert_eq!(largest_time, i64::MAX);
    }

    #[test]
    fn every_kind_of_element_is_generated() {
        let mut rng = Rng::draw(3, 0, 0);
        let mut kinds: Vec<String> = (0..500).map(|_| element(&mut rng).msg_type).collect();
        kinds.sort();
        kinds.dedup();
        assert_eq!(kinds.len(), 8, "{kinds:?}");
    }
}
