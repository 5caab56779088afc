//! Speed kept at the edges: the value made from the latest key, reused while the key stays the
//! same. Under load a callback's work repeats: Chat signs every callback of one second alike,
//! and a backend (or serve's policy) gives the same few answers over and over. The engine that
//! pays for the repeat (serve's handler, a load worker) holds a memo; `protocol` stays pure
//! functions.

use crate::protocol::{BUDGET, Callback, Reply};
use std::sync::Mutex;

/// The latest key asked for and the value made from it. A kept value is the one `make` would
/// give again for the same key, so reusing it changes nothing but the time taken.
#[derive(Debug)]
pub(crate) struct Memo<K, V> {
    kept: Option<(K, V)>,
}

impl<K, V> Default for Memo<K, V> {
    fn default() -> Self {
        Memo { kept: None }
    }
}

impl<K, V> Memo<K, V> {
    /// The kept value when `same` says its key is the one asked for; else the value `make`
    /// gives, kept in its place under the key `key` gives.
    pub(crate) fn get(
        &mut self,
        same: impl FnOnce(&K) -> bool,
        key: impl FnOnce() -> K,
        make: impl FnOnce() -> V,
    ) -> &V {
        let kept = match self.kept.take() {
            Some(kept) if same(&kept.0) => kept,
            _ => (key(), make()),
        };
        &self.kept.insert(kept).1
    }
}

/// A [`Memo`] that request handlers running at once share. It never makes one wait for
/// another: while one uses it, the others make their value afresh.
#[derive(Debug)]
pub(crate) struct Shared<K, V>(Mutex<Memo<K, V>>);

impl<K, V> Default for Shared<K, V> {
    fn default() -> Self {
        Shared(Mutex::new(Memo::default()))
    }
}

impl<K, V: Clone> Shared<K, V> {
    /// [`Memo::get`], by value; while another handler holds the memo, the value is made
    /// afresh and its key is not built at all.
    pub(crate) fn get(
        &self,
        same: impl FnOnce(&K) -> bool,
        key: impl FnOnce() -> K,
        make: impl FnOnce() -> V,
    ) -> V {
        match self.0.try_lock() {
            Ok(mut memo) => memo.get(same, key, make).clone(),
            Err(_) => make(),
        }
    }
}

/// What judging a reply depends on, as a memo keeps it: the callback (`None`: a command not
/// modelled), the subscribers it was sent with, and the reply but for its latency. `None` for a
/// reply past Chat's budget, which is judged on its latency too: it is never reused.
pub(crate) type Judged = Option<JudgedFrom>;

/// See [`Judged`].
#[derive(Debug)]
pub(crate) struct JudgedFrom {
    command: Option<&'static str>,
    subscribers: Vec<String>,
    status: u16,
    truncated: bool,
    body: Vec<u8>,
}

/// A reply to judge, as a memo's key is asked for: `memo.get(|kept| key.is(kept), || key.kept(),
/// || judging)`, where judging depends on nothing else.
#[derive(Clone, Copy)]
pub(crate) struct ReplyTo<'a> {
    pub(crate) callback: Option<&'a Callback>,
    pub(crate) subscribers: &'a [String],
    pub(crate) reply: Reply<'a>,
}

impl ReplyTo<'_> {
    /// The key a judgement of this reply is kept under.
    pub(crate) fn kept(&self) -> Judged {
        in_budget(self.reply).then(|| JudgedFrom {
            command: self.callback.map(|callback| callback.command),
            subscribers: self.subscribers.to_vec(),
            status: self.reply.status,
            truncated: self.reply.truncated,
            body: self.reply.body.to_vec(),
        })
    }

    /// Whether this reply is judged from exactly what `kept` was taken from.
    pub(crate) fn is(&self, kept: &Judged) -> bool {
        let (reply, Some(kept)) = (self.reply, kept) else {
            return false;
        };
        in_budget(reply)
            && kept.status == reply.status
            && kept.truncated == reply.truncated
            && kept.command == self.callback.map(|callback| callback.command)
            && kept.body == reply.body
            && kept.subscribers == self.subscribers
    }
}

