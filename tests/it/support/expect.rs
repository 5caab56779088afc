//! What a stream of a run must hold: the whole text, or the parts a test pins where the whole
//! cannot be (a measured latency, a port).

/// What one stream must hold: every rule of it.
#[derive(Clone, Debug)]
pub struct Expect(Vec<Rule>);

#[derive(Clone, Debug)]
enum Rule {
    Exact(String),
    Contains(String),
    Lacks(String),
    Starts(String),
    Ends(String),
    Line(String),
    Timed(String),
}

impl Expect {
    /// This text and nothing else.
    pub fn exact(text: impl Into<String>) -> Expect {
        Expect(vec![Rule::Exact(text.into())])
    }

    pub fn contains(self, part: impl Into<String>) -> Expect {
        self.with(Rule::Contains(part.into()))
    }

    pub fn lacks(self, part: impl Into<String>) -> Expect {
        self.with(Rule::Lacks(part.into()))
    }

    pub fn starts(self, prefix: impl Into<String>) -> Expect {
        self.with(Rule::Starts(prefix.into()))
    }

    pub fn ends(self, suffix: impl Into<String>) -> Expect {
        self.with(Rule::Ends(suffix.into()))
    }

    /// A line that starts with `prefix`.
    pub fn line(self, prefix: impl Into<String>) -> Expect {
        self.with(Rule::Line(prefix.into()))
    }

    fn with(mut self, rule: Rule) -> Expect {
        self.0.push(rule);
        self
    }

    /// Asserts that `text` (what `what` names: a file a run wrote) meets every rule.
    #[track_caller]
    pub fn assert(&self, what: impl std::fmt::Display, text: &str) {
        let failures = self.failures(text);
        assert!(
            failures.is_empty(),
            "{what}: {}\n--- {what} ---\n{text}",
            failures.join("; ")
        );
    }

    /// What each rule this text breaks says about it.
    pub(super) fn failures(&self, text: &str) -> Vec<String> {
        self.0
            .iter()
            .filter_map(|rule| match rule {
                Rule::Exact(expected) if text != expected => {
                    Some(format!("expected exactly\n{expected}\n(end)"))
                }
                Rule::Contains(part) if !text.contains(part.as_str()) => {
                    Some(format!("expected it to contain {part:?}"))
                }
                Rule::Lacks(part) if text.contains(part.as_str()) => {
                    Some(format!("expected it not to contain {part:?}"))
                }
                Rule::Starts(prefix) if !text.starts_with(prefix.as_str()) => {
                    Some(format!("expected it to start with {prefix:?}"))
                }
                Rule::Ends(suffix) if !text.ends_with(suffix.as_str()) => {
                    Some(format!("expected it to end with {suffix:?}"))
                }
                Rule::Line(prefix) if !text.lines().any(|l| l.starts_with(prefix.as_str())) => {
                    Some(format!("expected a line starting with {prefix:?}"))
                }
                Rule::Timed(expected) if without_times(text) != *expected => Some(format!(
                    "expected exactly, with each measured time written `_ ms`,\n{expected}\n(end)"
                )),
                _ => None,
            })
            .collect()
    }
}

impl From<&str> for Expect {
    fn from(text: &str) -> Expect {
        Expect::exact(text)
    }
}

impl From<String> for Expect {
    fn from(text: String) -> Expect {
        Expect::exact(text)
    }
}

impl From<&String> for Expect {
    fn from(text: &String) -> Expect {
        Expect::exact(text.as_str())
    }
}

/// Any text: for output a test reads itself from the [`Output`].
pub fn anything() -> Expect {
    Expect(Vec::new())
}

/// Text containing `part`.
pub fn contains(part: impl Into<String>) -> Expect {
    anything().contains(part)
}

/// Text not containing `part`.
pub fn lacks(part: impl Into<String>) -> Expect {
    anything().lacks(part)
}

/// Text starting with `prefix`.
pub fn starts(prefix: impl Into<String>) -> Expect {
    anything().starts(prefix)
}

/// Text ending with `suffix`.
pub fn ends(suffix: impl Into<String>) -> Expect {
    anything().ends(suffix)
}

/// Text with a line starting with `prefix`.
pub fn line(prefix: impl Into<String>) -> Expect {
    anything().line(prefix)
}

/// This text and nothing else, where each time measured in milliseconds is written `_ ms`
/// (`HTTP 200 OK in _ ms`): the one thing a run on loopback cannot pin.
pub fn timed(text: impl Into<String>) -> Expect {
    Expect(vec![Rule::Timed(text.into())])
}

/// `text` with each number followed by ` ms` written `_`.
fn without_times(text: &str) -> String {
    text.split_inclusive('\n')
        .map(|line| {
            let words: Vec<&str> = line.split(' ').collect();
            let mut masked = Vec::with_capacity(words.len());
            for (i, word) in words.iter().enumerate() {
                let unit = words.get(i + 1).is_some_and(|next| {
                    next.strip_prefix("ms")
                        .is_some_and(|rest| !rest.starts_with(char::is_alphanumeric))
                });
                masked.push(if unit && word.parse::<f64>().is_ok() {
                    "_"
                } else {
                    word
                });
            }
            masked.join(" ")
        })
        .collect()
}
