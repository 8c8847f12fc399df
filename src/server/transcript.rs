//! A slot's raw transcript: every byte its sessions wrote, appended to
//! `<slot>.raw`, bounded on disk. When the file would pass its limit it
//! becomes `<slot>.raw.1` (replacing the one before) and a new file starts,
//! so a slot never holds more than twice the limit.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// One slot's transcript file, written by the session's reader thread.
#[derive(Debug)]
pub(super) struct Transcript {
    file: File,
    path: PathBuf,
    /// Bytes in the current file.
    len: u64,
    /// The most bytes one file holds before it is rotated (a single write
    /// larger than this still goes whole into a fresh file).
    max: u64,
}

impl Transcript {
    /// Opens (appending to) `<dir>/<id>.raw`, rotating at `max` bytes.
    ///
    /// Errors: the file cannot be opened or its length read.
    pub(super) fn open(dir: &Path, id: &str, max: u64) -> std::io::Result<Transcript> {
        Transcript::open_file(dir, &format!("{id}.raw"), max)
    }

    /// Opens (appending to) `<dir>/<name>`, rotating at `max` bytes.
    ///
    /// Errors: the file cannot be opened or its length read.
    pub(super) fn open_file(dir: &Path, name: &str, max: u64) -> std::io::Result<Transcript> {
        let path = dir.join(name);
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        let len = file.metadata()?.len();
        Ok(Transcript {
            file,
            path,
            len,
            max: max.max(1),
        })
    }

    /// Appends `bytes`, first rotating the file if they would take it past
    /// its limit.
    ///
    /// Errors: the write, the rename or the new file failed (the caller
    /// stops writing the transcript).
    pub(super) fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let n = bytes.len() as u64;
        if self.len > 0 && self.len + n > self.max {
            let mut old = self.path.clone().into_os_string();
            old.push(".1");
            std::fs::rename(&self.path, &old)?;
            self.file = OpenOptions::new()
                .create(true)
                .write(true)
                .truncate(true)
                .open(&self.path)?;
            self.len = 0;
        }
        self.file.write_all(bytes)?;
        self.len += n;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_at_the_limit_keeping_one_older_file() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mut t = Transcript::open(dir.path(), "s", 100).unwrap_or_else(|e| panic!("{e}"));
        let mut all = Vec::new();
        for i in 0..50u8 {
            let chunk = vec![b'a' + i % 26; 7 + usize::from(i % 5)];
            t.write(&chunk).unwrap_or_else(|e| panic!("{e}"));
            all.extend_from_slice(&chunk);
        }
        let cur = std::fs::read(dir.path().join("s.raw")).unwrap_or_default();
        let old = std::fs::read(dir.path().join("s.raw.1")).unwrap_or_default();
        assert!(
            cur.len() <= 100 && old.len() <= 100,
            "{} {}",
            cur.len(),
            old.len()
        );
        assert!(old.len() > 100 - 12, "the older file was full");
        // The two files are the stream's tail, in order.
        let tail = [old, cur].concat();
        assert!(all.ends_with(&tail));
        // Reopened, it appends and keeps counting.
        drop(t);
        let mut t = Transcript::open(dir.path(), "s", 100).unwrap_or_else(|e| panic!("{e}"));
        let before = std::fs::read(dir.path().join("s.raw")).unwrap_or_default();
        t.write(&[b'z'; 100]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            std::fs::read(dir.path().join("s.raw.1")).unwrap_or_default(),
            before
        );
        assert_eq!(
            std::fs::read(dir.path().join("s.raw")).unwrap_or_default(),
            [b'z'; 100]
        );
    }
}
