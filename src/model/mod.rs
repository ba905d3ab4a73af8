//! Shared data types, without I/O: calendar days, the stored rows, a snapshot cell and the
//! fitted parameters recorded with every snapshot.

pub mod cell;
pub mod day;
pub mod digest;
pub mod episode;
pub mod http_url;
pub mod layer;
pub mod params;
pub mod progress;
pub mod rand;
pub mod rows;
pub mod shard;
pub mod visibility;
