//! Local files that oa-hook reads whole (`oa-hook.toml`, `--body`, a scenario's `body`):
//! bounded in size, and in time when the path is not a regular file, so that `/dev/zero` or a
//! FIFO nobody writes to is an error instead of a process that eats memory or waits forever.

use crate::error::{Error, Result};
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileTypeExt;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

/// How long a path that is not a regular file (a FIFO, a device) may take to give all it has.
const PATIENCE: Duration = Duration::from_secs(5);

/// What is read and what to say when it cannot be: `what` names it in messages (`the config
/// file oa-hook.toml`), `limit` is the most it may hold, `hint` what to give instead.
pub(crate) struct Bounded<'a> {
    pub what: &'a str,
    pub limit: usize,
    pub hint: &'a str,
}

impl Bounded<'_> {
    /// Reads `path` whole: a regular file up to the limit; anything else (a FIFO, a device)
    /// also within [`PATIENCE`], on a thread of its own that is left behind if it blocks.
    pub(crate) fn read(&self, path: &Path) -> Result<Vec<u8>> {
        let metadata = std::fs::metadata(path).map_err(|e| self.cannot_read(&e))?;
        let kind = metadata.file_type();
        if kind.is_file() {
            if usize::try_from(metadata.len()).map_or(true, |len| len > self.limit) {
                return Err(self.too_large());
            }
            let file = File::open(path).map_err(|e| self.cannot_read(&e))?;
            // The file may have grown since: the limit holds all the same.
            return self.take(file);
        }
        if kind.is_dir() {
            return Err(Error::usage(format!("{} is a directory", self.what)).hint(self.hint));
        }
        let (sender, receiver) = mpsc::channel();
        let owned = path.to_owned();
        let limit = self.limit;
        std::thread::Builder::new()
            .name("read-local".into())
            .spawn(move || {
                let read = File::open(&owned).and_then(|file| capped(file, limit));
                let _ = sender.send(read);
            })
            .map_err(|e| Error::internal(format!("cannot start a thread: {e}")))?;
        match receiver.recv_timeout(PATIENCE) {
            Ok(read) => self.judge(read),
            Err(_) => Err(Error::usage(format!(
                "{} is {}, not a regular file, and was not read to its end within {}",
                self.what,
                kind_of(&kind),
                humantime::format_duration(PATIENCE)
            ))
            .hint(self.hint)),
        }
    }

    /// Reads `reader` (stdin) to its end, up to the limit; no time limit, as the user chose it.
    pub(crate) fn take(&self, reader: impl Read) -> Result<Vec<u8>> {
        self.judge(capped(reader, self.limit))
    }

    fn judge(&self, read: std::io::Result<Option<Vec<u8>>>) -> Result<Vec<u8>> {
        read.map_err(|e| self.cannot_read(&e))?
            .ok_or_else(|| self.too_large())
    }

    fn cannot_read(&self, e: &std::io::Error) -> Error {
        Error::usage(format!("cannot read {}: {e}", self.what)).hint(self.hint)
    }

    fn too_large(&self) -> Error {
        Error::usage(format!("{} is larger than {}", self.what, size(self.limit))).hint(self.hint)
    }
}

/// All of `reader`, or `None` when it holds more than `limit` bytes (one more is read to know).
fn capped(reader: impl Read, limit: usize) -> std::io::Result<Option<Vec<u8>>> {
    let mut bytes = Vec::new();
    reader
        .take(u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1))
        .read_to_end(&mut bytes)?;
    Ok((bytes.len() <= limit).then_some(bytes))
}

/// `1 MiB`, `64 KiB`, `100 bytes`.
pub(crate) fn size(bytes: usize) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

fn kind_of(kind: &std::fs::FileType) -> &'static str {
    if kind.is_fifo() {
        "a FIFO (named pipe)"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "a special file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounded(limit: usize) -> Bounded<'static> {
        Bounded {
            what: "the file",
            limit,
            hint: "give a smaller one",
        }
    }

    #[test]
    fn a_file_up_to_the_limit_is_read_and_one_byte_more_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"12345").unwrap();
        assert_eq!(bounded(5).read(&path).unwrap(), b"12345");
        let error = bounded(4).read(&path).unwrap_err();
        assert_eq!(error.message, "the file is larger than 4 bytes");
        assert_eq!(error.hint.as_deref(), Some("give a smaller one"));
        assert_eq!(bounded(4).take(&b"1234"[..]).unwrap(), b"1234");
        assert!(bounded(4).take(&b"12345"[..]).is_err());
    }

    #[test]
    fn devices_are_read_within_the_limit() {
        assert_eq!(bounded(10).read(Path::new("/dev/null")).unwrap(), b"");
        let error = bounded(1 << 20).read(Path::new("/dev/zero")).unwrap_err();
        assert_eq!(error.message, "the file is larger than 1 MiB");
    }

    #[test]
    fn sizes_are_said_in_the_largest_whole_unit() {
        assert_eq!(size(1 << 20), "1 MiB");
        assert_eq!(size(16 << 20), "16 MiB");
        assert_eq!(size(64 << 10), "64 KiB");
        assert_eq!(size(1000), "1000 bytes");
    }
}
