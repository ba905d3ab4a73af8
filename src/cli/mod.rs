//! The binary's half of the command line: argument value types, progress bars and the
//! printing of each command's result. The library knows nothing of it.

pub mod args;
pub mod print;
pub mod progress;
