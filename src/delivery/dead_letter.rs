//! The dead-letter file: messages every attempt failed for, one JSON object per line,
//! appended and synced; `vigil alerts redeliver` sends them again and rewrites the file
//! (atomically) with those that failed again.

use super::DeliveryError;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// One undelivered message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadLetter {
    /// The destination's name.
    pub destination: String,
    /// `X-Vigil-Delivery`.
    pub delivery: String,
    /// The JSON body, as it was to be sent.
    pub body: String,
    /// Attempts made.
    pub attempts: u32,
    /// The last error.
    pub error: String,
    /// When it was given up (Unix seconds).
    pub at: u64,
}

/// The dead-letter file of a store (`<store>/alerts/dead-letter.jsonl`).
#[derive(Debug, Clone)]
pub struct DeadLetters {
    path: PathBuf,
}

impl DeadLetters {
    /// The file under `store_root`.
    pub fn of_store(store_root: &Path) -> Self {
        Self {
            path: store_root.join("alerts").join("dead-letter.jsonl"),
        }
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn error(&self, message: String) -> DeliveryError {
        DeliveryError::DeadLetter {
            path: self.path.display().to_string(),
            message,
        }
    }

    /// Appends `letter` and syncs the file.
    pub fn append(&self, letter: &DeadLetter) -> Result<(), DeliveryError> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| self.error(e.to_string()))?;
        }
        let mut line = serde_json::to_string(letter).map_err(|e| self.error(e.to_string()))?;
        line.push('\n');
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| self.error(e.to_string()))?;
        // A run killed in the middle of an append left a line without its end: start on a
        // line of our own (the reader skips the fragment; the message is still in the
        // outbox, so it was not lost).
        if ends_mid_line(&mut f).map_err(|e| self.error(e.to_string()))? {
            line.insert(0, '\n');
        }
        f.write_all(line.as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| self.error(e.to_string()))
    }

    /// Every letter in the file (none when there is no file); a line that is not a letter
    /// is an error naming the line.
    pub fn read(&self) -> Result<Vec<DeadLetter>, DeliveryError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(self.error(e.to_string())),
        };
        let lines: Vec<&str> = text.split('\n').collect();
        let mut out = Vec::new();
        for (i, l) in lines.iter().enumerate() {
            if l.trim().is_empty() {
                continue;
            }
            match serde_json::from_str(l) {
                Ok(letter) => out.push(letter),
                // A fragment an append killed midway left (not ended by a newline, or
                // followed by one that started afresh): skipped, the message is still
                // in the outbox.
                Err(e) if e.is_eof() => {
                    tracing::warn!(path = %self.path.display(), line = i + 1, "skipping an unfinished line of the dead-letter file");
                }
                Err(e) => return Err(self.error(format!("line {}: {e}", i + 1))),
            }
        }
        Ok(out)
    }

    /// Replaces the file with `letters` (removes it when there are none), atomically.
    pub fn rewrite(&self, letters: &[DeadLetter]) -> Result<(), DeliveryError> {
        if letters.is_empty() {
            return match std::fs::remove_file(&self.path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    Err(self.error(e.to_string()))
                }
                _ => Ok(()),
            };
        }
        let mut text = String::new();
        for l in letters {
            text.push_str(&serde_json::to_string(l).map_err(|e| self.error(e.to_string()))?);
            text.push('\n');
        }
        let tmp = self.path.with_extension("jsonl.tmp");
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::File::open(&tmp)?.sync_all())
            .and_then(|()| std::fs::rename(&tmp, &self.path))
            .map_err(|e| self.error(e.to_string()))
    }
}

/// Whether the file's last byte is not a newline (an append was cut short).
fn ends_mid_line(f: &mut std::fs::File) -> std::io::Result<bool> {
    use std::io::{Read, Seek, SeekFrom};
    let len = f.metadata()?.len();
    if len == 0 {
        return Ok(false);
    }
    f.seek(SeekFrom::Start(len - 1))?;
    let mut last = [0u8; 1];
    f.read_exact(&mut last)?;
    Ok(last[0] != b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_append_read_back_and_rewrite() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let dl = DeadLetters::of_store(dir.path());
        assert_eq!(dl.read().ok(), Some(Vec::new()));
        let letter = |n: u32| DeadLetter {
            destination: "joc".into(),
            delivery: format!("risk-20240601-{n}.v1"),
            body: "{\"a\":1}".into(),
            attempts: 5,
            error: "refused".into(),
            at: 1,
        };
        for n in 1..=3 {
            assert!(dl.append(&letter(n)).is_ok());
        }
        assert_eq!(dl.read().ok(), Some(vec![letter(1), letter(2), letter(3)]));
        assert!(dl.rewrite(&[letter(2)]).is_ok());
        assert_eq!(dl.read().ok(), Some(vec![letter(2)]));
        assert!(dl.rewrite(&[]).is_ok());
        assert!(!dl.path().exists());
        std::fs::create_dir_all(dir.path().join("alerts")).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dl.path(), "{\"destination\":1}\n").unwrap_or_else(|e| panic!("{e}"));
        let err = dl.read().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("line 1"), "{err}");
    }

    #[test]
    fn an_append_cut_short_by_a_crash_is_skipped_and_the_next_starts_afresh() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let dl = DeadLetters::of_store(dir.path());
        let letter = |n: u32| DeadLetter {
            destination: "joc".into(),
            delivery: format!("gap-20240601-{n}.v1"),
            body: "{}".into(),
            attempts: 1,
            error: "down".into(),
            at: 2,
        };
        assert!(dl.append(&letter(1)).is_ok());
        // Half of a second line, as a SIGKILL during the write leaves it.
        let whole = serde_json::to_string(&letter(2)).unwrap_or_default();
        let mut text = std::fs::read_to_string(dl.path()).unwrap_or_default();
        text.push_str(&whole[..whole.len() / 2]);
        std::fs::write(dl.path(), &text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(dl.read().ok(), Some(vec![letter(1)]));
        // The next run dead-letters it again, on a line of its own.
        assert!(dl.append(&letter(2)).is_ok());
        assert_eq!(dl.read().ok(), Some(vec![letter(1), letter(2)]));
    }
}
