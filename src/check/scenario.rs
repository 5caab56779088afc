//! The team's own rules, `[[scenario]]` in the config file: each one case.

use super::{Outcome, Suite};
use crate::client::TransportError;
use crate::config::Scenario;
use crate::expect::Expectation;
use crate::protocol::Finding;
use crate::request::{Event, Template};

impl Suite {
    /// A team's rule: its callback gets a conforming answer, and the decision it expects.
    pub(super) async fn scenario(
        &mut self,
        scenario: &Scenario,
    ) -> Result<Outcome, TransportError> {
        let event = merged(&self.event, scenario);
        let body = scenario.body.as_deref();
        let template = match Template::new(
            scenario.callback(),
            &self.base,
            &event,
            body,
            self.token.as_deref(),
            self.clock.now_ms(),
        ) {
            Ok(template) => template,
            Err(e) => {
                let finding = Finding::error("invalid-scenario", "scenario", e.message);
                return Ok(Outcome::found(finding, None));
            }
        };
        let expectation = Expectation {
            outcome: scenario.expect.map(Into::into),
            refused: scenario.expect_refused.clone(),
        };
        self.answer(&template, &expectation).await
    }
}

/// The event a scenario sends: each key it sets in place of the one given to `check`, and the
/// keys it sets noted as given, so that one its command's body lacks is refused.
fn merged(base: &Event, scenario: &Scenario) -> Event {
    Event {
        official_account: or(&scenario.official_account, &base.official_account),
        operator: or(&scenario.operator, &base.operator),
        subscribers: list_or(&scenario.subscribers, &base.subscribers),
        platform: (scenario.platform.as_ref())
            .unwrap_or(&base.platform)
            .clone(),
        client_ip: scenario.client_ip.unwrap_or(base.client_ip),
        event_time: scenario.event_time.or(base.event_time),
        owner: or(&scenario.owner, &base.owner),
        name: or(&scenario.account_name, &base.name),
        introduction: or(&scenario.introduction, &base.introduction),
        face_url: or(&scenario.face_url, &base.face_url),
        organization: or(&scenario.organization, &base.organization),
        texts: list_or(&scenario.text, &base.texts),
        cloud_custom_data: or(&scenario.cloud_custom_data, &base.cloud_custom_data),
        online_only: scenario.online_only.or(base.online_only),
        msg_keys: list_or(&scenario.msg_key, &base.msg_keys),
        msg_time: scenario.msg_time.or(base.msg_time),
        // A key the scenario sets for a field its command's body lacks is a mistake, said
        // as for an option on the command line.
        given: scenario.given(),
        ..base.clone()
    }
}

/// The scenario's value if it sets one, else the one given to `check`.
fn or<T: Clone>(set: &Option<T>, given: &Option<T>) -> Option<T> {
    set.as_ref().or(given.as_ref()).cloned()
}

/// The scenario's list if it sets one (not empty), else the one given to `check`.
fn list_or(set: &[String], given: &[String]) -> Vec<String> {
    if set.is_empty() { given } else { set }.to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn given_to_check() -> Event {
        Event {
            sdkappid: 1400000000,
            official_account: Some("@TOA#_given".into()),
            operator: Some("admin".into()),
            subscribers: vec!["jared".into()],
            owner: None,
            name: None,
            introduction: None,
            face_url: None,
            organization: None,
            texts: Vec::new(),
            cloud_custom_data: None,
            online_only: None,
            msg_keys: Vec::new(),
            msg_time: None,
            event_time: Some(1700000000000),
            client_ip: "127.0.0.1".parse().unwrap(),
            platform: "Web".into(),
            given: vec!["operator".into()],
        }
    }

    fn scenario(toml: &str) -> Scenario {
        toml::from_str(&format!(
            "name = \"vip\"\ncommand = \"before-subscribe\"\n{toml}"
        ))
        .unwrap()
    }

    #[test]
    fn a_scenario_key_replaces_the_one_given_and_is_noted_as_given() {
        let base = given_to_check();
        let event = merged(
            &base,
            &scenario("subscribers = [\"leckie\", \"ron\"]\nplatform = \"iOS\""),
        );
        assert_eq!(event.subscribers, ["leckie", "ron"]);
        assert_eq!(event.platform, "iOS");
        assert_eq!(event.given, ["subscribers"]);
    }

    #[test]
    fn what_a_scenario_leaves_out_is_what_check_was_given() {
        let base = given_to_check();
        let event = merged(&base, &scenario(""));
        assert_eq!(event.official_account, base.official_account);
        assert_eq!(event.operator, base.operator);
        assert_eq!(event.subscribers, base.subscribers);
        assert_eq!(event.event_time, base.event_time);
        assert_eq!(event.sdkappid, base.sdkappid);
        assert_eq!(event.platform, base.platform);
        // The options given to check are not the scenario's: its own keys alone are checked
        // against its command's body.
        assert!(event.given.is_empty());
    }
}
