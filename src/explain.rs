//! Why is a cell red? The events behind one cell's score, recomputed with the scoring
//! pipeline's own weights (`score::weighted_events`), so that their sums give back the
//! snapshot's components exactly.

use crate::config::Config;
use crate::grid::{cell_from_u64, center, distance_km};
use crate::score::{placement, saturate, weighted_events, AreaIndex, Placement, ScoreError};
use crate::snapshot::{CellRecord, Snapshot};
use crate::store::Store;
use crate::tables::AreaCell;
use crate::util::format_date;

/// How an event reaches the cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// Located in the cell.
    InCell,
    /// Located only to an admin area that contains the cell, spread over its cells.
    AdminArea,
    /// Located in a cell nearby (the spread component).
    Nearby,
}

impl Via {
    /// Label used in outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            Via::InCell => "in cell",
            Via::AdminArea => "admin area",
            Via::Nearby => "nearby",
        }
    }
}

/// One event's part in a cell's score.
#[derive(Debug, Clone, PartialEq)]
pub struct Contribution {
    /// `source:source_id`.
    pub event: String,
    /// Last day of the event.
    pub date: String,
    /// Canonical category.
    pub category: String,
    /// Fatalities.
    pub fatalities: i64,
    /// Location precision.
    pub precision: String,
    /// Distance from the event's cell centre to this cell's centre, km.
    pub distance_km: f64,
    /// How it reaches the cell.
    pub via: Via,
    /// Amount added to the civilian-harm sum H.
    pub harm: f64,
    /// Amount added to the armed-conflict sum C.
    pub conflict: f64,
    /// Amount added to the spread sum S.
    pub spread: f64,
    /// Rank key: hazard weight × amount / saturation scale, summed over the three sums (the
    /// event's effect on the hazard when the cell is quiet).
    pub weight: f64,
}

/// A cell's score and the events behind it.
#[derive(Debug, Clone)]
pub struct Explanation {
    /// Snapshot date.
    pub date: String,
    /// The cell's row of the snapshot.
    pub record: CellRecord,
    /// Raw sums H, C, S rebuilt from the events.
    pub sums: [f64; 3],
    /// Every contributing event, largest first.
    pub contributions: Vec<Contribution>,
}

/// Explains `cell` in the snapshot of `date` (default: the latest).
pub fn explain(
    store: &Store,
    config: &Config,
    cell: u64,
    date: Option<&str>,
) -> Result<Explanation, ScoreError> {
    let snapshot = Snapshot::load(store, date)?;
    let record = snapshot
        .index
        .get(&cell)
        .map(|i| snapshot.cells[*i].clone())
        .ok_or_else(|| ScoreError::NotInGrid {
            cell: cell_from_u64(cell)
                .map(|c| c.to_string())
                .unwrap_or_default(),
            date: snapshot.date.clone(),
        })?;
    let day = crate::util::parse_iso_date(&snapshot.date).unwrap_or_default();
    let cfg = &config.score;
    let Some(path) = store.table_path("events") else {
        return Err(ScoreError::NoEvents);
    };
    let df = weighted_events(&path, day, cfg, true)?;
    let area_cells: Vec<AreaCell> = store.read()?;
    let areas = AreaIndex::new(&area_cells);
    let here = center(cell_from_u64(cell)?);

    let cells = df.column("cell")?.u64()?;
    let precision = df.column("precision")?.str()?;
    let kind = df.column("kind")?.f64()?;
    let w = df.column("w")?.f64()?;
    let w_unit = df.column("w_unit")?.f64()?;
    let source = df.column("source")?.str()?;
    let source_id = df.column("source_id")?.str()?;
    let category = df.column("category")?.str()?;
    let fatalities = df
        .column("fatalities")?
        .cast(&polars::prelude::DataType::Int64)?;
    let fatalities = fatalities.i64()?;
    let days = df.column("day")?.i32()?;

    let mut contributions = Vec::new();
    let mut sums = [0.0f64; 3];
    let counted = df.column("counted")?.bool()?;
    for i in 0..df.height() {
        let (Some(ec), Some(k)) = (cells.get(i), kind.get(i).filter(|k| !k.is_nan())) else {
            continue;
        };
        if counted.get(i) == Some(false) {
            continue;
        }
        let harm = k > 0.5;
        // The cells the event's weight sits in, each with its share (as in scoring).
        let (w, w_unit) = (w.get(i).unwrap_or(0.0), w_unit.get(i).unwrap_or(0.0));
        let (placed, admin): (Vec<(u64, f64)>, bool) =
            match placement(&areas, precision.get(i), ec, w, w_unit) {
                Placement::Area(area, share) => (area.iter().map(|c| (*c, share)).collect(), true),
                Placement::Point(c, weight) => (vec![(c, weight)], false),
            };
        let (mut own, mut spread) = (0.0, 0.0);
        for (c, weight) in &placed {
            if *c == cell {
                own += weight;
            } else if let Ok(ci) = cell_from_u64(*c) {
                let d = distance_km(center(ci), here);
                if d <= cfg.spread_km {
                    let signal = if harm { *weight } else { 0.5 * weight };
                    spread += signal * (-d / cfg.spread_decay_km).exp();
                }
            }
        }
        if own == 0.0 && spread == 0.0 {
            continue;
        }
        let (h, c) = if harm { (own, 0.0) } else { (0.0, own) };
        sums[0] += h;
        sums[1] += c;
        sums[2] += spread;
        let hw = cfg.hazard_weights;
        let distance = cell_from_u64(ec)
            .map(|e| distance_km(center(e), here))
            .unwrap_or(0.0);
        contributions.push(Contribution {
            event: format!(
                "{}:{}",
                source.get(i).unwrap_or(""),
                source_id.get(i).unwrap_or("")
            ),
            date: days.get(i).map(format_date).unwrap_or_default(),
            category: category.get(i).unwrap_or("").to_owned(),
            fatalities: fatalities.get(i).unwrap_or(0),
            precision: precision.get(i).unwrap_or("").to_owned(),
            distance_km: distance,
            via: if own > 0.0 && admin {
                Via::AdminArea
            } else if own > 0.0 {
                Via::InCell
            } else {
                Via::Nearby
            },
            harm: h,
            conflict: c,
            spread,
            weight: hw[0] * h / cfg.harm_scale
                + hw[1] * c / cfg.conflict_scale
                + hw[2] * spread / cfg.spread_scale,
        });
    }
    contributions.sort_by(|a, b| b.weight.total_cmp(&a.weight).then(a.event.cmp(&b.event)));
    Ok(Explanation {
        date: snapshot.date,
        record,
        sums,
        contributions,
    })
}

