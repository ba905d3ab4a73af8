//! Why is a cell red? The events behind one cell's score, recomputed with the scoring
//! engine's own functions (`risk::placement`, `decay`, `kernel`, `escalation`, `index`), so
//! that their sums give back the snapshot's components.

use crate::config::Config;
use crate::grid::{cell_from_u64, center, distance_km, unit, unit_distance_km};
use crate::model::cell::CellRecord;
use crate::model::day::format_date;
use crate::model::params::Normalisation;
use crate::risk::events::{Ages, Trend};
use crate::risk::forecast_terms::ForecastExplanation;
use crate::risk::{
    decay, escalation, index, placement, Amounts, AreaCells, AreaIndex, EventClass, EventSet,
    Index, Placed, ScoreError, SpreadKernel,
};
use crate::store::snapshot::Snapshot;
use crate::store::Store;

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
    /// Amount added to the neighbourhood's recent activity r.
    pub recent: f64,
    /// Amount added to the neighbourhood's baseline-period activity (before division into b).
    pub baseline: f64,
    /// Rank key: the event's threat load on a quiet cell (weights over reference levels,
    /// baseline activity counted per recent period).
    pub weight: f64,
}

/// A cell's score and the events behind it.
#[derive(Debug, Clone)]
pub struct Explanation {
    /// Snapshot date.
    pub date: String,
    /// The cell's row of the snapshot.
    pub record: CellRecord,
    /// The amounts rebuilt from the events (climate taken from the snapshot).
    pub amounts: Amounts,
    /// The normalisation the snapshot was scored with.
    pub normalisation: Normalisation,
    /// Every contributing event, largest first.
    pub contributions: Vec<Contribution>,
    /// The calibration behind the cell's probability, if the snapshot had one.
    pub calibration: Option<crate::model::params::Calibration>,
    /// The cell's forecast decomposed, with a calibration this version can apply.
    pub forecast: Option<ForecastExplanation>,
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
    let d = snapshot.day();
    let cfg = &config.score;
    let norm = snapshot
        .info
        .normalisation
        .clone()
        .unwrap_or_else(|| Normalisation::defaults(cfg));
    let Some(path) = store.table_path("events")? else {
        return Err(ScoreError::NoEvents);
    };
    let ages = Ages::of(cfg);
    let events = EventSet::load(&path, ages.read_from(d), d, true)?;
    let areas = AreaIndex::new(&AreaCells::load(store)?);
    let here = center(cell_from_u64(cell)?);
    let here_unit = unit(here);
    let per_period = f64::from(cfg.recent_days) / f64::from(cfg.baseline_days);
    let w = cfg.weights;
    let kernel = SpreadKernel::new(cfg.spread_km, cfg.spread_decay_km);

    let mut contributions = Vec::new();
    let (mut sum_h, mut sum_c, mut sum_s, mut sum_r, mut sum_b) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for i in events.counting_on(d, ages) {
        if !events.kind[i].weighs() {
            continue;
        }
        let age = d - events.day[i];
        let harm = events.kind[i] == EventClass::Harm;
        let g = events.kind[i].signal_factor();
        let sev = events.severity[i];
        let dec = decay(age, cfg.half_life_days);
        // The cells the event's weight sits in, each with its factor (as in scoring).
        let (placed, admin): (Vec<(u64, f64)>, bool) =
            match placement(&areas, events.precision[i], events.cell[i]) {
                Placed::Area(area) => (
                    area.iter().map(|c| (*c, 1.0 / area.len() as f64)).collect(),
                    true,
                ),
                Placed::Point(c, p) => (vec![(c, p)], false),
            };
        let (mut own, mut spread, mut r, mut b) = (0.0, 0.0, 0.0, 0.0);
        for (c, f) in &placed {
            let Ok(ci) = cell_from_u64(*c) else { continue };
            // The same distance function, kernel and operands as the engine's neighbourhoods.
            let source = unit(center(ci));
            let dist = unit_distance_km(&source, &here_unit);
            if ages.weighs(age) {
                let wd = sev * f * dec;
                if *c == cell {
                    own += wd;
                } else if let Some(k) = kernel.between(&source, &here_unit) {
                    spread += g * wd * k;
                }
            }
            if dist <= cfg.escalation_km {
                match ages.trend(age) {
                    Some(Trend::Recent) => r += g * sev * f,
                    Some(Trend::Baseline) => b += g * sev * f,
                    None => {}
                }
            }
        }
        if own == 0.0 && spread == 0.0 && r == 0.0 && b == 0.0 {
            continue;
        }
        let (h, c) = if harm { (own, 0.0) } else { (0.0, own) };
        sum_h += h;
        sum_c += c;
        sum_s += spread;
        sum_r += r;
        sum_b += b;
        let distance = cell_from_u64(events.cell[i])
            .map(|e| distance_km(center(e), here))
            .unwrap_or(0.0);
        let label = events.labels.get(i);
        contributions.push(Contribution {
            event: label.map(|l| l.id.clone()).unwrap_or_default(),
            date: format_date(events.day[i]),
            category: label.map(|l| l.category.clone()).unwrap_or_default(),
            fatalities: label.map_or(0, |l| l.fatalities),
            precision: events.precision[i].as_str().to_owned(),
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
            recent: r,
            baseline: b,
            weight: w[0] * h / norm.harm
                + w[1] * c / norm.conflict
                + w[2] * spread / norm.spread
                + w[3] * (r + b * per_period) / norm.trend,
        });
    }
    contributions.sort_by(|a, b| b.weight.total_cmp(&a.weight).then(a.event.cmp(&b.event)));
    let baseline = sum_b * per_period;
    let amounts = Amounts {
        harm: sum_h,
        conflict: sum_c,
        spread: sum_s,
        baseline,
        escalation: escalation(sum_r, baseline, cfg.escalation_smoothing),
        climate: record.climate,
    };
    // The forecast's inputs, by the engine's own computation as of the snapshot's day.
    let forecast = match &snapshot.info.calibration {
        Some(cal) if cal.unknown_features().is_empty() => {
            let mut engine = crate::risk::Engine::new(store, config, d, d)?;
            engine
                .forecast_inputs(d, cell, &record)
                .map(|x| ForecastExplanation::of(cal, &x))
        }
        _ => None,
    };
    Ok(Explanation {
        forecast,
        date: snapshot.date,
        record,
        amounts,
        normalisation: norm,
        contributions,
        calibration: snapshot.info.calibration,
    })
}

