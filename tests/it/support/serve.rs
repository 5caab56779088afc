//! A running `oa-hook serve`: started by [`super::Test::start`], it waits for the printed address.

use super::{Expect, Expected};
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a test waits for `serve` to print a line or to exit before it fails.
const PATIENCE: Duration = Duration::from_secs(20);

/// A running `oa-hook serve` on a free loopback port; killed when dropped.
pub struct Serve {
    /// `http://127.0.0.1:PORT`, as printed on its first line.
    pub url: String,
    child: Child,
    lines: mpsc::Receiver<String>,
    reader: Option<JoinHandle<()>>,
    errors: mpsc::Receiver<String>,
    error_reader: Option<JoinHandle<()>>,
    /// Dropped to let a [`Stdout::Stuck`] reader go.
    release: Option<mpsc::Sender<()>>,
    /// Its command line and what [`Serve::interrupt`] asserts.
    expected: (String, Expected),
}

/// What the test does with `serve`'s stdout once it has read the first line.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Stdout {
    /// Reads every line, for [`Serve::next_line`].
    Read,
    /// Reads no more, keeping the pipe open: a paused terminal or a consumer that is stuck.
    Stuck,
    /// Closes the pipe, as `serve | head -1` does.
    Closed,
}

/// What a [`Serve`] printed after the lines the test took; its status was as expected.
pub struct Stopped {
    /// The stdout lines not yet taken with [`Serve::next_line`].
    pub stdout: Vec<String>,
    pub stderr: String,
}

impl Serve {
    /// Starts `command`, doing `with_stdout` once the first line, the address, is read.
    pub(super) fn spawn_with(
        mut command: std::process::Command,
        with_stdout: Stdout,
        expected: (String, Expected),
    ) -> Serve {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("oa-hook serve starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (sender, lines) = mpsc::channel();
        let (release, released) = mpsc::channel::<()>();
        let reader = std::thread::spawn(move || {
            let mut stdout = BufReader::new(stdout).lines().map_while(Result::ok);
            if let Some(first) = stdout.next() {
                let _ = sender.send(first);
            }
            match with_stdout {
                Stdout::Read => {
                    for line in stdout {
                        if sender.send(line).is_err() {
                            break;
                        }
                    }
                }
                Stdout::Stuck => {
                    let _ = released.recv();
                }
                Stdout::Closed => drop(stdout),
            }
        });
        let stderr = child.stderr.take().expect("stderr is piped");
        let (error_sender, errors) = mpsc::channel();
        let error_reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if error_sender.send(line).is_err() {
                    break;
                }
            }
        });
        let mut serve = Serve {
            url: String::new(),
            child,
            lines,
            reader: Some(reader),
            errors,
            error_reader: Some(error_reader),
            release: Some(release),
            expected,
        };
        let first = serve.next_line();
        // `--output json` says it as JSON, since every stdout line is JSON then.
        let json_url = || -> Option<String> {
            let value: serde_json::Value = serde_json::from_str(&first).ok()?;
            Some(value["listening"].as_str()?.to_owned())
        };
        serve.url = first
            .strip_prefix("listening on ")
            .map(str::to_owned)
            .or_else(json_url)
            .unwrap_or_else(|| panic!("the first line names the URL, got {first:?}"));
        serve
    }

    /// The next line `serve` prints on stderr.
    pub fn next_error_line(&self) -> String {
        self.errors
            .recv_timeout(PATIENCE)
            .expect("serve prints a line on stderr in time")
    }

    /// The next line `serve` prints on stdout.
    pub fn next_line(&self) -> String {
        self.lines
            .recv_timeout(PATIENCE)
            .expect("serve prints a line in time")
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What [`Serve::interrupt`] expects on stdout, once it is known (a port, a line count).
    pub fn stdout(&mut self, stdout: impl Into<Expect>) -> &mut Serve {
        self.expected.1.stdout = stdout.into();
        self
    }

    /// What [`Serve::interrupt`] expects on stderr, once it is known.
    pub fn stderr(&mut self, stderr: impl Into<Expect>) -> &mut Serve {
        self.expected.1.stderr = stderr.into();
        self
    }

    /// The exit status [`Serve::interrupt`] expects.
    pub fn status(&mut self, status: i32) -> &mut Serve {
        self.expected.1.status = vec![status];
        self
    }

    /// Sends SIGINT (Ctrl-C), waits for it to exit, and asserts the status, the stdout not
    /// taken with [`Serve::next_line`] and the stderr not taken with [`Serve::next_error_line`].
    #[track_caller]
    pub fn interrupt(&mut self) -> Stopped {
        self.ctrl_c();
        self.exit()
    }

    /// Sends SIGINT (Ctrl-C).
    #[track_caller]
    pub fn ctrl_c(&self) {
        let sent = std::process::Command::new("kill")
            .args(["-INT", &self.pid().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "kill -INT {}", self.pid());
    }

    /// Waits for `serve` to exit, and asserts as [`Serve::interrupt`] does.
    #[track_caller]
    pub fn exit(&mut self) -> Stopped {
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("serve can be waited for") {
                break status;
            }
            assert!(started.elapsed() < PATIENCE, "serve did not exit in time");
            std::thread::sleep(Duration::from_millis(10));
        };
        self.release.take();
        if let Some(reader) = self.reader.take() {
            reader.join().expect("the stdout reader ends with serve");
        }
        if let Some(reader) = self.error_reader.take() {
            reader.join().expect("the stderr reader ends with serve");
        }
        let stderr: String = self.errors.try_iter().map(|line| line + "\n").collect();
        let stdout: Vec<String> = self.lines.try_iter().collect();
        let (what, expected) = &self.expected;
        expected.assert(
            what,
            status.code().unwrap_or(-1),
            &stdout
                .iter()
                .map(|line| format!("{line}\n"))
                .collect::<String>(),
            &stderr,
        );
        Stopped { stdout, stderr }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What `serve` prints on stderr when Ctrl-C stops it with nothing in flight: the SIGINT line,
/// then `stopped: SUMMARY`.
pub fn stopped(summary: &str) -> String {
    format!("{SIGINT}stopped: {summary}\n")
}

/// What `serve` prints first on stderr when Ctrl-C stops it with nothing in flight.
pub const SIGINT: &str = "oa-hook: SIGINT received: no new connections; waiting up to 5s (--drain-timeout) for 0 requests in flight; send it again to quit now\n";

/// The hint of `serve`'s exit when a record could not be written.
pub const NOT_RECORDED_HINT: &str = "check the disk has room, and that whatever reads a FIFO or pipe keeps reading; the callbacks counted as NOT recorded were answered all the same";
