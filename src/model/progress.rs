//! Progress of long operations: the library reports how far it is; whoever runs it decides
//! how to show it. The command line installs a [`Reporter`] that draws bars on standard
//! error; without one (tests, the server, benchmarks) progress goes nowhere.

use std::sync::OnceLock;

/// What a count is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Days (scoring) or origins (backtest, calibration).
    Days,
    /// Bytes of an input file.
    Bytes,
}

/// Starts the display of one operation.
pub trait Reporter: Send + Sync {
    /// An operation labelled `what`, of `len` units, begins.
    fn start(&self, what: &str, unit: Unit, len: u64) -> Box<dyn Task>;
}

/// The display of one running operation.
pub trait Task: Send + Sync {
    /// `pos` units are done.
    fn set_position(&self, pos: u64);
    /// `n` more units are done.
    fn inc(&self, n: u64);
    /// What is being worked on now (a date, say).
    fn set_message(&self, msg: &str);
    /// The operation ended.
    fn finish(&self);
}

static REPORTER: OnceLock<Box<dyn Reporter>> = OnceLock::new();

/// Installs the process's reporter (once; `false` when one was already installed).
pub fn set_reporter(reporter: Box<dyn Reporter>) -> bool {
    REPORTER.set(reporter).is_ok()
}

/// The progress of one operation, reported to the installed [`Reporter`], if any.
pub struct Progress(Option<Box<dyn Task>>);

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Progress(shown)"
        } else {
            "Progress(hidden)"
        })
    }
}

impl Progress {
    /// An operation labelled `what` of `len` units begins.
    pub fn start(what: &str, unit: Unit, len: u64) -> Self {
        Progress(REPORTER.get().map(|r| r.start(what, unit, len)))
    }

    /// Progress that nobody sees.
    pub fn hidden() -> Self {
        Progress(None)
    }

    /// `pos` units are done.
    pub fn set_position(&self, pos: u64) {
        if let Some(t) = &self.0 {
            t.set_position(pos);
        }
    }

    /// One more unit is done, working on `msg`.
    pub fn step(&self, msg: &str) {
        if let Some(t) = &self.0 {
            t.set_message(msg);
            t.inc(1);
        }
    }

    /// The operation ended.
    pub fn finish(&self) {
        if let Some(t) = &self.0 {
            t.finish();
        }
    }
}