impl Explanation {
    /// The index rebuilt from the amounts (equal to the snapshot's).
    pub fn rebuilt(&self, config: &Config) -> Index {
        let r = &self.record;
        let residents = r.population.map(|p| p + r.displaced);
        index(&self.amounts, residents, &self.normalisation, &config.score)
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
        if let (Some(p), Some(c)) = (r.probability, &self.calibration) {
            s.push_str(&format!(
                "  probability of at least one civilian-harm event here within {} days: {:.1} % (calibrated on {}; base rate {:.2} %; at most {:.0} %)\n",
                c.horizon_days,
                100.0 * p,
                c.basis,
                100.0 * c.base_rate,
                100.0 * c.ceiling
            ));
        }
        if let Some(f) = &self.forecast {
            s.push_str("  what the forecast weighs (part of the log-odds):\n");
            for t in f.terms.iter().take(6) {
                s.push_str(&format!("    {:+.2}  {}\n", t.contribution, t.words));
            }
        }
        if r.watch {
            s.push_str("  ON WATCH: among the cells of highest probability\n");
        }
        s.push_str(&format!(
            "  hazard {:.3}; share of the threat load: civilian harm {:.0} %, armed conflict {:.0} %, spread {:.0} %, neighbourhood baseline {:.0} %, escalation {:.0} %, climate stress {:.0} %\n",
            r.hazard,
            100.0 * r.harm_share,
            100.0 * r.conflict_share,
            100.0 * r.spread_share,
            100.0 * r.baseline_share,
            100.0 * r.escalation_share,
            100.0 * r.climate_share,
        ));
        let a = &self.amounts;
        s.push_str(&format!(
            "  amounts: H {:.3}, C {:.3}, S {:.3}, baseline b {:.3}, escalation E {:.3}, climate stress {:.2} (normalisation: {})\n",
            a.harm, a.conflict, a.spread, a.baseline, a.escalation, a.climate, self.normalisation.basis
        ));
        s.push_str(&format!(
            "  exposure {:.3} ({})\n",
            r.exposure,
            r.population
                .map_or("no population data: neutral".to_owned(), |p| format!(
                    "{p:.0} residents, {:.0} in IDP sites",
                    r.displaced
                ))
        ));
        s.push_str(&format!(
            "  {}; nearest base {}\n",
            if r.flags.gap {
                "COVERAGE GAP: high risk or on watch, and no protecting base in reach".to_owned()
            } else if r.coverage.covered {
                format!("covered, {} troops in reach", r.coverage.troops_in_reach)
            } else {
                "not covered".to_owned()
            },
            match (&r.coverage.nearest_base, r.coverage.nearest_base_km) {
                (Some(b), Some(km)) => format!("{b} at {km:.1} km"),
                _ => "none".to_owned(),
            }
        ));
        s.push_str(&format!(
            "  {} contributing events; the {} largest:\n",
            self.contributions.len(),
            n.min(self.contributions.len())
        ));
        s.push_str("    event                       date        category         deaths  precision  km     via         H       C       S       r       b\n");
        for c in self.contributions.iter().take(n) {
            s.push_str(&format!(
                "    {:<27} {:<11} {:<16} {:>6}  {:<9} {:>6.1}  {:<10} {:>6.3}  {:>6.3}  {:>6.3}  {:>6.3}  {:>6.3}\n",
                c.event,
                c.date,
                c.category,
                c.fatalities,
                c.precision,
                c.distance_km,
                c.via.as_str(),
                c.harm,
                c.conflict,
                c.spread,
                c.recent,
                c.baseline
            ));
        }
        s
    }
}
