//! `oa-hook man`: one page per command, from the same definition as `--help`, naming only pages
//! that exist.

use crate::support::{assert_contains, oa_hook, run, stdout_of};
use std::path::Path;

/// The commands `oa-hook --help` lists, but `help`, which has no page.
fn commands() -> Vec<String> {
    let help = stdout_of(oa_hook().arg("--help"));
    let listed = help.split("Commands:\n").nth(1).unwrap_or_default();
    listed
        .lines()
        .take_while(|line| !line.is_empty())
        // A description that goes on is indented further.
        .filter(|line| !line.starts_with("   "))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

/// The pages a page refers to, `oa-hook-send(1)` or `\fBoa\-hook\fR(1)`, by file name.
fn references(page: &str) -> Vec<String> {
    page.match_indices("(1)")
        .map(|(at, _)| {
            let before = &page[..at];
            let word = before
                .rsplit([' ', '\n'])
                .next()
                .unwrap_or_default()
                .replace("\\fB", "")
                .replace("\\fR", "")
                .replace("\\-", "-");
            format!("{word}.1")
        })
        .collect()
}

#[test]
fn the_main_page_lists_a_page_per_command_and_no_other() {
    let page = stdout_of(oa_hook().arg("man"));
    assert_contains(&page, ".TH oa-hook 1 \"\" \"oa-hook ");
    let mut listed = references(&page);
    listed.sort();
    let mut expected: Vec<String> = commands()
        .iter()
        .map(|c| format!("oa-hook-{c}.1"))
        .collect();
    expected.sort();
    assert_eq!(listed, expected);
}

#[test]
fn dir_writes_every_page_and_each_names_only_pages_written() {
    let dir = tempfile::tempdir().unwrap();
    let pages = dir.path().join("man1");
    let written = run(oa_hook().args(["man", "--dir"]).arg(&pages));
    assert_eq!(written.code, 0, "{}", written.stderr);
    let mut names = vec!["oa-hook.1".to_owned()];
    let commands = commands();
    assert_eq!(commands.len(), 11, "{commands:?}");
    for command in &commands {
        names.push(format!("oa-hook-{command}.1"));
        // A command with commands of its own has a page for each, which its page names.
        if *command == "export" {
            for sub in ["openapi", "jsonschema", "locust", "k6"] {
                names.push(format!("oa-hook-export-{sub}.1"));
            }
        }
    }
    let said: String = names
        .iter()
        .map(|name| format!("wrote {}\n", pages.join(name).display()))
        .collect();
    assert_eq!(written.stdout, said);
    for name in &names {
        let page = std::fs::read_to_string(pages.join(name)).unwrap();
        for reference in references(&page) {
            assert!(
                Path::new(&pages.join(&reference)).is_file(),
                "{name} refers to {reference}, which was not written"
            );
        }
        // A text line that starts with a space breaks the filled text where --help breaks it.
        assert!(
            !page.lines().any(|line| line.starts_with(' ')),
            "{name}:\n{page}"
        );
    }
    for command in &commands {
        let page = std::fs::read_to_string(pages.join(format!("oa-hook-{command}.1"))).unwrap();
        assert_contains(&page, "\\fBoa\\-hook\\fR(1)");
        // Every option its --help names, with what it says.
        let help = stdout_of(oa_hook().args([command, "--help"]));
        for option in help
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .filter(|word| word.starts_with("--") && word.len() > 2)
        {
            assert_contains(&page, &option.replace('-', "\\-"));
        }
        assert_eq!(
            stdout_of(oa_hook().args(["man", command])),
            page,
            "oa-hook man {command}"
        );
    }
    let send = std::fs::read_to_string(pages.join("oa-hook-send.1")).unwrap();
    for part in [
        ".TH oa-hook-send 1",
        "\\fB\\-\\-cacert\\fR",
        "\\fBOA_HOOK_TOKEN\\fR environment variable",
        ".SH EXAMPLES\n.RS 4\n.nf\noa\\-hook send before\\-subscribe \\-\\-url",
    ] {
        assert_contains(&send, part);
    }

    let one = run(oa_hook()
        .args(["man", "verify", "--dir"])
        .arg(dir.path().join("one")));
    assert_eq!(one.code, 0, "{}", one.stderr);
    let files: Vec<_> = std::fs::read_dir(dir.path().join("one"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(files, ["oa-hook-verify.1"]);
}

#[test]
fn a_dir_that_cannot_be_written_is_a_usage_error() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let refused = run(oa_hook().args(["man", "--dir"]).arg(file.path()));
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert_eq!(refused.stdout, "");
    assert_contains(
        &refused.stderr,
        &format!("oa-hook: error: cannot write {}: ", file.path().display()),
    );
    assert_contains(
        &refused.stderr,
        "hint: give --dir a directory you may write to",
    );
}
