use crate::cli::{OutputFormat, SendArgs};
use crate::client::Sender;
use crate::clock::Clock;
use crate::error::{Error, Outcome, Result};
use crate::load::{self, Plan};
use crate::output;
use crate::protocol::{Kind, judge};
use crate::report::outputs::CiReports;
use crate::report::{
    self,
    send::{self as render, Sent},
};
use crate::request::{CallbackRequest, Template};
use std::io::{IsTerminal, Write};
use tokio::runtime::Runtime;

pub(crate) fn run(args: &SendArgs, clock: &Clock) -> Result<Outcome> {
    // Checked here rather than by clap, which would not count a --count from oa-hook.toml.
    if !args.load.is_load() && (args.load.concurrency != 1 || args.load.rate.is_some()) {
        return Err(
            Error::usage("--concurrency and --rate are for load mode").hint(
                "add --count N or --duration D (e.g. --count 1000) to send more than one request",
            ),
        );
    }
    if !args.load.is_load() && (args.ci.summary.is_some() || args.ci.annotations) {
        return Err(Error::usage("--summary and --annotations are for load mode").hint(
            "add --count N or --duration D (e.g. --count 1000); one callback's verdict is the exit code",
        ));
    }
    if args.load.max_late.is_some() && !args.load.is_load() {
        return Err(Error::usage("--max-late is for load mode").hint(
            "add --count N or --duration D: --max-late is the share of a load run that may go ahead on Chat's timeout",
        ));
    }
    if args.load.max_late.is_some() && args.callback.0.kind == Kind::After {
        return Err(Error::usage(format!(
            "--max-late is for before callbacks, and {} is an after callback",
            args.callback.0.name
        ))
        .hint("an after callback has no veto to lose: drop --max-late, or send a before callback such as before-subscribe"));
    }
    if args.load.is_load() && args.request.request_time.request_time.is_some() {
        return Err(
            Error::usage("--request-time cannot be used in load mode").hint(
                "load mode signs every request with the RequestTime it is sent at; drop --request-time",
            ),
        );
    }
    let template = args.request.template(args.callback.0, &args.url, clock)?;
    let template = if args.no_sign {
        template.unsigned()
    } else {
        template
    };
    // One request needs no worker threads: starting them is most of what a one-shot send
    // costs beyond curl. Load mode starts a runtime of its own on each other core.
    let mut runtime = tokio::runtime::Builder::new_current_thread();
    let runtime = crate::runtime::start(&mut runtime)?;
    if args.load.is_load() {
        run_load(args, template, clock, &runtime)
    } else {
        run_once(args, template, clock, &runtime)
    }
}

/// One callback, judged in full.
fn run_once(
    args: &SendArgs,
    template: Template,
    clock: &Clock,
    runtime: &Runtime,
) -> Result<Outcome> {
    let mut sender = Sender::new(&args.target.target(), &template.base, 1)?;
    note_if_unsigned(args, &template)?;
    let request = template.at(args.request.request_time(clock));
    let body = template.body_bytes.clone().into();
    let posted = runtime.block_on(sender.post(&request.url, body));
    let (exchange, judgement) = match posted {
        Ok(exchange) => {
            let judgement = judge(template.callback, &template.subscribers, exchange.reply());
            (Some(exchange), judgement)
        }
        Err(e) => match e.answered() {
            Some(answered) => (
                None,
                answered.judge(template.callback, &template.subscribers),
            ),
            None => return Err(e.into_error()),
        },
    };
    let expectation = args.expect.expectation();
    let request = CallbackRequest {
        url: output::masked(&request.url),
        ..request
    };
    let unmet = expectation.check(&judgement.decision).or_else(|| {
        args.strict
            .then(|| crate::expect::strict(&judgement.findings))
            .flatten()
    });
    let sent = Sent {
        request_findings: template.oddities(),
        unmet,
        request,
        body: template.body_bytes,
        exchange,
        judgement,
        expectation,
    };
    let report = render::SendReport {
        sent: &sent,
        verbose: args.verbose,
        quiet: args.quiet,
    };
    report::print(&report, args.output)?;
    Ok(Outcome::from_pass(sent.passed()))
}

/// Load mode: `--concurrency` workers send the template until `--count` or `--duration`.
fn run_load(
    args: &SendArgs,
    template: Template,
    clock: &Clock,
    runtime: &Runtime,
) -> Result<Outcome> {
    let sender = Sender::new(
        &args.target.target(),
        &template.base,
        args.load.concurrency as usize,
    )?;
    note_if_unsigned(args, &template)?;
    let target = output::masked(&template.base).to_string();
    let to = report::outputs::CiTo::from(&args.ci);
    let mut ci = CiReports::new("oa-hook send", &to);
    ci.open(&target, args.output)?;
    let plan = Plan {
        sender,
        template,
        expectation: args.expect.expectation(),
        clock: *clock,
        concurrency: args.load.concurrency,
        count: args.load.count,
        duration: args.load.duration,
        rate: args.load.rate,
        timeout: args.target.timeout,
        progress: !args.quiet && std::io::stderr().is_terminal(),
        max_late: args.load.max_late,
        strict: args.strict,
    };
    let summary = runtime.block_on(load::run(plan))?;
    let shown = |ci: &CiReports<'_>| {
        ci.finish(
            &report::ci::load_summary("oa-hook send", &summary),
            &report::ci::load_annotations("oa-hook send", &summary),
        )
    };
    if let Some((message, hint)) = summary.unreachable() {
        shown(&ci)?;
        return Err(
            Error::unreachable(format!("no request reached the target: {message}")).hint(hint),
        );
    }
    let load = report::load::LoadReport {
        summary: &summary,
        quiet: args.quiet,
    };
    report::print(&load, args.output)?;
    shown(&ci)?;
    Ok(match summary.interrupted {
        Some(signal) => Outcome::Interrupted(signal),
        None => Outcome::from_pass(summary.passed()),
    })
}

/// Sending unsigned by accident is the commonest reason a real backend refuses the callback.
/// Said once the options are known to be good, just before sending.
fn note_if_unsigned(args: &SendArgs, template: &Template) -> Result<()> {
    if !args.no_sign && !template.is_signed() && !args.quiet && args.output == OutputFormat::Human {
        writeln!(
            output::stderr(),
            "note: unsigned (no token), so a backend that checks Sign refuses it; pass --token or set OA_HOOK_TOKEN (--no-sign silences this note)"
        )?;
    }
    Ok(())
}
