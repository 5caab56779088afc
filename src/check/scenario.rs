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
            outcome: scenario.expect,
            refused: scenario.expect_refused.clone(),
        };
        self.answer(&template, &expectation).await
    }
}

/// The event a scenario sends: each key it sets in place of the one given to `check`, and the
/// keys it sets noted as given, so that one its command's body lacks is refused.
fn merged(base: &Event, scenario: &Scenario) -> Event {
    Event {
        fields: base.fields.overlaid(&scenario.event),
        platform: (scenario.platform.as_ref())
            .unwrap_or(&base.platform)
            .clone(),
        client_ip: scenario.client_ip.unwrap_or(base.client_ip),
        event_time: scenario.event_time.or(base.event_time),
        // A key the scenario sets for a field its command's body lacks is a mistake, said
        // as for an option on the command line.
        given: scenario.event.options().collect(),
        ..base.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::{EVENT_OPTIONS, EventFields, EventOption, Given, SUBSCRIBER};

    fn option(long: &str) -> &'static EventOption {
        EVENT_OPTIONS.iter().find(|o| o.long == long).unwrap()
    }

    fn given_to_check() -> Event {
        Event {
            sdkappid: 1400000000,
            fields: EventFields::new(vec![
                (
                    option("official-account"),
                    Given::Text("@TOA#_given".into()),
                ),
                (option("operator"), Given::Text("admin".into())),
                (SUBSCRIBER, Given::Texts(vec!["jared".into()])),
            ]),
            event_time: Some(1700000000000),
            client_ip: "127.0.0.1".parse().unwrap(),
            platform: "Web".into(),
            given: vec![option("operator")],
        }
    }

    fn scenario(toml: &str, event: Vec<(&'static EventOption, Given)>) -> Scenario {
        let scenario: Scenario = toml::from_str(&format!(
            "name = \"vip\"\ncommand = \"before-subscribe\"\n{toml}"
        ))
        .unwrap();
        Scenario {
            event: EventFields::new(event),
            ..scenario
        }
    }

    #[test]
    fn a_scenario_key_replaces_the_one_given_and_is_noted_as_given() {
        let base = given_to_check();
        let subscribers = Given::Texts(vec!["leckie".into(), "ron".into()]);
        let event = merged(
            &base,
            &scenario(
                "platform = \"iOS\"",
                vec![(SUBSCRIBER, subscribers.clone())],
            ),
        );
        assert_eq!(event.fields.get(SUBSCRIBER), Some(&subscribers));
        assert_eq!(
            event.fields.get(option("operator")),
            base.fields.get(option("operator"))
        );
        assert_eq!(event.platform, "iOS");
        assert_eq!(event.given, [SUBSCRIBER]);
    }

    #[test]
    fn what_a_scenario_leaves_out_is_what_check_was_given() {
        let base = given_to_check();
        let event = merged(&base, &scenario("", Vec::new()));
        assert_eq!(event.fields, base.fields);
        assert_eq!(event.event_time, base.event_time);
        assert_eq!(event.sdkappid, base.sdkappid);
        assert_eq!(event.platform, base.platform);
        // The options given to check are not the scenario's: its own keys alone are checked
        // against its command's body.
        assert!(event.given.is_empty());
    }
}
