//! Local files oa-hook reads whole are bounded: an oversized file, a device that never ends and
//! a FIFO nobody writes to are each one clear error and exit 2, quickly, never memory eaten or a
//! process that waits forever.

use crate::support::{Test, anything, case, scenario_report};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A FIFO at `path`, made with mkfifo(1).
fn fifo(path: &Path) {
    let made = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(made.success(), "mkfifo {}", path.display());
}

/// A file of `size` spaces (valid TOML and valid JSON whitespace, but too much of it).
fn large(path: &Path, size: usize) {
    std::fs::write(path, vec![b' '; size]).unwrap();
}

/// In a directory of their own, the files no read may take whole: one a byte over 1 MiB (`big`),
/// and a FIFO nobody writes to; beside them /dev/zero, a device that never ends.
struct Unbounded {
    _dir: tempfile::TempDir,
    big: PathBuf,
    pipe: PathBuf,
}

impl Unbounded {
    /// The files, named with `extension`.
    fn new(extension: &str) -> Unbounded {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join(format!("big.{extension}"));
        large(&big, (1 << 20) + 1);
        let pipe = dir.path().join(format!("pipe.{extension}"));
        fifo(&pipe);
        Unbounded {
            _dir: dir,
            big,
            pipe,
        }
    }

    /// Runs `refusal(path, why)` for each file, with why it is refused as the error says it:
    /// each run must end within 15 s.
    fn each_refused_quickly(&self, refusal: impl Fn(&str, &str) -> Test) {
        let cases = [
            (self.big.to_str().unwrap(), "is larger than 1 MiB"),
            ("/dev/zero", "is larger than 1 MiB"),
            (
                self.pipe.to_str().unwrap(),
                "is a FIFO (named pipe), not a regular file, and was not read to its end within 5s",
            ),
        ];
        for (path, why) in cases {
            let started = Instant::now();
            refusal(path, why).run();
            assert!(started.elapsed() < Duration::from_secs(15), "{path}");
        }
    }
}

const CONFIG_HINT: &str = "  hint: give --config an existing TOML file of settings and scenarios (or unset OA_HOOK_CONFIG)\n";
const BODY_HINT: &str = "  hint: give a readable JSON file of at most 1 MiB (a callback body is a few KiB), or - for stdin\n";

#[test]
fn a_config_file_that_is_too_large_never_ends_or_never_comes_is_refused() {
    let files = Unbounded::new("toml");
    files.each_refused_quickly(|path, why| {
        Test::new()
            .args(["sign", "--token", "t"])
            .env("OA_HOOK_CONFIG", path)
            .status(2)
            .stderr(format!(
                "oa-hook: error: the config file {path} {why}\n{CONFIG_HINT}"
            ))
    });
    // A file just under the limit is read, and /dev/null is no config at all.
    large(&files.big, 1 << 20);
    for path in [files.big.to_str().unwrap(), "/dev/null"] {
        Test::new()
            .args(["sign", "--token", "t"])
            .env("OA_HOOK_CONFIG", path)
            .stdout(anything())
            .run();
    }
}

#[test]
fn a_body_that_is_too_large_never_ends_or_never_comes_is_refused() {
    let files = Unbounded::new("json");
    let sample = |body: &str| {
        Test::new().args([
            "sample",
            "before-subscribe",
            "--format",
            "body",
            "--body",
            body,
        ])
    };
    files.each_refused_quickly(|path, why| {
        sample(path)
            .status(2)
            .stderr(format!("oa-hook: error: --body {path} {why}\n{BODY_HINT}"))
    });
    // Stdin is read up to the same limit, and a body under it is sent as it is.
    sample("-")
        .stdin(std::fs::read(&files.big).unwrap())
        .status(2)
        .stdout(anything())
        .stderr(format!(
            "oa-hook: error: --body stdin is larger than 1 MiB\n{BODY_HINT}"
        ))
        .run();
    sample("-")
        .stdin(r#"{"a":1}"#)
        .stdout("{\n  \"a\": 1\n}\n")
        .run();
}

/// A scenario's `body` is read as `--body` is: a FIFO or a device fails that scenario with the
/// reason, quickly, and the other cases run.
#[test]
fn a_scenario_body_that_never_ends_or_never_comes_fails_its_case() {
    let dir = tempfile::tempdir().unwrap();
    fifo(&dir.path().join("pipe.json"));
    std::fs::write(
        dir.path().join("oa-hook.toml"),
        "[[scenario]]\nname = \"zeros\"\ncommand = \"before-subscribe\"\nbody = \"/dev/zero\"\n\n[[scenario]]\nname = \"pipe\"\ncommand = \"before-subscribe\"\nbody = \"pipe.json\"\n",
    )
    .unwrap();
    let serve = Test::serve().args(["-q"]).start();
    let started = Instant::now();
    let report = scenario_report(dir.path(), &serve.url, 1);
    assert!(started.elapsed() < Duration::from_secs(15));
    for (id, message) in [
        ("scenario/zeros", "--body /dev/zero is larger than 1 MiB"),
        (
            "scenario/pipe",
            "--body pipe.json is a FIFO (named pipe), not a regular file, and was not read to its end within 5s",
        ),
    ] {
        let case = case(&report, id);
        assert_eq!(case["status"], "fail", "{case:#}");
        assert_eq!(case["message"], message, "{case:#}");
    }
}
