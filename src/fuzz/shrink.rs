//! Simpler versions of a generated callback, for shrinking one that failed to the least that
//! still fails: fewer subscribers and elements, shorter and plainer texts, the sample's values
//! for the rest. Each stays within the documented limits (a subscriber at least, IDs of a
//! character at least), so that what is left is still a callback Chat could send. A plainer
//! text keeps its length in bytes (a character becomes as many `a`s as it has bytes): a flaw
//! that needs a UserID of 32 bytes keeps one.

use super::Generated;
use crate::protocol::{EventValue, Kind, MessageElement, OFFICIAL_ACCOUNT_PREFIX};
use std::net::{IpAddr, Ipv4Addr};

/// The sample's EventTime and MsgTime (Tencent's), which a shrunk callback falls back to.
const EVENT_TIME: i64 = 1_670_574_414_123;
const MSG_TIME: i64 = 1_490_686_222;

/// Simpler versions of `g`, the boldest first; none equal to it.
pub(crate) fn candidates(g: &Generated) -> Vec<Generated> {
    let carries = |value| g.callback.body.carries(value);
    let mut out = Vec::new();
    let mut push = |candidate: Generated| {
        if candidate != *g {
            out.push(candidate);
        }
    };
    // Fewer.
    if carries(EventValue::Subscribers) {
        for fewer in lists(&g.values.subscribers, 1) {
            push(with(g, |c| c.values.subscribers = fewer));
        }
    }
    if carries(EventValue::Texts) {
        for fewer in lists(&g.elements, 1) {
            push(with(g, |c| c.elements = fewer));
        }
    }
    if carries(EventValue::WithdrawnMsgKeys) {
        for fewer in lists(&g.values.msg_keys, 1) {
            push(with(g, |c| c.values.msg_keys = fewer));
        }
    }
    // Plainer elements: text instead of any other kind.
    for (i, element) in g.elements.iter().enumerate() {
        if carries(EventValue::Texts) && element.msg_type != "TIMTextElem" {
            push(with(g, |c| c.elements[i] = MessageElement::text("a")));
        }
    }
    // Shorter, then plainer, texts.
    for shorter in [true, false] {
        for field in texts_of(g) {
            for text in texts(field.get(g), field.min, shorter) {
                push(with(g, |c| field.set(c, text)));
            }
        }
    }
    // The sample's values.
    push(with(g, |c| c.values.event_time = EVENT_TIME));
    if carries(EventValue::MsgTime) {
        push(with(g, |c| c.values.msg_time = MSG_TIME));
    }
    if carries(EventValue::OnlineOnly) {
        push(with(g, |c| c.values.online_only = true));
    }
    let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
    push(with(g, |c| c.client_ip = loopback));
    push(with(g, |c| c.platform = "RESTAPI"));
    if g.callback.kind == Kind::Before {
        // A variant that differs in the order of the subscribers alone.
        push(with(g, |c| c.other_ip = c.client_ip));
        push(with(g, |c| c.other_platform = c.platform));
    }
    out
}

fn with(g: &Generated, change: impl FnOnce(&mut Generated)) -> Generated {
    let mut candidate = g.clone();
    change(&mut candidate);
    candidate
}

/// One text of a callback's body, and the fewest characters it may have.
#[derive(Clone, Copy)]
struct Text {
    at: At,
    min: usize,
}

#[derive(Clone, Copy)]
enum At {
    OfficialAccount,
    Operator,
    Owner,
    Name,
    Introduction,
    FaceUrl,
    Organization,
    CloudCustomData,
    Subscriber(usize),
    MsgKey(usize),
    /// The `Text` of the element of `MsgBody` at this index.
    ElementText(usize),
}

impl Text {
    fn get(self, g: &Generated) -> &str {
        let v = &g.values;
        match self.at {
            // The prefix stays: shrinking works on what follows it.
            At::OfficialAccount => v
                .official_account
                .strip_prefix(OFFICIAL_ACCOUNT_PREFIX)
                .unwrap_or(&v.official_account),
            At::Operator => &v.operator_account,
            At::Owner => &v.owner_account,
            At::Name => &v.name,
            At::Introduction => &v.introduction,
            At::FaceUrl => &v.face_url,
            At::Organization => &v.organization,
            At::CloudCustomData => &v.cloud_custom_data,
            At::Subscriber(i) => &v.subscribers[i],
            At::MsgKey(i) => &v.msg_keys[i],
            At::ElementText(i) => g.elements[i]
                .msg_content
                .get("Text")
                .and_then(|t| t.as_str())
                .unwrap_or_default(),
        }
    }

    fn set(self, g: &mut Generated, text: String) {
        let v = &mut g.values;
        match self.at {
            At::OfficialAccount => v.official_account = format!("{OFFICIAL_ACCOUNT_PREFIX}{text}"),
            At::Operator => v.operator_account = text,
            At::Owner => v.owner_account = text,
            At::Name => v.name = text,
            At::Introduction => v.introduction = text,
            At::FaceUrl => v.face_url = text,
            At::Organization => v.organization = text,
            At::CloudCustomData => v.cloud_custom_data = text,
            At::Subscriber(i) => v.subscribers[i] = text,
            At::MsgKey(i) => v.msg_keys[i] = text,
            At::ElementText(i) => g.elements[i] = MessageElement::text(&text),
        }
    }
}

