//! The one way a test runs `oa-hook`: a builder that states the arguments, environment and
//! stdin, then the exact stdout, stderr and exit status it expects, as just's `Test` does.
//!
//! What a test does not state is expected empty (stdout, stderr) or 0 (status), so a forgotten
//! line of output fails the test. Where a test pins less than the whole text (a measured latency,
//! a port), it says what it pins: [`contains`], [`lacks`], [`starts`], [`ends`], [`line`],
//! [`timed`] (the first five chained with the methods of the same names), or [`anything`].

use super::serve::Stdout;
use super::{Expect, Serve, anything};
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::process::Stdio;

/// The fixed clock every test runs under (Unix seconds): the RequestTime of Tencent's vector.
pub const NOW: u64 = 1_669_872_112;

/// A run of `oa-hook` to make, and what it must print and exit with.
#[must_use = "a Test does nothing until .run() or .start()"]
pub struct Test {
    command: std::process::Command,
    stdin: Option<Vec<u8>>,
    expected: Expected,
}

/// What a run must print and exit with.
pub struct Expected {
    pub stdout: Expect,
    pub stderr: Expect,
    /// The exit statuses that pass: one, but where a test leaves it to chance.
    pub status: Vec<i32>,
}

/// What a run printed and how it exited, once it met every expectation.
pub struct Output {
    pub stdout: String,
    pub stderr: String,
    pub status: i32,
}

impl Output {
    /// Stdout read as one JSON document.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

impl Default for Test {
    fn default() -> Self {
        Test::new()
    }
}

impl Test {
    /// `oa-hook` with a fixed clock and a clean environment, expected to exit 0 printing nothing.
    pub fn new() -> Test {
        Test {
            command: oa_hook_std(),
            stdin: None,
            expected: Expected {
                stdout: Expect::exact(""),
                stderr: Expect::exact(""),
                status: vec![0],
            },
        }
    }

