//! Callbacks generated within and at the edges of the documented limits, for `check --fuzz`
//! (`generate`), made simpler while they still fail (`shrink`), and what a user pastes to see
//! the failure again (`reproduce`). Pure but for the writing of a body file; the engine that
//! sends them and judges the answers is `crate::check::fuzz`.

pub(crate) mod generate;
pub(crate) mod reproduce;
pub(crate) mod shrink;

use crate::protocol::{
    Callback, CallbackQuery, EventValue, EventValues, MessageElement, build_body,
};
use serde_json::Value;
use std::net::IpAddr;
use url::Url;

/// One generated callback: its command, the values of its body, and its query's.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Generated {
    pub callback: &'static Callback,
    /// The body's values; those of fields the command's body lacks are left as they are.
    pub values: EventValues,
    /// `MsgBody`, of any kind of element (before-send, after-send).
    pub elements: Vec<MessageElement>,
    pub client_ip: IpAddr,
    pub platform: &'static str,
    /// The ClientIP and OptPlatform of the variant its decision is compared with (see
    /// [`Generated::variant`]).
    pub other_ip: IpAddr,
    pub other_platform: &'static str,
}

impl Generated {
    /// The body, as Chat sends it.
    pub(crate) fn body(&self) -> Value {
        let mut body = build_body(self.callback, &self.values);
        if self.callback.body.carries(EventValue::Texts)
            && let Some(slot) = body.get_mut("MsgBody")
        {
            *slot = serde_json::to_value(&self.elements).unwrap_or_default();
        }
        body
    }

    /// The body as sent: compact JSON.
    pub(crate) fn body_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&self.body()).unwrap_or_default()
    }

    /// The same callback with its subscribers in another order, and the other ClientIP and
    /// OptPlatform: what must not change a decision.
    pub(crate) fn variant(&self) -> Generated {
        let mut variant = self.clone();
        variant.values.subscribers = reordered(&self.values.subscribers);
        variant.client_ip = self.other_ip;
        variant.platform = self.other_platform;
        variant
    }

    /// The URL it is sent to on `base`, for `sdkappid`, with `signature` (Sign and
    /// RequestTime) when webhook authentication is on.
    pub(crate) fn url(&self, base: &Url, sdkappid: u64, signature: Option<(String, u64)>) -> Url {
        CallbackQuery {
            sdk_appid: sdkappid,
            callback_command: self.callback.command.to_owned(),
            client_ip: self.client_ip.to_string(),
            opt_platform: self.platform.to_owned(),
            signature,
        }
        .append_to(base)
    }
}

/// `users` in another order: reversed, or turned by one where reversing changes nothing.
fn reordered(users: &[String]) -> Vec<String> {
    let mut reversed: Vec<String> = users.iter().rev().cloned().collect();
    if reversed == users {
        let turn = 1.min(reversed.len());
        reversed.rotate_left(turn);
    }
    reversed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_variant_has_the_subscribers_in_another_order() {
        let users = |list: &[&str]| list.iter().map(|u| (*u).to_owned()).collect::<Vec<_>>();
        assert_eq!(reordered(&users(&["a", "b", "c"])), users(&["c", "b", "a"]));
        assert_eq!(reordered(&users(&["a", "b", "a"])), users(&["b", "a", "a"]));
        assert_eq!(reordered(&users(&["a"])), users(&["a"]));
        assert!(reordered(&[]).is_empty());
    }
}
