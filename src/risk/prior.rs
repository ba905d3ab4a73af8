//! The snapshots a scoring run takes its deltas (previous risk and tier) from.

use crate::store::Store;
use std::collections::BTreeSet;

/// The snapshots a run takes its deltas from: those in the store when the run started, and
/// the days scored so far in the run (which replace stored ones of the same date).
#[derive(Debug, Clone)]
pub struct Prior {
    /// The store (its files: a bucket's are fetched into its cache when read).
    pub(super) store: Store,
    stored: std::collections::BTreeMap<String, String>,
    scored: BTreeSet<String>,
}

impl Prior {
    /// The store's snapshots now.
    pub fn of(store: &Store) -> Self {
        Prior {
            store: store.clone(),
            stored: store
                .manifest()
                .snapshots
                .iter()
                .map(|(d, i)| (d.clone(), i.file.clone()))
                .collect(),
            scored: BTreeSet::new(),
        }
    }

    /// Notes that `day` was scored in this run.
    pub fn record(&mut self, day: &str) {
        self.scored.insert(day.to_owned());
    }

    /// The latest snapshot date before `day`, with its file when it comes from the store.
    pub(super) fn latest_before(&self, day: &str) -> Option<(String, Option<String>)> {
        let stored = self.stored.range::<String, _>(..day.to_owned()).next_back();
        let scored = self.scored.range::<String, _>(..day.to_owned()).next_back();
        match (stored, scored) {
            (Some((s, f)), Some(r)) if s > r => Some((s.clone(), Some(f.clone()))),
            (_, Some(r)) => Some((r.clone(), None)),
            (Some((s, f)), None) => Some((s.clone(), Some(f.clone()))),
            (None, None) => None,
        }
    }
}