impl Explanation {
    /// The components rebuilt from the sums (equal to the snapshot's).
    pub fn components(&self, config: &Config) -> [f64; 3] {
        let c = &config.score;
        [
            saturate(self.sums[0], c.harm_scale),
            saturate(self.sums[1], c.conflict_scale),
            saturate(self.sums[2], c.spread_scale),
        ]
    }

    /// A plain-text report: the score, its decomposition, coverage and the top `n` events.
    pub fn report(&self, n: usize) -> String {
        let r = &self.record;
        let h3 = cell_from_u64(r.cell)
            .map(|c| c.to_string())
            .unwrap_or_default();
        let mut s = format!(
            "cell {h3} on {} ({})\n  risk {:.3}, tier {}{}\n",
            self.date,
            r.area.as_deref().unwrap_or("no area"),
            r.risk,
            r.tier.as_str(),
            match (r.delta_risk, r.prev_tier) {
                (Some(d), Some(t)) => format!(" (was {}, change {:+.3})", t.as_str(), d),
                (Some(d), None) => format!(" (change {d:+.3})"),
                _ => String::new(),
            }
        );
        s.push_str(&format!(
            "  hazard {:.3} = civilian harm {:.3} ({:.0} %) + armed conflict {:.3} ({:.0} %) + spread {:.3} ({:.0} %)\n",
            r.hazard,
            r.harm,
            100.0 * r.harm_share,
            r.conflict,
            100.0 * r.conflict_share,
            r.spread,
            100.0 * r.spread_share
        ));
        s.push_str(&format!(
            "  exposure {:.3} ({})\n",
            r.exposure,
            r.population
                .map_or("no population data: neutral".to_owned(), |p| format!(
                    "{p:.0} residents"
                ))
        ));
        s.push_str(&format!(
            "  {}; nearest base {}\n",
            if r.gap {
                "COVERAGE GAP: high risk and no protecting base in reach".to_owned()
            } else if r.covered {
                format!("covered, {} troops in reach", r.troops_in_reach)
            } else {
                "not covered".to_owned()
            },
            match (&r.nearest_base, r.nearest_base_km) {
                (Some(b), Some(km)) => format!("{b} at {km:.1} km"),
                _ => "none".to_owned(),
            }
        ));
        s.push_str(&format!(
            "  {} contributing events; the {} largest:\n",
            self.contributions.len(),
            n.min(self.contributions.len())
        ));
        s.push_str("    event                       date        category         deaths  precision  km     via         H       C       S\n");
        for c in self.contributions.iter().take(n) {
            s.push_str(&format!(
                "    {:<27} {:<11} {:<16} {:>6}  {:<9} {:>6.1}  {:<10} {:>6.3}  {:>6.3}  {:>6.3}\n",
                c.event,
                c.date,
                c.category,
                c.fatalities,
                c.precision,
                c.distance_km,
                c.via.as_str(),
                c.harm,
                c.conflict,
                c.spread
            ));
        }
        s
    }
}