    /// `oa-hook serve --listen 127.0.0.1:0`, to [`Test::start`] once its arguments are given.
    pub fn serve() -> Test {
        Test::new().args(["serve", "--listen", "127.0.0.1:0"])
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Test {
        self.command.arg(arg);
        self
    }

    pub fn args(mut self, args: impl IntoIterator<Item = impl AsRef<OsStr>>) -> Test {
        self.command.args(args);
        self
    }

    pub fn env(mut self, name: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Test {
        self.command.env(name, value);
        self
    }

    pub fn env_remove(mut self, name: impl AsRef<OsStr>) -> Test {
        self.command.env_remove(name);
        self
    }

    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Test {
        self.command.current_dir(dir);
        self
    }

    pub fn stdin(mut self, stdin: impl Into<Vec<u8>>) -> Test {
        self.stdin = Some(stdin.into());
        self
    }

    pub fn stdout(mut self, stdout: impl Into<Expect>) -> Test {
        self.expected.stdout = stdout.into();
        self
    }

    pub fn stderr(mut self, stderr: impl Into<Expect>) -> Test {
        self.expected.stderr = stderr.into();
        self
    }

    pub fn status(mut self, status: i32) -> Test {
        self.expected.status = vec![status];
        self
    }

    /// Any of `statuses`, for a run whose outcome the test leaves to chance (a fault drawn).
    pub fn status_one_of(mut self, statuses: &[i32]) -> Test {
        self.expected.status = statuses.to_vec();
        self
    }

    /// Runs to the end and asserts stdout, stderr and status, showing all three on a mismatch.
    #[track_caller]
    pub fn run(mut self) -> Output {
        let what = describe(&self.command);
        let output = match self.stdin.take() {
            None => self
                .command
                .stdin(Stdio::null())
                .output()
                .expect("oa-hook runs"),
            Some(input) => {
                let mut child = self.spawn(Stdio::piped());
                let mut pipe = child.stdin.take().expect("stdin is piped");
                // A writer of its own: oa-hook may print before it has read all of its stdin.
                let writer = std::thread::spawn(move || {
                    let _ = pipe.write_all(&input);
                });
                let output = child.wait_with_output().expect("oa-hook runs");
                writer.join().expect("stdin is written");
                output
            }
        };
        self.finish(&what, output)
    }

    /// Runs it, sends it `signal` (as kill(1) names one: `-INT`, `-TERM`) once `ready` returns,
    /// and asserts what it printed and how it exited as [`Test::run`] does.
    #[track_caller]
    pub fn run_signalled(mut self, signal: &str, ready: impl FnOnce()) -> Output {
        let what = describe(&self.command);
        let child = self.spawn(Stdio::null());
        ready();
        let sent = std::process::Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "kill {signal} {}", child.id());
        let output = child.wait_with_output().expect("oa-hook runs");
        self.finish(&what, output)
    }

    /// Starts it with `stdin`, its stdout and stderr piped.
    fn spawn(&mut self, stdin: Stdio) -> std::process::Child {
        self.command
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("oa-hook starts")
    }

    #[track_caller]
    fn finish(self, what: &str, output: std::process::Output) -> Output {
        let output = Output {
            stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
            status: output.status.code().expect("oa-hook exits, not killed"),
        };
        self.expected
            .assert(what, output.status, &output.stdout, &output.stderr);
        output
    }

    /// Runs it and reads stdout, which must be one JSON document: what it holds is for the
    /// test to check.
    #[track_caller]
    pub fn run_json(self) -> serde_json::Value {
        self.stdout(anything()).run().json()
    }

    /// [`Test::run_json`] off the async runtime a test's backend runs on.
    pub async fn run_json_off_runtime(self) -> serde_json::Value {
        self.stdout(anything()).run_off_runtime().await.json()
    }

    /// [`Test::run`] off the async runtime a test's backend runs on, which a blocking run on
    /// the runtime's own thread would starve.
    pub async fn run_off_runtime(self) -> Output {
        tokio::task::spawn_blocking(move || self.run())
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    }

    /// Starts it (`serve`, or `send` in a mode that waits) and waits for its first line, the
    /// address it listens on. The expectations are asserted by [`Serve::interrupt`] on what
    /// the test has not taken with [`Serve::next_line`].
    pub fn start(self) -> Serve {
        self.start_with(Stdout::Read)
    }

    /// [`Test::start`], doing `with_stdout` once the first line is read.
    pub fn start_with(self, with_stdout: Stdout) -> Serve {
        let what = describe(&self.command);
        Serve::spawn_with(self.command, with_stdout, (what, self.expected))
    }
}

impl Expected {
    #[track_caller]
    pub fn assert(&self, what: &str, status: i32, stdout: &str, stderr: &str) {
        let mut wrong = String::new();
        if !self.status.contains(&status) {
            let _ = writeln!(wrong, "exit status {status}, expected {:?}", self.status);
        }
        for (name, text, expect) in [
            ("stdout", stdout, &self.stdout),
            ("stderr", stderr, &self.stderr),
        ] {
            for failure in expect.failures(text) {
                let _ = writeln!(wrong, "{name}: {failure}");
            }
        }
        assert!(
            wrong.is_empty(),
            "`{what}`:\n{wrong}--- stdout ---\n{stdout}--- stderr ---\n{stderr}--- exit {status} ---"
        );
    }
}

/// The command line of `command`, to name a run in a failure.
fn describe(command: &std::process::Command) -> String {
    std::iter::once(OsStr::new("oa-hook"))
        .chain(command.get_args())
        .map(OsStr::to_string_lossy)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The binary with a fixed clock and a clean environment.
pub fn oa_hook_std() -> std::process::Command {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin!("oa-hook"));
    // Every OA_HOOK_* variable of the environment the tests run in is an option: none leaks in.
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("OA_HOOK_") {
            cmd.env_remove(name);
        }
    }
    // Nor does an oa-hook.toml in the directory the tests run in.
    cmd.env("OA_HOOK_CONFIG", "/dev/null");
    cmd.env("OA_HOOK_NOW", NOW.to_string())
        // Nor does a CI job's summary file: a test that wants one sets its own.
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("CLICOLOR");
    cmd
}
