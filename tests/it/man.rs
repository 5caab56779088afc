//! `oa-hook man`: one page per command, from the same definition as `--help`, naming only pages
//! that exist.

use crate::support::{Test, anything, assert_contains, contains, starts};
use std::path::Path;

/// The commands `oa-hook --help` lists, but `help`, which has no page.
fn commands() -> Vec<String> {
    let help = Test::new().arg("--help").stdout(anything()).run().stdout;
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
    let page = Test::new()
        .arg("man")
        .stdout(contains(".TH oa-hook 1 \"\" \"oa-hook "))
        .run()
        .stdout;
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
    Test::new()
        .args(["man", "--dir"])
        .arg(&pages)
        .stdout(said)
        .run();
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
        let help = Test::new()
            .args([command, "--help"])
            .stdout(anything())
            .run()
            .stdout;
        for option in help
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .filter(|word| word.starts_with("--") && word.len() > 2)
        {
            assert_contains(&page, &option.replace('-', "\\-"));
        }
        Test::new().args(["man", command]).stdout(page).run();
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

    let one = dir.path().join("one");
    Test::new()
        .args(["man", "verify", "--dir"])
        .arg(&one)
        .stdout(format!(
            "wrote {}\n",
            one.join("oa-hook-verify.1").display()
        ))
        .run();
    let files: Vec<_> = std::fs::read_dir(dir.path().join("one"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(files, ["oa-hook-verify.1"]);
}

#[test]
fn a_dir_that_cannot_be_written_is_a_usage_error() {
    let file = tempfile::NamedTempFile::new().unwrap();
    Test::new()
        .args(["man", "--dir"])
        .arg(file.path())
        .status(2)
        .stderr(
            starts(format!(
                "oa-hook: error: cannot write {}: ",
                file.path().display()
            ))
            .contains("hint: give --dir a directory you may write to"),
        )
        .run();
}
