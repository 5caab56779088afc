//! What a user pastes to see a fuzz failure again: the shrunk body in a file, and the
//! `oa-hook send ... --body FILE` command that sends it exactly as `check --fuzz` did (the same
//! query values; signed afresh, since a Sign is only good for a minute).

use super::Generated;
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use std::time::Duration;
use url::Url;

/// How the fuzzed backend was reached, as `send`'s options say it.
pub(crate) struct Target<'a> {
    /// How the user ran oa-hook: `oa-hook`, or the path they ran it by.
    pub program: &'a str,
    /// The backend's URL, its password masked.
    pub url: &'a Url,
    pub sdkappid: u64,
    pub signed: bool,
    pub timeout: Duration,
}

/// Writes `body` to `dir/name` (making `dir`), and returns its path.
pub(crate) fn write_body(dir: &Path, name: &str, body: &[u8]) -> Result<PathBuf> {
    let path = dir.join(name);
    std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(&path, body))
        .map_err(|e| {
            Error::usage(format!(
                "cannot write the shrunk body to {}: {e}",
                path.display()
            ))
            .hint("give --fuzz-dir a directory that can be written")
        })?;
    Ok(path)
}

/// The `send` command that sends `g` with the body of `file`, as the fuzzer sent it, and
/// `extra` options (an expectation, `--strict`).
pub(crate) fn send_command(
    target: &Target<'_>,
    g: &Generated,
    file: &Path,
    extra: &[String],
) -> String {
    let mut words = vec![
        quote(target.program),
        "send".to_owned(),
        g.callback.name.to_owned(),
        "--url".to_owned(),
        quote(target.url.as_str()),
        "--body".to_owned(),
        quote(&file.display().to_string()),
        "--sdkappid".to_owned(),
        target.sdkappid.to_string(),
        "--client-ip".to_owned(),
        g.client_ip.to_string(),
        "--platform".to_owned(),
        g.platform.to_owned(),
        "--timeout".to_owned(),
        humantime::format_duration(target.timeout)
            .to_string()
            .replace(' ', ""),
    ];
    if target.signed {
        // The token itself is never printed.
        words.push("--token \"$OA_HOOK_TOKEN\"".to_owned());
    }
    words.extend(extra.iter().map(|word| quote(word)));
    words.join(" ")
}

/// `word` as a POSIX shell reads it back: as it is when plain, else in single quotes.
pub(crate) fn quote(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-./:=@%+,".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        return word.to_owned();
    }
    format!("'{}'", word.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzz::generate::generate;
    use crate::protocol::Callback;

    #[test]
    fn words_are_quoted_only_when_a_shell_would_change_them() {
        assert_eq!(
            quote("http://127.0.0.1:8080/im"),
            "http://127.0.0.1:8080/im"
        );
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("$HOME"), "'$HOME'");
    }

    #[test]
    fn the_command_sends_what_the_fuzzer_sent() {
        let callback = Callback::find("before-subscribe").unwrap();
        let g = generate(1, callback, 0);
        let url = Url::parse("http://127.0.0.1:3000/im?tenant=a b").unwrap();
        let target = Target {
            program: "oa-hook",
            url: &url,
            sdkappid: 1_400_000_000,
            signed: true,
            timeout: Duration::from_millis(2500),
        };
        let command = send_command(
            &target,
            &g,
            Path::new("fuzz/x y.json"),
            &["--strict".into()],
        );
        assert_eq!(
            command,
            format!(
                "oa-hook send before-subscribe --url 'http://127.0.0.1:3000/im?tenant=a%20b' --body 'fuzz/x y.json' --sdkappid 1400000000 --client-ip {} --platform {} --timeout 2s500ms --token \"$OA_HOOK_TOKEN\" --strict",
                quote(&g.client_ip.to_string()),
                g.platform
            )
        );
    }
}
