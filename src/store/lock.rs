//! The store's writer lock: one writer at a time, readers never blocked.
//!
//! A writer holds an OS advisory lock (`flock`) on `store/.lock` for as long as it may write;
//! the operating system releases it when the process ends, however it ends (kill -9
//! included), so a dead writer never leaves the store locked. After taking the lock the
//! writer records who it is (pid, command line, since when) in the same file, so that a
//! second writer can say who it is waiting for. Readers never touch the lock.

use crate::store::StoreError;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::{Duration, Instant};

/// The lock file inside the store folder.
pub const LOCK_FILE: &str = ".lock";

/// How a writer waits for the lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockOptions {
    /// How long to wait for another writer to finish (`--lock-timeout`, default 10 min).
    pub timeout: Duration,
    /// Fail at once when another writer holds the lock (`--no-wait`).
    pub no_wait: bool,
}

impl Default for LockOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(600),
            no_wait: false,
        }
    }
}

/// A held writer lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct WriterLock {
    file: File,
}

impl WriterLock {
    /// Takes the writer lock of the store at `root`, waiting up to `opts.timeout` (printing
    /// once, on standard error, who holds it), or failing at once with `opts.no_wait`.
    pub fn acquire(root: &Path, opts: &LockOptions) -> Result<Self, StoreError> {
        let path = root.join(LOCK_FILE);
        let io = |source| StoreError::Io {
            path: path.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        let started = Instant::now();
        let mut told = false;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) => {
                    let holder = holder(&mut file);
                    if opts.no_wait || started.elapsed() >= opts.timeout {
                        return Err(StoreError::Locked {
                            path: root.to_path_buf(),
                            holder,
                            waited: if opts.no_wait {
                                " (--no-wait)".to_owned()
                            } else {
                                format!(" (waited {} s)", started.elapsed().as_secs())
                            },
                        });
                    }
                    if !told {
                        told = true;
                        eprintln!(
                            "store {} is being written by {holder}; waiting up to {} s for it to finish (--lock-timeout, --no-wait)",
                            root.display(),
                            opts.timeout.as_secs()
                        );
                        tracing::info!(store = %root.display(), %holder, "waiting for the writer lock");
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
            }
        }
        // Who holds it, for writers that will wait: rewritten in place, the lock stays.
        let me = format!(
            "pid {}, `{}`, since {}",
            std::process::id(),
            command_line(),
            crate::model::day::rfc3339_now()
        );
        let written = file
            .set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(me.as_bytes()))
            .and_then(|()| file.flush());
        if let Err(e) = written {
            // The lock is held all the same; only the message of a waiting writer suffers.
            tracing::warn!(error = %e, "cannot record the lock holder");
        }
        Ok(Self { file })
    }
}

impl Drop for WriterLock {
    fn drop(&mut self) {
        // Closing the file releases the lock too; unlocking first makes it immediate.
        let _ = self.file.unlock();
    }
}

/// What the holder recorded (or a placeholder while it is still writing it).
fn holder(file: &mut File) -> String {
    let mut text = String::new();
    let read = file
        .seek(SeekFrom::Start(0))
        .and_then(|_| file.take(4096).read_to_string(&mut text));
    match read {
        Ok(_) if !text.trim().is_empty() => text.trim().to_owned(),
        _ => "another writer".to_owned(),
    }
}

fn command_line() -> String {
    let args: Vec<String> = std::env::args().collect();
    let mut line = args.join(" ");
    if line.len() > 200 {
        let mut end = 200;
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        line.truncate(end);
        line.push('…');
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_writer_fails_at_once_with_no_wait_and_names_the_holder() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let first = WriterLock::acquire(dir.path(), &LockOptions::default())
            .unwrap_or_else(|e| panic!("{e}"));
        let opts = LockOptions {
            timeout: Duration::from_secs(600),
            no_wait: true,
        };
        let err = WriterLock::acquire(dir.path(), &opts)
            .err()
            .unwrap_or_else(|| panic!("the lock was taken twice"));
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("pid {}", std::process::id())),
            "{msg}"
        );
        assert!(msg.contains("--no-wait"), "{msg}");
        drop(first);
        WriterLock::acquire(dir.path(), &opts).unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn a_waiting_writer_gets_the_lock_when_the_holder_lets_go() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let first = WriterLock::acquire(dir.path(), &LockOptions::default())
            .unwrap_or_else(|e| panic!("{e}"));
        let root = dir.path().to_path_buf();
        let waiter = std::thread::spawn(move || {
            let t = Instant::now();
            WriterLock::acquire(&root, &LockOptions::default()).map(|_| t.elapsed())
        });
        std::thread::sleep(Duration::from_millis(300));
        drop(first);
        let waited = waiter
            .join()
            .unwrap_or_else(|_| panic!("waiter panicked"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(waited >= Duration::from_millis(250), "{waited:?}");
    }

    #[test]
    fn a_timeout_ends_the_wait() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let _first = WriterLock::acquire(dir.path(), &LockOptions::default())
            .unwrap_or_else(|e| panic!("{e}"));
        let opts = LockOptions {
            timeout: Duration::from_millis(200),
            no_wait: false,
        };
        let err = WriterLock::acquire(dir.path(), &opts)
            .err()
            .unwrap_or_else(|| panic!("the lock was taken twice"));
        assert!(err.to_string().contains("waited"), "{err}");
    }
}