/// Within Chat's budget: the latency then plays no part in the judgement.
fn in_budget(reply: Reply<'_>) -> bool {
    reply.latency.is_none_or(|latency| latency <= BUDGET)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{CALLBACKS, judge};
    use std::cell::Cell;
    use std::time::Duration;

    #[test]
    fn a_value_is_made_again_only_when_the_key_changes() {
        let made = Cell::new(0);
        let mut memo = Memo::default();
        let mut at = |time: u64| {
            *memo.get(
                |&kept| kept == time,
                || time,
                || {
                    made.set(made.get() + 1);
                    time * 10
                },
            )
        };
        assert_eq!([at(1), at(1), at(2), at(2), at(1)], [10, 10, 20, 20, 10]);
        assert_eq!(made.get(), 3);
    }

    #[test]
    fn a_shared_memo_in_use_makes_the_value_afresh() {
        let memo = Shared::default();
        assert_eq!(memo.get(|&k| k == 1, || 1, || "one"), "one");
        assert_eq!(memo.get(|&k| k == 1, || 1, || "made again"), "one");
        let held = memo.0.lock().unwrap();
        let keyed = Cell::new(false);
        let afresh = memo.get(|&k| k == 1, || keyed.replace(true).into(), || "afresh");
        assert_eq!(afresh, "afresh");
        assert!(!keyed.get(), "a busy memo builds no key it cannot keep");
        drop(held);
        assert_eq!(memo.get(|&k| k == 2, || 2, || "two"), "two");
    }

    #[test]
    fn a_kept_judgement_is_reused_only_where_a_fresh_one_is_the_same() {
        let by_name = |name| CALLBACKS.iter().find(|c| c.name == name).unwrap();
        let (callback, other) = (by_name("before-subscribe"), by_name("after-unsubscribe"));
        let users = vec!["jared".to_owned(), "leckie".to_owned()];
        let others = vec!["jared".to_owned(), "anna".to_owned()];
        let refuse = br#"{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0,"RefusedSubscribers_Account":["jared"]}"#;
        let ok = br#"{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}"#;
        // (callback, subscribers, status, body, truncated, latency in ms, judged afresh)
        type Case<'a> = (&'a Callback, &'a [String], u16, &'a [u8], bool, u64, bool);
        let replies: [Case<'_>; 12] = [
            (callback, &users, 200, ok, false, 1, true),
            (callback, &users, 200, ok, false, 2, false),
            (callback, &users, 200, refuse, false, 1, true),
            (callback, &others, 200, refuse, false, 1, true),
            (other, &others, 200, refuse, false, 1, true),
            (other, &others, 500, refuse, false, 1, true),
            (other, &others, 500, refuse, true, 1, true),
            (other, &others, 500, refuse, true, 1, false),
            (callback, &users, 200, ok, false, 2100, true),
            (callback, &users, 200, ok, false, 2900, true),
            (callback, &users, 200, ok, false, 1, true),
            (callback, &users, 200, ok, false, 1, false),
        ];
        let mut memo = Memo::default();
        for (i, (callback, subscribers, status, body, truncated, ms, afresh)) in
            replies.into_iter().enumerate()
        {
            let reply = Reply {
                status,
                body,
                truncated,
                latency: Some(Duration::from_millis(ms)),
            };
            let judged = Cell::new(false);
            let key = ReplyTo {
                callback: Some(callback),
                subscribers,
                reply,
            };
            let kept = memo.get(
                |kept| key.is(kept),
                || key.kept(),
                || {
                    judged.set(true);
                    judge(callback, subscribers, reply)
                },
            );
            assert_eq!(kept, &judge(callback, subscribers, reply), "reply {i}");
            assert_eq!(judged.get(), afresh, "reply {i} judged afresh");
        }
    }
}
