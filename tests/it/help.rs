//! `--help` says what each option does for the command it is read on.

use crate::support::{Test, anything, contains, lacks};

/// One command's help as one line, every run of spaces and line breaks made one space, so that
/// wrapped sentences can be searched for whole.
fn help(command: &str) -> String {
    let text = Test::new()
        .args([command, "--help"])
        .stdout(anything())
        .run()
        .stdout;
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn each_command_says_what_its_token_is_for() {
    for (command, says) in [
        (
            "sample",
            "the sample carries the Sign and RequestTime made with it",
        ),
        (
            "send",
            "the request carries the Sign and RequestTime made with it (unless --no-sign)",
        ),
        (
            "serve",
            "every callback must carry a fresh Sign made with it, or it is refused with 401",
        ),
        (
            "check",
            "callbacks are signed with it and forgeries made against it; without it the four signature cases are skipped",
        ),
        (
            "replay",
            "each callback is signed afresh with it at the current time (without it, sent unsigned)",
        ),
        ("sign", "The webhook token to sign with (required)"),
        (
            "verify",
            "The webhook token the Sign is checked against (required)",
        ),
    ] {
        let text = help(command);
        assert!(text.contains(says), "{command} --help: {says:?} in\n{text}");
        assert!(
            !text.contains("when set, requests carry"),
            "{command} --help"
        );
    }
}

#[test]
fn quiet_and_verbose_are_offered_only_where_they_do_something() {
    for (command, quiet, verbose) in [
        (
            "send",
            Some("Print the verdict line alone"),
            Some("Also print the request and the answer exactly as they crossed the wire"),
        ),
        (
            "check",
            Some("Print no header line on stderr"),
            Some("Show what came back for every case, and print every request and answer as sent"),
        ),
        (
            "serve",
            Some("Print no `oa-hook send` command after the `listening on` line"),
            None,
        ),
        ("sample", None, None),
        ("sign", None, None),
        ("verify", None, None),
        ("completions", None, None),
    ] {
        let text = help(command);
        for (flag, says) in [("-q, --quiet", quiet), ("-v, --verbose", verbose)] {
            match says {
                Some(says) => assert!(
                    text.contains(&format!("{flag} {says}")),
                    "{command} {flag}: {says:?} in\n{text}"
                ),
                None => {
                    assert!(!text.contains(flag), "{command} offers {flag}:\n{text}");
                    Test::new()
                        .args([command, &flag[..2]])
                        .status(2)
                        .stderr(contains("unexpected argument '-"))
                        .run();
                }
            }
        }
    }
    Test::new()
        .arg("--help")
        .stdout(lacks("--quiet").lacks("--verbose"))
        .run();
}
