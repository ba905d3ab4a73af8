//! Alerts: the cells of a snapshot that entered high or critical risk, or became coverage
//! gaps, since an earlier snapshot.

use crate::model::cell::{CellRecord, Tier};
use crate::model::day::format_date;
use crate::model::visibility::Audience;
use crate::store::snapshot::{load_columns, Snapshot};
use crate::store::{Store, StoreError};
use std::collections::HashMap;

/// The earlier snapshot an alert compares with: its date, and each cell's tier and gap flag.
#[derive(Debug, Clone, Default)]
pub struct Earlier {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Tier and gap flag by cell.
    pub cells: HashMap<u64, (Tier, bool)>,
}

impl Earlier {
    /// The latest stored snapshot dated on or before `since` (`None` when there is none),
    /// reading only the columns the comparison needs.
    pub fn on_or_before(store: &Store, since: i32) -> Result<Option<Earlier>, StoreError> {
        let Some(date) = store
            .manifest()
            .snapshots
            .range(..=format_date(since))
            .next_back()
            .map(|(d, _)| d.clone())
        else {
            return Ok(None);
        };
        let cells = load_columns(store, &date, &["cell", "tier", "gap"])?;
        let cells = cells
            .iter()
            .map(|r| (r.cell, (r.tier, r.flags.gap)))
            .collect();
        Ok(Some(Earlier { date, cells }))
    }
}

/// One alerting cell.
#[derive(Debug, Clone, Copy)]
pub struct Alert<'a> {
    /// The cell now.
    pub record: &'a CellRecord,
    /// High or critical now, and not then.
    pub entered_high: bool,
    /// A gap now and not then (only for an audience that sees deployments; else false).
    pub new_gap: bool,
    /// The tier then (`None`: the cell was not in the earlier grid, or there was none).
    pub tier_then: Option<Tier>,
}

/// The cells of `snap` that entered high risk since `earlier`, and, for an audience that
/// sees deployments, those that became gaps; in the snapshot's cell order.
pub fn alerts<'a>(
    snap: &'a Snapshot,
    earlier: Option<&Earlier>,
    audience: Audience,
) -> Vec<Alert<'a>> {
    let gaps = audience.sees_deployments();
    snap.cells
        .iter()
        .filter_map(|r| {
            let old = earlier.and_then(|e| e.cells.get(&r.cell).copied());
            let entered_high = r.tier.is_high() && !old.is_some_and(|(t, _)| t.is_high());
            let new_gap = gaps && r.flags.gap && !old.is_some_and(|(_, g)| g);
            (entered_high || new_gap).then_some(Alert {
                record: r,
                entered_high,
                new_gap,
                tier_then: old.map(|(t, _)| t),
            })
        })
        .collect()
}
