//! The cases of the suite: what each sends, the security and robustness lists, the callbacks
//! `--command` covers, and the choice `--only` and `--skip` make.

use super::delivery::{self, Delivery};
use super::fuzz;
use crate::config::Scenario;
use crate::protocol::{self, Callback, Kind, Veto};
use serde::Serialize;
use std::borrow::Cow;

/// One case of the suite.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Case {
    /// Stable: reports, `--only` and `--skip` use it.
    pub id: Cow<'static, str>,
    pub description: Cow<'static, str>,
    #[serde(skip)]
    pub(super) probe: Probe,
}

/// What a case sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Probe {
    Answer(&'static Callback),
    Batch(&'static Callback),
    Decision(&'static Callback),
    /// A forged, replayed or misdirected callback, beside a genuine one.
    Security(Forgery, &'static Callback),
    KeepAlive,
    MalformedBody,
    OtherCommand,
    /// The `[[scenario]]` of this index in the config file.
    Scenario(usize),
    /// What Chat's delivery does (protocol.md section 7), to this callback.
    Delivery(Delivery, &'static Callback),
    /// A property of the answers to generated callbacks (`--fuzz`).
    Fuzz(fuzz::Property),
}

/// How a security case forges its callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Forgery {
    WrongSdkAppid,
    MissingSdkAppid,
    BadSign,
    MissingSign,
    StaleRequestTime,
    FutureRequestTime,
    /// 90 s old, then 90 s ahead: past Tencent's guidance, within the 10 minutes above.
    Window,
}

impl Probe {
    /// Whether the case means something only with a Sign: the SdkAppid cases do not.
    pub(super) fn needs_token(self) -> bool {
        matches!(
            self,
            Probe::Security(forgery, _)
                if !matches!(forgery, Forgery::WrongSdkAppid | Forgery::MissingSdkAppid)
        )
    }
}

impl Case {
    pub(super) fn of(id: String, description: String, probe: Probe) -> Self {
        Case {
            id: Cow::Owned(id),
            description: Cow::Owned(description),
            probe,
        }
    }
}

/// The security cases: id, what is not accepted, how it is forged.
const FORGERIES: &[(&str, &str, Forgery)] = &[
    (
        "wrong-sdkappid",
        "a correctly signed callback for another SdkAppid is not accepted",
        Forgery::WrongSdkAppid,
    ),
    (
        "missing-sdkappid",
        "a correctly signed callback without the SdkAppid parameter is not accepted",
        Forgery::MissingSdkAppid,
    ),
    (
        "bad-sign",
        "a callback whose Sign was made with another token is not accepted",
        Forgery::BadSign,
    ),
    (
        "missing-sign",
        "a callback without Sign and RequestTime is not accepted",
        Forgery::MissingSign,
    ),
    (
        "stale-request-time",
        "a correctly signed callback with a RequestTime 10 minutes old is not accepted",
        Forgery::StaleRequestTime,
    ),
    (
        "future-request-time",
        "a correctly signed callback with a RequestTime 10 minutes ahead is not accepted",
        Forgery::FutureRequestTime,
    ),
    (
        "window",
        "a correctly signed callback with a RequestTime 90 s old, or 90 s ahead, is not accepted: Tencent's guidance is 1 minute (a warning otherwise)",
        Forgery::Window,
    ),
];

const ROBUSTNESS: &[(&str, &str, Probe)] = &[
    (
        "robustness/keep-alive",
        "20 callbacks on one persistent connection all get conforming answers (a warning if the backend closes it)",
        Probe::KeepAlive,
    ),
    (
        "robustness/malformed-body",
        "a body that is not JSON gets a timely answer that is not a 5xx",
        Probe::MalformedBody,
    ),
    (
        "robustness/other-command",
        "an authentic callback of another module (State.StateChange) gets 200 OK/0: Chat sends every callback of an app to one URL",
        Probe::OtherCommand,
    ),
];

/// Which callbacks the answer and the security cases cover (`--command`).
#[derive(Debug, Clone)]
pub(crate) struct Covered {
    /// Each gets an answer case (and a decision case, when it decides).
    pub answered: Vec<&'static Callback>,
    /// Each gets the security cases.
    pub secured: Vec<&'static Callback>,
    /// The whole family (`--command all`): the opt-in cases come too.
    pub all: bool,
    /// `--fuzz`: the fuzz cases come too.
    pub fuzz: bool,
}

impl Covered {
    /// `--command` as given; none is the two subscriber callbacks, and the security cases
    /// for before-subscribe alone, as before the family.
    pub(crate) fn new(commands: &[&'static Callback]) -> Self {
        if commands.is_empty() {
            let find = |name| Callback::find(name).unwrap_or(&protocol::CALLBACKS[0]);
            let before = find("before-subscribe");
            return Covered {
                answered: vec![before, find("after-unsubscribe")],
                secured: vec![before],
                all: false,
                fuzz: false,
            };
        }
        Covered {
            answered: commands.to_vec(),
            secured: commands.to_vec(),
            all: commands.len() == protocol::CALLBACKS.len(),
            fuzz: false,
        }
    }

    /// The callback the robustness cases send.
    pub(crate) fn first(&self) -> &'static Callback {
        self.answered
            .first()
            .copied()
            .unwrap_or(&protocol::CALLBACKS[0])
    }
}

/// The cases for `covered`: each callback's answer, batch and decision cases, the security
/// cases of each secured one (before-subscribe's named `security/<case>`, the others'
/// `security/<command>/<case>`), the robustness cases.
fn cases(covered: &Covered) -> Vec<Case> {
    let mut cases = Vec::new();
    for &callback in &covered.answered {
        let name = callback.name;
        cases.push(Case::of(
            format!("{name}/answer"),
            format!("a plain signed {name} callback gets a conforming answer within 2 s"),
            Probe::Answer(callback),
        ));
        if callback.veto == Some(Veto::Subscription) {
            cases.push(Case::of(
                format!("{name}/batch-100"),
                "a callback with 100 subscribers gets a conforming answer within 2 s".into(),
                Probe::Batch(callback),
            ));
        }
        if callback.kind == Kind::Before {
            cases.push(Case::of(
                format!("{name}/decision"),
                "the decision matches --expect / --expect-refused".into(),
                Probe::Decision(callback),
            ));
        }
    }
    for &callback in &covered.secured {
        let subscribe = callback.veto == Some(Veto::Subscription);
        for (id, description, forgery) in FORGERIES {
            let (id, description) = if subscribe {
                (format!("security/{id}"), (*description).to_owned())
            } else {
                (
                    format!("security/{}/{id}", callback.name),
                    format!("{description} ({})", callback.name),
                )
            };
            cases.push(Case::of(
                id,
                description,
                Probe::Security(*forgery, callback),
            ));
        }
    }
    cases.extend(ROBUSTNESS.iter().map(|(id, description, probe)| Case {
        id: Cow::Borrowed(id),
        description: Cow::Borrowed(description),
        probe: *probe,
    }));
    cases.extend(delivery::cases(covered));
    if covered.fuzz {
        cases.extend(fuzz::cases());
    }
    cases
}

/// The built-in cases for `covered` and one per scenario (`scenario/<name>`), those whose ids
/// contain one of `only` (all when empty) and none of `skip`.
pub(crate) fn select(
    only: &[String],
    skip: &[String],
    scenarios: &[Scenario],
    covered: &Covered,
) -> Vec<Case> {
    let teams = scenarios.iter().enumerate().map(|(i, scenario)| Case {
        id: Cow::Owned(format!("scenario/{}", scenario.name)),
        description: Cow::Owned(format!("the team's rule: {}", scenario.name)),
        probe: Probe::Scenario(i),
    });
    cases(covered)
        .into_iter()
        .chain(teams)
        .filter(|c| only.is_empty() || only.iter().any(|p| c.id.contains(p.as_str())))
        // Opt-in: asked for by --only, or with the whole family.
        .filter(|c| !matches!(c.probe, Probe::Delivery(..)) || covered.all || !only.is_empty())
        .filter(|c| !skip.iter().any(|p| c.id.contains(p.as_str())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(cases: &[Case]) -> Vec<&str> {
        cases.iter().map(|c| c.id.as_ref()).collect()
    }

    fn callback(name: &str) -> &'static Callback {
        Callback::find(name).unwrap()
    }

    #[test]
    fn by_default_the_subscriber_callbacks_are_answered_and_before_subscribe_secured() {
        let covered = Covered::new(&[]);
        let cases = select(&[], &[], &[], &covered);
        let ids = ids(&cases);
        let answered: Vec<_> = ids.iter().filter(|id| id.ends_with("/answer")).collect();
        assert_eq!(
            answered,
            [&"before-subscribe/answer", &"after-unsubscribe/answer"]
        );
        assert!(ids.contains(&"before-subscribe/batch-100"));
        assert!(ids.contains(&"before-subscribe/decision"));
        assert!(!ids.contains(&"after-unsubscribe/decision"), "{ids:?}");
        let security: Vec<_> = ids
            .iter()
            .filter(|id| id.starts_with("security/"))
            .collect();
        assert_eq!(security.len(), FORGERIES.len());
        assert!(ids.contains(&"security/bad-sign"));
        assert_eq!(
            ids[ids.len() - ROBUSTNESS.len()..],
            [
                "robustness/keep-alive",
                "robustness/malformed-body",
                "robustness/other-command"
            ]
        );
    }

    #[test]
    fn a_callback_other_than_subscribe_names_its_security_cases() {
        let covered = Covered::new(&[callback("after-unsubscribe")]);
        let cases = select(&[], &[], &[], &covered);
        let bad = cases
            .iter()
            .find(|c| c.id == "security/after-unsubscribe/bad-sign")
            .unwrap();
        assert!(bad.description.ends_with("(after-unsubscribe)"));
        assert_eq!(covered.first().name, "after-unsubscribe");
    }

    #[test]
    fn ids_are_unique() {
        let covered = Covered::new(protocol::CALLBACKS.iter().collect::<Vec<_>>().as_slice());
        let cases = select(&[], &[], &[], &covered);
        let mut ids = ids(&cases);
        let all = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), all);
    }

    #[test]
    fn only_and_skip_match_parts_of_ids() {
        let covered = Covered::new(&[]);
        let only = select(&["security/".into()], &["window".into()], &[], &covered);
        assert_eq!(only.len(), FORGERIES.len() - 1);
        assert!(only.iter().all(|c| c.id.starts_with("security/")));
        assert!(!ids(&only).contains(&"security/window"));
    }

    #[test]
    fn delivery_cases_come_with_the_whole_family_or_when_asked_for() {
        let delivery = |cases: &[Case]| {
            cases
                .iter()
                .filter(|c| matches!(c.probe, Probe::Delivery(..)))
                .count()
        };
        let default = Covered::new(&[]);
        assert_eq!(delivery(&select(&[], &[], &[], &default)), 0);
        let asked = select(&["delivery/".into()], &[], &[], &default);
        assert!(delivery(&asked) > 0);
        assert_eq!(delivery(&asked), asked.len());
        let family = Covered::new(protocol::CALLBACKS.iter().collect::<Vec<_>>().as_slice());
        assert!(family.all);
        assert!(delivery(&select(&[], &[], &[], &family)) > 0);
    }

    #[test]
    fn fuzz_cases_come_with_fuzz_alone() {
        let mut covered = Covered::new(&[]);
        let fuzz = |cases: &[Case]| cases.iter().any(|c| matches!(c.probe, Probe::Fuzz(_)));
        assert!(!fuzz(&select(&[], &[], &[], &covered)));
        covered.fuzz = true;
        assert!(fuzz(&select(&[], &[], &[], &covered)));
    }

    #[test]
    fn each_scenario_is_a_case_after_the_built_in_ones() {
        let scenario: Scenario =
            toml::from_str("name = \"vip\"\ncommand = \"before-subscribe\"").unwrap();
        let cases = select(&[], &[], &[scenario], &Covered::new(&[]));
        let last = cases.last().unwrap();
        assert_eq!(last.id, "scenario/vip");
        assert_eq!(last.description, "the team's rule: vip");
        assert_eq!(last.probe, Probe::Scenario(0));
    }

    #[test]
    fn only_the_security_cases_that_need_a_sign_need_a_token() {
        let before = callback("before-subscribe");
        assert!(Probe::Security(Forgery::BadSign, before).needs_token());
        assert!(Probe::Security(Forgery::Window, before).needs_token());
        assert!(!Probe::Security(Forgery::WrongSdkAppid, before).needs_token());
        assert!(!Probe::Security(Forgery::MissingSdkAppid, before).needs_token());
        assert!(!Probe::KeepAlive.needs_token());
    }
}
