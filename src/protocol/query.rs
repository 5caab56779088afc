//! The query string Chat appends to the configured URL.

use std::borrow::Cow;
use url::Url;

/// Query parameter names, spelled as on the wire (note `SdkAppid`).
pub mod param {
    pub const SDK_APPID: &str = "SdkAppid";
    pub const CALLBACK_COMMAND: &str = "CallbackCommand";
    pub const CONTENT_TYPE: &str = "contenttype";
    pub const CLIENT_IP: &str = "ClientIP";
    pub const OPT_PLATFORM: &str = "OptPlatform";
    pub const SIGN: &str = "Sign";
    pub const REQUEST_TIME: &str = "RequestTime";

    /// The parameters a query may carry only once: a backend that checks one copy while
    /// another copy is used could be fooled, so a repeat is refused.
    pub const SINGLE: [&str; 4] = [SIGN, REQUEST_TIME, SDK_APPID, CALLBACK_COMMAND];
}

/// The parameters of one callback, as Chat sends them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallbackQuery {
    pub sdk_appid: u64,
    pub callback_command: String,
    pub client_ip: String,
    pub opt_platform: String,
    /// `Sign` and `RequestTime`, present when webhook authentication is on.
    pub signature: Option<(String, u64)>,
}

impl CallbackQuery {
    /// The parameters in the documented order, `Sign` and `RequestTime` last.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = vec![
            (param::SDK_APPID, self.sdk_appid.to_string()),
            (param::CALLBACK_COMMAND, self.callback_command.clone()),
            (param::CONTENT_TYPE, "json".to_owned()),
            (param::CLIENT_IP, self.client_ip.clone()),
            (param::OPT_PLATFORM, self.opt_platform.clone()),
        ];
        if let Some((sign, request_time)) = &self.signature {
            pairs.push((param::SIGN, sign.clone()));
            pairs.push((param::REQUEST_TIME, request_time.to_string()));
        }
        pairs
    }

    /// `base` with these parameters appended after whatever query it already has.
    pub fn append_to(&self, base: &Url) -> Url {
        let mut url = base.clone();
        url.query_pairs_mut().extend_pairs(self.pairs());
        url
    }
}

/// A query string as received, read by parameter name and never by position. Names and values
/// borrow from the query unless they had to be percent-decoded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReceivedQuery<'a> {
    pairs: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

/// The pairs (name, value) of a query already split and decoded, in order.
impl<'a> FromIterator<(Cow<'a, str>, Cow<'a, str>)> for ReceivedQuery<'a> {
    fn from_iter<I: IntoIterator<Item = (Cow<'a, str>, Cow<'a, str>)>>(pairs: I) -> Self {
        ReceivedQuery {
            pairs: pairs.into_iter().collect(),
        }
    }
}

impl<'a> ReceivedQuery<'a> {
    /// Parses the part of a URL after `?` (percent-decoding names and values, as a form).
    pub fn parse(query: &'a str) -> Self {
        url::form_urlencoded::parse(query.as_bytes()).collect()
    }

    /// The first value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_ref())
    }

    /// How many times `name` appears (Chat sends each once).
    pub fn count(&self, name: &str) -> usize {
        self.pairs.iter().filter(|(k, _)| k == name).count()
    }

    /// The first of [`param::SINGLE`] that appears more than once, and how many times.
    pub fn repeated(&self) -> Option<(&'static str, usize)> {
        param::SINGLE
            .into_iter()
            .map(|name| (name, self.count(name)))
            .find(|&(_, times)| times > 1)
    }

    /// Every pair except `Sign` and `RequestTime`, for records that must not let anyone replay
    /// the request as it was signed.
    pub fn without_signature(&self) -> impl Iterator<Item = (&str, &str)> + Clone {
        self.pairs
            .iter()
            .filter(|(k, _)| k != param::SIGN && k != param::REQUEST_TIME)
            .map(|(k, v)| (k.as_ref(), v.as_ref()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(signature: Option<(String, u64)>) -> CallbackQuery {
        CallbackQuery {
            sdk_appid: 88888888,
            callback_command: "OfficialAccount.CallbackBeforeAddSubscriber".into(),
            client_ip: "127.0.0.1".into(),
            opt_platform: "RESTAPI".into(),
            signature,
        }
    }

    #[test]
    fn parameters_come_in_the_documented_order() {
        let base = Url::parse("https://www.example.com").unwrap();
        assert_eq!(
            query(None).append_to(&base).as_str(),
            "https://www.example.com/?SdkAppid=88888888&CallbackCommand=OfficialAccount.CallbackBeforeAddSubscriber&contenttype=json&ClientIP=127.0.0.1&OptPlatform=RESTAPI"
        );
        let signed = query(Some(("ab".into(), 1669872112)));
        assert!(
            signed
                .append_to(&base)
                .as_str()
                .ends_with("&OptPlatform=RESTAPI&Sign=ab&RequestTime=1669872112")
        );
    }

    #[test]
    fn an_existing_path_and_query_are_kept() {
        let base = Url::parse("http://127.0.0.1:3000/im/callback?tenant=a%20b").unwrap();
        let url = query(None).append_to(&base);
        assert_eq!(url.path(), "/im/callback");
        assert!(
            url.query()
                .unwrap()
                .starts_with("tenant=a%20b&SdkAppid=88888888&")
        );
    }

    #[test]
    fn received_parameters_are_read_by_name() {
        let q = ReceivedQuery::parse("Sign=AB&contenttype=json&SdkAppid=1400&Sign=cd&x=%40y");
        assert_eq!(q.get("SdkAppid"), Some("1400"));
        assert_eq!(q.get("Sign"), Some("AB"));
        assert_eq!(q.count("Sign"), 2);
        assert_eq!(q.repeated(), Some(("Sign", 2)));
        assert_eq!(
            ReceivedQuery::parse("SdkAppid=1&x=1&x=2&SdkAppid=1&SdkAppid=1").repeated(),
            Some(("SdkAppid", 3))
        );
        assert_eq!(ReceivedQuery::parse("x=1&x=2&Sign=a").repeated(), None);
        assert_eq!(q.get("x"), Some("@y"));
        assert_eq!(q.get("sdkappid"), None);
        assert_eq!(
            q.without_signature().collect::<Vec<_>>(),
            vec![("contenttype", "json"), ("SdkAppid", "1400"), ("x", "@y")]
        );
        assert_eq!(
            ReceivedQuery::parse("a=1&RequestTime=5&Sign=x&b=2")
                .without_signature()
                .collect::<Vec<_>>(),
            vec![("a", "1"), ("b", "2")]
        );
    }
}