/// The texts `g`'s body carries.
fn texts_of(g: &Generated) -> Vec<Text> {
    let carries = |value| g.callback.body.carries(value);
    let one = |at| Text { at, min: 1 };
    let mut texts = Vec::new();
    for (value, at) in [
        (EventValue::OfficialAccount, At::OfficialAccount),
        (EventValue::Operator, At::Operator),
        (EventValue::Owner, At::Owner),
        (EventValue::Name, At::Name),
        (EventValue::Introduction, At::Introduction),
        (EventValue::FaceUrl, At::FaceUrl),
        (EventValue::Organization, At::Organization),
    ] {
        if carries(value) {
            texts.push(one(at));
        }
    }
    if carries(EventValue::CloudCustomData) {
        texts.push(Text {
            at: At::CloudCustomData,
            min: 0,
        });
    }
    if carries(EventValue::Subscribers) {
        texts.extend((0..g.values.subscribers.len()).map(|i| one(At::Subscriber(i))));
    }
    if carries(EventValue::MsgKey) || carries(EventValue::WithdrawnMsgKeys) {
        let keys = if carries(EventValue::MsgKey) {
            1.min(g.values.msg_keys.len())
        } else {
            g.values.msg_keys.len()
        };
        texts.extend((0..keys).map(|i| one(At::MsgKey(i))));
    }
    if carries(EventValue::Texts) {
        texts.extend(
            g.elements
                .iter()
                .enumerate()
                .filter(|(_, e)| e.msg_type == "TIMTextElem")
                .map(|(i, _)| one(At::ElementText(i))),
        );
    }
    texts
}

/// The sizes of the pieces to take out of (or make plain in) `n` things: half of them, a
/// quarter, ..., one.
fn pieces(n: usize) -> Vec<usize> {
    let mut sizes = Vec::new();
    let mut size = n / 2;
    while size > 1 {
        sizes.push(size);
        size /= 2;
    }
    if n > 0 {
        sizes.push(1);
    }
    sizes
}

/// `items` with a piece taken out, at least `min` left: the biggest pieces first.
fn lists<T: Clone>(items: &[T], min: usize) -> Vec<Vec<T>> {
    let mut out = Vec::new();
    for size in pieces(items.len()) {
        for start in (0..items.len()).step_by(size) {
            let end = (start + size).min(items.len());
            if items.len() - (end - start) >= min {
                out.push([&items[..start], &items[end..]].concat());
            }
        }
    }
    out
}

/// `text` shorter (`shorter`), of at least `min` characters, or plainer: pieces of it made of
/// `a`s, each character as many as it has bytes.
fn texts(text: &str, min: usize, shorter: bool) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    if shorter {
        return lists(&chars, min)
            .into_iter()
            .map(|c| c.into_iter().collect())
            .collect();
    }
    let mut out = Vec::new();
    for size in pieces(chars.len()) {
        for start in (0..chars.len()).step_by(size) {
            let end = (start + size).min(chars.len());
            if chars[start..end].iter().all(|c| *c == 'a') {
                continue;
            }
            let plainer = chars
                .iter()
                .enumerate()
                .fold(String::new(), |mut s, (i, c)| {
                    if (start..end).contains(&i) {
                        s.extend(std::iter::repeat_n('a', c.len_utf8()));
                    } else {
                        s.push(*c);
                    }
                    s
                });
            out.push(plainer);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzz::generate::generate;
    use crate::protocol::{CALLBACKS, Callback, MAX_USER_ID_BYTES};

    #[test]
    fn pieces_halve_down_to_one() {
        assert_eq!(pieces(10), [5, 2, 1]);
        assert_eq!(pieces(1), [1]);
        assert!(pieces(0).is_empty());
        assert_eq!(lists(&[1, 2, 3], 1)[0], [2, 3]);
        assert!(lists(&[1], 1).is_empty());
    }

    #[test]
    fn plainer_text_keeps_its_bytes_and_shorter_text_its_minimum() {
        let plain = texts("é中🙂x", 1, false);
        assert_eq!(plain[0], "aaaaa🙂x");
        assert!(plain.iter().all(|t| t.len() == "é中🙂x".len()));
        assert!(plain.contains(&"é中🙂a".to_owned()));
        assert!(texts("aaa", 1, false).is_empty());
        let short = texts("abcd", 3, true);
        assert!(short.iter().all(|t| t.chars().count() == 3));
        assert!(texts("a", 1, true).is_empty());
    }

    /// Shrinking by a property that needs one subscriber of 32 bytes ends at one, of `a`s.
    #[test]
    fn greedy_shrinking_ends_at_the_least_that_still_fails() {
        let callback = Callback::find("before-subscribe").unwrap();
        let fails = |g: &Generated| {
            g.values
                .subscribers
                .iter()
                .any(|u| u.len() == MAX_USER_ID_BYTES)
        };
        let mut g = (0..)
            .map(|i| generate(5, callback, i))
            .find(|g| fails(g) && g.values.subscribers.len() > 10)
            .unwrap();
        'shrink: loop {
            for candidate in candidates(&g) {
                if fails(&candidate) {
                    g = candidate;
                    continue 'shrink;
                }
            }
            break;
        }
        assert_eq!(g.values.subscribers, ["a".repeat(32)]);
        assert_eq!(g.values.operator_account, "a");
        assert_eq!(g.values.official_account, "@TOA#_a");
        assert_eq!(g.values.event_time, EVENT_TIME);
        assert_eq!(
            (g.client_ip.to_string().as_str(), g.platform),
            ("127.0.0.1", "RESTAPI")
        );
    }

    #[test]
    fn every_candidate_stays_within_the_limits() {
        for callback in CALLBACKS {
            let g = generate(9, callback, 1);
            for candidate in candidates(&g) {
                let v = &candidate.values;
                assert!(!v.subscribers.is_empty() && !candidate.elements.is_empty());
                assert!(v.subscribers.iter().all(|u| !u.is_empty()));
                assert!(v.official_account.len() > OFFICIAL_ACCOUNT_PREFIX.len());
                assert!(!v.operator_account.is_empty() && !v.name.is_empty());
            }
        }
    }
}
