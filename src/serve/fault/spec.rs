//! A fault SPEC (`--fault`): its grammar, parsed (a pure function), and each fault drawn.

use super::Applied;
use crate::protocol::{CALLBACKS, Callback};
use crate::seeded::Rng;
use std::fmt;
use std::time::Duration;

/// What every message about a bad SPEC ends with.
const GRAMMAR: &str = "give RULE[,RULE...], where RULE is [COMMAND:]FAULT[@SHARE%] and FAULT is one of delay=DURATION, delay=MIN..MAX (uniform), delay=p50:DURATION/p99:DURATION (a long tail), hang (no answer), reset (the connection reset), status=CODE (200 to 599), malformed (a body that is not JSON) or slow-body=DURATION (the body trickles out over DURATION); SHARE is the percent of requests it hits (100 by default; the shares that can hit one command add up to 100 at most), e.g. delay=2.5s@10%,reset@1% or before-subscribe:hang@5%";

/// The longest delay or trickle a fault may take.
const LONGEST: Duration = Duration::from_secs(3600);

/// A SPEC as parsed: its rules in order, and its text, as the banner says it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Spec {
    rules: Vec<Rule>,
    text: String,
}

#[derive(Debug, Clone, PartialEq)]
struct Rule {
    /// The one command it hits; every request when `None`.
    command: Option<&'static Callback>,
    fault: Fault,
    /// The share of the requests it may hit, from 0 to 1.
    share: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    Delay(Delay),
    Hang,
    Reset,
    Status(u16),
    Malformed,
    SlowBody(Duration),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Delay {
    Fixed(Duration),
    Uniform(Duration, Duration),
    /// Log-normal, with this median and 99th percentile: most answers quick, a few very slow.
    Tail {
        p50: Duration,
        p99: Duration,
    },
}

/// Parses a SPEC (`--fault`): the error says what is wrong, then [`GRAMMAR`].
pub(crate) fn parse(text: &str) -> Result<Spec, String> {
    parse_rules(text)
        .map(|rules| Spec {
            rules,
            text: text.to_owned(),
        })
        .map_err(|why| format!("is not a fault SPEC: {why}; {GRAMMAR}"))
}

fn parse_rules(text: &str) -> Result<Vec<Rule>, String> {
    if text.trim().is_empty() {
        return Err("it is empty".to_owned());
    }
    let rules = text
        .split(',')
        .map(|rule| parse_rule(rule.trim()))
        .collect::<Result<Vec<Rule>, String>>()?;
    // The shares that can hit one command must leave room for each other.
    let targets = CALLBACKS.iter().map(Some).chain([None]);
    for target in targets {
        let total: f64 = rules
            .iter()
            .filter(|r| r.command.is_none() || r.command == target)
            .map(|r| r.share)
            .sum();
        if total > 1.0 + 1e-9 {
            let which = target.map_or("requests of other commands".to_owned(), |c| {
                c.name.to_owned()
            });
            return Err(format!(
                "the shares that can hit {which} add up to {}%",
                percent(total)
            ));
        }
    }
    Ok(rules)
}

fn parse_rule(rule: &str) -> Result<Rule, String> {
    let (body, share) = match rule.rsplit_once('@') {
        Some((body, share)) => (body, parse_share(share)?),
        None => (rule, 1.0),
    };
    // `before-subscribe:delay=...`; a p50:/p99: shape has its colons after the `=`.
    let (command, fault) = match body.split_once(':') {
        Some((name, fault)) if !name.contains('=') => {
            let callback = Callback::find(name).map_err(|_| {
                let names: Vec<&str> = CALLBACKS.iter().map(|c| c.name).collect();
                format!(
                    "`{name}` is not a callback (one of {}, or none for every request)",
                    names.join(", ")
                )
            })?;
            (Some(callback), fault)
        }
        _ => (None, body),
    };
    Ok(Rule {
        command,
        fault: parse_fault(fault)?,
        share,
    })
}

fn parse_share(share: &str) -> Result<f64, String> {
    let wrong = || format!("the share `@{share}` is not a percent from 0 to 100, such as @10%");
    let number = share.strip_suffix('%').ok_or_else(wrong)?;
    match number.parse::<f64>() {
        Ok(p) if (0.0..=100.0).contains(&p) => Ok(p / 100.0),
        _ => Err(wrong()),
    }
}

fn parse_fault(fault: &str) -> Result<Fault, String> {
    let (name, value) = match fault.split_once('=') {
        Some((name, value)) => (name, Some(value)),
        None => (fault, None),
    };
    let needs = |what: &str| format!("`{name}` takes a value: {name}={what}");
    let takes_none = || format!("`{name}` takes no value (`{fault}`)");
    match (name, value) {
        ("delay", Some(value)) => parse_delay(value).map(Fault::Delay),
        ("delay", None) => Err(needs("DURATION")),
        ("slow-body", Some(value)) => duration(value).map(Fault::SlowBody),
        ("slow-body", None) => Err(needs("DURATION")),
        ("status", Some(value)) => match value.parse::<u16>() {
            Ok(code @ 200..=599) => Ok(Fault::Status(code)),
            _ => Err(format!(
                "`status={value}` is not an HTTP status from 200 to 599"
            )),
        },
        ("status", None) => Err(needs("CODE")),
        ("hang", None) => Ok(Fault::Hang),
        ("reset", None) => Ok(Fault::Reset),
        ("malformed", None) => Ok(Fault::Malformed),
        ("hang" | "reset" | "malformed", Some(_)) => Err(takes_none()),
        ("", _) => Err("a rule has no fault".to_owned()),
        (other, _) => Err(format!("`{other}` is not a fault")),
    }
}

fn parse_delay(value: &str) -> Result<Delay, String> {
    if let Some(tail) = value.strip_prefix("p50:") {
        let (p50, p99) = tail
            .split_once("/p99:")
            .ok_or_else(|| format!("`delay={value}` names p50 without p99: p50:200ms/p99:3s"))?;
        let (p50, p99) = (duration(p50)?, duration(p99)?);
        if p50.is_zero() || p99 < p50 {
            return Err(format!(
                "`delay={value}`: p50 must be above 0 and p99 at least p50"
            ));
        }
        return Ok(Delay::Tail { p50, p99 });
    }
    match value.split_once("..") {
        Some((low, high)) => {
            let (low, high) = (duration(low)?, duration(high)?);
            if high < low {
                return Err(format!("`delay={value}`: the range runs backwards"));
            }
            Ok(Delay::Uniform(low, high))
        }
        None => duration(value).map(Delay::Fixed),
    }
}

fn duration(text: &str) -> Result<Duration, String> {
    match humantime::parse_duration(text) {
        Ok(d) if d <= LONGEST => Ok(d),
        Ok(_) => Err(format!("`{text}` is longer than 1h")),
        Err(_) => Err(format!("`{text}` is not a duration such as 500ms or 2.5s")),
    }
}

/// `0.1` as `10`, `0.005` as `0.5`.
fn percent(share: f64) -> String {
    let text = format!("{:.3}", share * 100.0);
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

impl Spec {
    /// The fault `rng` draws for a request of `callback` (`None`: a command serve does not
    /// model), if any: the first rule that hits its command whose share the draw falls in.
    pub(super) fn draw(&self, rng: &mut Rng, callback: Option<&Callback>) -> Option<Applied> {
        let mut at = rng.unit();
        for rule in &self.rules {
            if rule.command.is_some_and(|c| Some(c) != callback) {
                continue;
            }
            if at < rule.share {
                return Some(rule.fault.apply(rng));
            }
            at -= rule.share;
        }
        None
    }
}

impl fmt::Display for Spec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Fault {
    /// The fault as this request gets it: a delay drawn from its range or shape.
    fn apply(self, rng: &mut Rng) -> Applied {
        match self {
            Fault::Delay(delay) => Applied::Delay(delay.draw(rng)),
            Fault::Hang => Applied::Hang,
            Fault::Reset => Applied::Reset,
            Fault::Status(code) => Applied::Status(code),
            Fault::Malformed => Applied::Malformed,
            Fault::SlowBody(over) => Applied::SlowBody(over),
        }
    }
}

impl Delay {
    /// A delay, to the millisecond, so that the event line says it exactly.
    fn draw(self, rng: &mut Rng) -> Duration {
        let millis = |d: Duration| d.as_secs_f64() * 1000.0;
        let drawn = match self {
            Delay::Fixed(d) => return d,
            Delay::Uniform(low, high) => millis(low) + rng.unit() * (millis(high) - millis(low)),
            Delay::Tail { p50, p99 } => {
                // ln(delay) is normal: its median is ln(p50), and p99 is 2.326 deviations above.
                let sigma = (millis(p99) / millis(p50)).ln() / 2.326_348;
                // Box-Muller: a standard normal from two uniform draws (the first above 0).
                let (u1, u2) = (1.0 - rng.unit(), rng.unit());
                let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
                millis(p50) * (sigma * z).exp()
            }
        };
        Duration::from_millis(drawn.round().clamp(0.0, millis(LONGEST)) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(text: &str) -> Vec<Rule> {
        parse(text).unwrap_or_else(|e| panic!("{text}: {e}")).rules
    }

    fn error(text: &str) -> String {
        let why = parse(text).unwrap_err();
        assert!(why.ends_with(GRAMMAR), "{why}");
        why.trim_end_matches(GRAMMAR)
            .trim_start_matches("is not a fault SPEC: ")
            .trim_end_matches("; ")
            .to_owned()
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn every_fault_of_the_grammar_parses() {
        assert_eq!(
            rules("delay=2.5s@10%,reset@1%"),
            [
                Rule {
                    command: None,
                    fault: Fault::Delay(Delay::Fixed(ms(2500))),
                    share: 0.1
                },
                Rule {
                    command: None,
                    fault: Fault::Reset,
                    share: 0.01
                },
            ]
        );
        let before = Callback::find("before-subscribe").ok();
        assert_eq!(
            rules("before-subscribe:delay=p50:200ms/p99:3s@50%"),
            [Rule {
                command: before,
                fault: Fault::Delay(Delay::Tail {
                    p50: ms(200),
                    p99: ms(3000)
                }),
                share: 0.5
            }]
        );
        let faults: Vec<Fault> = rules(
            "delay=100ms..1s@10%, hang@10%, status=503@10%, malformed@10%, slow-body=3s@10%, OfficialAccount.CallbackAfterDeleteSubscriber:reset@50%",
        )
        .into_iter()
        .map(|r| r.fault)
        .collect();
        assert_eq!(
            faults,
            [
                Fault::Delay(Delay::Uniform(ms(100), ms(1000))),
                Fault::Hang,
                Fault::Status(503),
                Fault::Malformed,
                Fault::SlowBody(ms(3000)),
                Fault::Reset,
            ]
        );
        assert_eq!(rules("hang@0.5%")[0].share, 0.005);
    }

    #[test]
    fn a_bad_spec_says_what_is_wrong_and_gives_the_grammar() {
        assert_eq!(error(""), "it is empty");
        assert_eq!(error("explode"), "`explode` is not a fault");
        assert_eq!(error("delay"), "`delay` takes a value: delay=DURATION");
        assert_eq!(error("reset=1"), "`reset` takes no value (`reset=1`)");
        assert_eq!(
            error("delay=soon"),
            "`soon` is not a duration such as 500ms or 2.5s"
        );
        assert_eq!(error("delay=2h"), "`2h` is longer than 1h");
        assert_eq!(
            error("delay=3s..1s"),
            "`delay=3s..1s`: the range runs backwards"
        );
        assert_eq!(
            error("delay=p50:1s"),
            "`delay=p50:1s` names p50 without p99: p50:200ms/p99:3s"
        );
        assert_eq!(
            error("delay=p50:2s/p99:1s"),
            "`delay=p50:2s/p99:1s`: p50 must be above 0 and p99 at least p50"
        );
        assert_eq!(
            error("status=99"),
            "`status=99` is not an HTTP status from 200 to 599"
        );
        assert_eq!(
            error("reset@10"),
            "the share `@10` is not a percent from 0 to 100, such as @10%"
        );
        assert_eq!(
            error("reset@150%"),
            "the share `@150%` is not a percent from 0 to 100, such as @10%"
        );
        assert!(
            error("before-subscrbe:reset")
                .starts_with("`before-subscrbe` is not a callback (one of before-subscribe, ")
        );
        assert_eq!(
            error("reset@60%,before-subscribe:hang@50%"),
            "the shares that can hit before-subscribe add up to 110%"
        );
        assert_eq!(
            error("reset@60%,hang@50%"),
            "the shares that can hit before-subscribe add up to 110%"
        );
        assert_eq!(error("reset,"), "a rule has no fault");
        // Rules for different commands do not share.
        assert_eq!(
            rules("before-subscribe:reset,after-unsubscribe:hang").len(),
            2
        );
    }
}
