//! Analyses over stored snapshots: coverage summaries, roll-ups, responsiveness, coverage
//! recomputed for other reach radii or bases, what-if scenarios, base planning, killings
//! outside every base's reach, and their tables.

pub mod alerts;
pub mod episodes;
pub mod outside_reach;
pub mod plan;
pub mod recompute;
pub mod report;
pub mod responsiveness;
pub mod rollup;
pub mod scenario;
pub mod summary;
