//! The scoring engine: loads a date range's inputs once, then computes as-of days one after
//! another. Per day it only walks the events alive on that day and their cached
//! neighbourhoods; placements, neighbour lists, coverage (per set of active bases), climate
//! stress (per month) and the previous day's risks are kept from day to day. A single day
//! is a range of one, so `score --date D` and `score --from … --to …` give identical
//! snapshots; without the forecast it gathers each grid cell's spread from the sources
//! within reach instead of building neighbour lists it would use once (the same sums to
//! the bit).

use super::areas::{first_level_names, AreaIndex, NONE};
use super::climate::ClimateModel;
use super::events::{Ages, EventClass, EventSet, Trend};
use super::features::{watched, CellInputs, FeatureGrid};
use super::index::{escalation, index, Amounts};
use super::inputs::Inputs;
use super::neighbourhood::{
    base_disks, gather, neighbourhoods, universe, Neighbours, SpreadKernel,
};
use super::placement::{Place, Sources};
use super::prior::Prior;
use super::ScoreError;
use crate::config::Config;
use crate::coverage::{active_bases, assess, is_active, CellCoverage, Flags};
use crate::grid::{cell_from_u64, center, resolution, unit, CellPositions, Unit};
use crate::model::cell::{CellRecord, Tier};
use crate::model::params::Normalisation;
use crate::model::params::{Calibration, P};
use crate::model::rows::{Base, IdpSite};
use crate::store::{SnapshotInfo, Store};
use h3o::Resolution;
use rayon::prelude::*;
use std::collections::HashMap;

/// What coverage depends on: each active base (its index) and whether its reach is reduced
/// for the rainy season.
type CoverageKey = Vec<(usize, bool)>;

/// Risk and tier of each grid position in the previous snapshot (`None`: not in it).
type PreviousRisks = Vec<Option<(f64, Tier)>>;

/// Decay factor 0.5^(age / half-life).
pub fn decay(age: i32, half_life_days: f64) -> f64 {
    0.5f64.powf(f64::from(age) / half_life_days)
}

/// Per-day amounts on the grid positions.
#[derive(Debug, Clone, Default)]
struct Day {
    harm: Vec<f64>,
    conflict: Vec<f64>,
    precise: Vec<f64>,
    spread: Vec<f64>,
    recent: Vec<f64>,
    base: Vec<f64>,
    events: Vec<i64>,
    civ90: Vec<i64>,
    /// Civilian fatalities of the last 30 days.
    civ30: Vec<i64>,
    in_grid: Vec<bool>,
}

/// Per-day sums by source (indices of the engine's source cells).
struct SourceDay {
    harm: Vec<f64>,
    conflict: Vec<f64>,
    precise: Vec<f64>,
    recent: Vec<f64>,
    base: Vec<f64>,
    events: Vec<i64>,
    civ90: Vec<i64>,
    civ30: Vec<i64>,
    /// Some event is placed on the source.
    touched: Vec<bool>,
    /// Some event within the look-back has the source as its own cell.
    seeds: Vec<bool>,
}

impl SourceDay {
    /// What source `s` spreads to its neighbourhood, before the kernel.
    fn signal(&self, s: usize) -> f64 {
        EventClass::Harm.signal_factor() * self.harm[s]
            + EventClass::Conflict.signal_factor() * self.conflict[s]
    }
}

/// One scored day, before publishing.
#[derive(Debug, Clone)]
pub struct Scored {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Rows, sorted by cell.
    pub rows: Vec<CellRecord>,
    /// Metadata for the manifest.
    pub info: SnapshotInfo,
    /// The forecast's inputs of each row, when the engine keeps them
    /// ([`Engine::keep_features`]).
    pub features: Option<Vec<[f32; P]>>,
    /// Changes when the day's cells or their coverage differ from the day this engine
    /// scored before: two days of one engine with the same number have rows of the same
    /// cells, centres, areas, residents and coverage (the snapshot's fixed columns,
    /// [`crate::model::cell::snapshot_frame`]).
    pub fixed: u64,
}

/// The loaded inputs of a range of as-of days.
pub struct Engine {
    config: Config,
    res: Resolution,
    norm: Normalisation,
    calibration: Option<Calibration>,
    events: EventSet,
    place: Vec<Place>,
    own: Vec<u32>,
    area_sources: Vec<Vec<u32>>,
    /// Each source's neighbourhood, built when the engine is loaded for a range of days, for
    /// the forecast or for a grid more than eight times the sources, else on first use: a
    /// single day without the forecast gathers its spread per grid cell instead
    /// ([`gather`]), without these lists.
    neighbours: std::sync::OnceLock<Vec<Neighbours>>,
    /// The source cells (sorted), of `neighbours`.
    source_cells: Vec<u64>,
    /// The grid's centres as unit vectors, by position.
    units: Vec<Unit>,
    /// How far the neighbourhoods reach, km.
    reach_km: f64,
    pos: CellPositions,
    source_pos: Vec<u32>,
    fixed_grid: bool,
    centres: Vec<(f64, f64)>,
    area_name: Vec<u32>,
    names: Vec<std::sync::Arc<str>>,
    population: Option<Vec<f64>>,
    idp: Vec<IdpSite>,
    bases: Vec<Base>,
    base_disks: Vec<Vec<u32>>,
    coverage: Option<(CoverageKey, Vec<CellCoverage>)>,
    climate: Option<ClimateModel>,
    rainfall: Option<ClimateModel>,
    base_rain_point: Vec<Option<usize>>,
    reduced: Vec<String>,
    climate_cache: Option<(i32, Vec<f64>)>,
    decay: Vec<f64>,
    previous: Option<(String, PreviousRisks)>,
    /// The grid positions scored and the coverage key of the last day, and its
    /// [`Scored::fixed`] number.
    last_fixed: Option<(Vec<usize>, CoverageKey, u64)>,
    /// The amounts of the next day to score, computed beside the last day's records
    /// ([`Engine::score_then`]).
    ahead: Vec<(i32, Day)>,
    /// A day's records given back once published ([`Engine::recycle`]): the next day's
    /// are collected into its memory.
    spare_rows: Vec<CellRecord>,
    features: FeatureGrid,
    keep_features: bool,
    /// Whether the forecast's three years of events were loaded: without them no
    /// probability is computed, whatever calibration is set.
    wide: bool,
}

/// A stored calibration this version can apply: one fitted on inputs it does not know
/// (by an older version) is set aside, with a warning.
fn usable(cal: Option<Calibration>) -> Option<Calibration> {
    let cal = cal?;
    let unknown = cal.unknown_features();
    if unknown.is_empty() {
        Some(cal)
    } else {
        tracing::warn!(
            unknown = unknown.join(", "),
            "the stored calibration was fitted on inputs this version does not compute: no probability until `vigil calibrate` fits it again"
        );
        None
    }
}

impl Engine {
    /// Loads what scoring the days `from..=to` needs from the store.
    pub fn new(store: &Store, config: &Config, from: i32, to: i32) -> Result<Self, ScoreError> {
        let forecast = store.manifest().calibration.is_some();
        Self::load(store, config, from, to, forecast)
    }

    /// [`Self::new`] with the forecast's three years of events loaded whether or not a
    /// calibration is stored (the backtest and calibration compute its inputs).
    pub fn for_forecast(
        store: &Store,
        config: &Config,
        from: i32,
        to: i32,
    ) -> Result<Self, ScoreError> {
        Self::load(store, config, from, to, true)
    }

    fn load(
        store: &Store,
        config: &Config,
        from: i32,
        to: i32,
        forecast: bool,
    ) -> Result<Self, ScoreError> {
        let res = resolution(config.grid.resolution)?;
        let cfg = &config.score;
        let t = std::time::Instant::now();
        let stage = |name: &str| {
            tracing::debug!(stage = name, ms = t.elapsed().as_millis() as u64, "engine")
        };
        let inputs = Inputs::read(store, config, from, to, forecast)?;
        stage("inputs read");
        let sources = Sources::of(
            &inputs.events,
            &AreaIndex::new(&inputs.area_cells),
            Ages::of(cfg).read_from(from),
        );
        stage("placements");
        let (fixed_grid, universe) = universe(
            &sources.cells,
            &inputs.area_cells,
            &inputs.bases,
            &inputs.population,
            cfg,
            res,
        );
        stage("universe");
        let pos = CellPositions::new(universe, res);
        let universe = pos.cells();
        let centres: Vec<(f64, f64)> = universe
            .par_iter()
            .map(|c| {
                cell_from_u64(*c)
                    .map(center)
                    .unwrap_or((f64::NAN, f64::NAN))
            })
            .collect();
        let units: Vec<Unit> = centres.par_iter().map(|c| unit(*c)).collect();
        stage("positions and centres");
        // A single day without the forecast gathers its spread per grid cell, unless the
        // grid is much larger than the sources' reach (each grid cell costs a search, each
        // listed pair a few bytes): lists then, as for a range.
        let neighbours = std::sync::OnceLock::new();
        if from != to || forecast || sources.cells.len().saturating_mul(8) < universe.len() {
            let _ = neighbours.set(neighbourhoods(&sources.cells, &pos, &units, cfg, res));
            stage("neighbourhoods");
        }
        let source_pos: Vec<u32> = sources
            .cells
            .iter()
            .map(|c| pos.get(*c).unwrap_or(NONE))
            .collect();
        let (names, area_name) =
            first_level_names(&inputs.areas, &inputs.area_cells, &pos, universe.len());
        let population = (!inputs.population.is_empty()).then(|| {
            let mut v = vec![0.0; universe.len()];
            for p in &inputs.population {
                if let Some(i) = pos.get(p.cell) {
                    v[i as usize] = p.population;
                }
            }
            v
        });
        let base_disks = base_disks(&inputs.bases, &pos, cfg, res);
        let climate = ClimateModel::new(&inputs.climate, cfg);
        let rainfall = ClimateModel::rainfall(&inputs.climate, cfg.climate_km);
        let base_rain_point = inputs
            .bases
            .iter()
            .map(|b| {
                rainfall
                    .as_ref()
                    .and_then(|r| r.nearest_point((b.lat, b.lon)))
            })
            .collect();
        let decay_table = (0..=Ages::of(cfg).lookback())
            .map(|a| decay(a, cfg.half_life_days))
            .collect();
        let features = FeatureGrid::new(res, pos.cells(), &area_name, names.len());
        stage("population, bases, climate, IDP");
        tracing::info!(
            events = inputs.events.len(),
            sources = sources.cells.len(),
            grid = universe.len(),
            "scoring inputs loaded"
        );
        Ok(Engine {
            config: config.clone(),
            res,
            norm: inputs.normalisation,
            calibration: usable(inputs.calibration),
            events: inputs.events,
            place: sources.place,
            own: sources.own,
            area_sources: sources.area_sources,
            neighbours,
            source_cells: sources.cells,
            units,
            reach_km: cfg.spread_km.max(cfg.escalation_km),
            pos,
            source_pos,
            fixed_grid,
            centres,
            area_name,
            names,
            population,
            idp: inputs.idp,
            bases: inputs.bases,
            base_disks,
            coverage: None,
            climate,
            rainfall,
            base_rain_point,
            reduced: Vec::new(),
            climate_cache: None,
            decay: decay_table,
            previous: None,
            last_fixed: None,
            ahead: Vec::new(),
            spare_rows: Vec::new(),
            features,
            keep_features: false,
            wide: forecast,
        })
    }

    /// Replaces the normalisation (default: the store's, else the configuration's).
    pub fn set_normalisation(&mut self, norm: Normalisation) {
        self.norm = norm;
    }

    /// Replaces the calibration (default: the store's).
    pub fn set_calibration(&mut self, cal: Option<Calibration>) {
        self.calibration = usable(cal);
    }

    /// Keeps the forecast's inputs of every scored row ([`Scored::features`]), for the
    /// backtest and calibration.
    pub fn keep_features(&mut self, keep: bool) {
        self.keep_features = keep;
    }

    /// The normalisation in use.
    pub fn normalisation(&self) -> &Normalisation {
        &self.norm
    }

    /// The sums of day `d` by source: each source's own amounts and what it spreads.
    fn source_day(&self, d: i32) -> SourceDay {
        let cfg = &self.config.score;
        let ns = self.source_cells.len();
        let (mut h, mut c, mut pr, mut r, mut b) = (
            vec![0.0; ns],
            vec![0.0; ns],
            vec![0.0; ns],
            vec![0.0; ns],
            vec![0.0; ns],
        );
        let mut ev = vec![0i64; ns];
        let mut civ = vec![0i64; ns];
        let mut civ30 = vec![0i64; ns];
        let mut touched = vec![false; ns];
        let mut seeds = vec![false; ns];
        let ages = Ages::of(cfg);
        let e = &self.events;
        for i in e.counting_on(d, ages) {
            let age = d - e.day[i];
            let o = self.own[i] as usize;
            if ages.weighs(age) {
                ev[o] += 1;
                seeds[o] = true;
                if age < 90 {
                    civ[o] += e.civilian_deaths[i];
                }
                if age < 30 {
                    civ30[o] += e.civilian_deaths[i];
                }
            }
            let kind = e.kind[i];
            let sev = e.severity[i];
            let dec = self.decay[age as usize];
            let mut add = |s: usize, f: f64, precise: bool| {
                touched[s] = true;
                if ages.weighs(age) && kind.weighs() {
                    let w = sev * f * dec;
                    if kind == EventClass::Harm {
                        h[s] += w;
                    } else {
                        c[s] += w;
                    }
                    if precise {
                        pr[s] += w;
                    }
                }
                let sig = kind.signal_factor() * sev * f;
                match ages.trend(age) {
                    Some(Trend::Recent) => r[s] += sig,
                    Some(Trend::Baseline) => b[s] += sig,
                    None => {}
                }
            };
            match self.place[i] {
                Place::None => {}
                Place::Point(s, p, precise) => add(s as usize, p, precise),
                Place::Area(a) => {
                    let cells = &self.area_sources[a as usize];
                    let f = 1.0 / cells.len() as f64;
                    for s in cells {
                        add(*s as usize, f, false);
                    }
                }
            }
        }
        SourceDay {
            harm: h,
            conflict: c,
            precise: pr,
            recent: r,
            base: b,
            events: ev,
            civ90: civ,
            civ30,
            touched,
            seeds,
        }
    }

    /// The raw amounts of every grid position on day `d`.
    fn amounts(&self, d: i32) -> Day {
        let src = self.source_day(d);
        let mut day = self.own_amounts(&src);
        match self.neighbours.get() {
            Some(neighbours) => self.scatter(&src, neighbours, &mut day),
            None => self.gather(&src, &mut day),
        }
        day
    }

    /// The raw amounts of days `d1` and `d2`, the same as [`Self::amounts`] of each: the
    /// sources' neighbourhood lists (12 bytes a pair, 100 MB a day in the 150,000-cell
    /// bench store) are read once for both days. Each day's sums take the same terms in
    /// the same order as alone.
    fn amounts_pair(&self, d1: i32, d2: i32) -> (Day, Day) {
        let Some(neighbours) = self.neighbours.get() else {
            return (self.amounts(d1), self.amounts(d2));
        };
        let (s1, s2) = rayon::join(|| self.source_day(d1), || self.source_day(d2));
        let (mut a, mut b) = (self.own_amounts(&s1), self.own_amounts(&s2));
        for (s, nb) in neighbours.iter().enumerate() {
            let p = self.source_pos[s];
            self.seed(&s1, s, nb, &mut a);
            self.seed(&s2, s, nb, &mut b);
            let sig1 = if s1.touched[s] { s1.signal(s) } else { 0.0 };
            let sig2 = if s2.touched[s] { s2.signal(s) } else { 0.0 };
            let n = nb.n_spread;
            let pairs = nb.pos[..n].iter().zip(&nb.kernel[..n]);
            match (sig1 > 0.0, sig2 > 0.0) {
                (true, true) => {
                    for (t, k) in pairs {
                        if *t != p {
                            a.spread[*t as usize] += sig1 * k;
                            b.spread[*t as usize] += sig2 * k;
                        }
                    }
                }
                (true, false) => spread_from(pairs, p, sig1, &mut a.spread),
                (false, true) => spread_from(pairs, p, sig2, &mut b.spread),
                (false, false) => {}
            }
            let esc1 = s1.touched[s] && (s1.recent[s] > 0.0 || s1.base[s] > 0.0);
            let esc2 = s2.touched[s] && (s2.recent[s] > 0.0 || s2.base[s] > 0.0);
            let reach = &nb.pos[..nb.n_esc];
            match (esc1, esc2) {
                (true, true) => {
                    for t in reach {
                        let t = *t as usize;
                        a.recent[t] += s1.recent[s];
                        a.base[t] += s1.base[s];
                        b.recent[t] += s2.recent[s];
                        b.base[t] += s2.base[s];
                    }
                }
                (true, false) => escalate_from(reach, &s1, s, &mut a),
                (false, true) => escalate_from(reach, &s2, s, &mut b),
                (false, false) => {}
            }
        }
        (a, b)
    }

    /// The amounts of the grid positions that are sources themselves; nothing spread yet.
    fn own_amounts(&self, src: &SourceDay) -> Day {
        let n = self.pos.len();
        let mut day = Day {
            harm: vec![0.0; n],
            conflict: vec![0.0; n],
            precise: vec![0.0; n],
            spread: vec![0.0; n],
            recent: vec![0.0; n],
            base: vec![0.0; n],
            events: vec![0; n],
            civ90: vec![0; n],
            civ30: vec![0; n],
            in_grid: vec![self.fixed_grid; n],
        };
        for (s, p) in self.source_pos.iter().enumerate() {
            if *p != NONE {
                let p = *p as usize;
                day.harm[p] = src.harm[s];
                day.conflict[p] = src.conflict[s];
                day.precise[p] = src.precise[s];
                day.events[p] = src.events[s];
                day.civ90[p] = src.civ90[s];
                day.civ30[p] = src.civ30[s];
            }
        }
        day
    }

    /// A source with an event of its own within the look-back puts its spread
    /// neighbourhood in the grid (when the grid is not fixed).
    fn seed(&self, src: &SourceDay, s: usize, nb: &Neighbours, day: &mut Day) {
        if src.seeds[s] && !self.fixed_grid {
            for t in &nb.pos[..nb.n_spread] {
                day.in_grid[*t as usize] = true;
            }
        }
    }

    /// What each source spreads, added to the grid positions of its neighbourhood, source
    /// after source.
    fn scatter(&self, src: &SourceDay, neighbours: &[Neighbours], day: &mut Day) {
        for (s, nb) in neighbours.iter().enumerate() {
            let p = self.source_pos[s];
            self.seed(src, s, nb, day);
            if !src.touched[s] {
                continue;
            }
            let signal = src.signal(s);
            if signal > 0.0 {
                let n = nb.n_spread;
                spread_from(
                    nb.pos[..n].iter().zip(&nb.kernel[..n]),
                    p,
                    signal,
                    &mut day.spread,
                );
            }
            if src.recent[s] > 0.0 || src.base[s] > 0.0 {
                escalate_from(&nb.pos[..nb.n_esc], src, s, day);
            }
        }
    }

    /// [`Self::scatter`] turned around: each grid position sums what the sources within
    /// reach spread to it, in source order — the same terms in the same order as the
    /// scatter adds them, so the same sums to the bit, without every source's list.
    fn gather(&self, src: &SourceDay, day: &mut Day) {
        let cfg = &self.config.score;
        let reach = self.reach_km;
        let kernel = SpreadKernel::new(cfg.spread_km, cfg.spread_decay_km);
        let spread_within = crate::grid::WithinKm::new(cfg.spread_km);
        let escalation_within = crate::grid::WithinKm::new(cfg.escalation_km);
        let source_units: Vec<Unit> = self
            .source_cells
            .par_iter()
            .map(|c| cell_from_u64(*c).map_or([f64::NAN; 3], |c| unit(center(c))))
            .collect();
        let sums = gather(
            &self.source_cells,
            &source_units,
            self.pos.cells(),
            &self.units,
            reach,
            self.res,
            |t, here, found| {
                let (mut spread, mut recent, mut base, mut seeded) = (0.0, 0.0, 0.0, false);
                for &(s, c2) in found {
                    let s = s as usize;
                    let there = &source_units[s];
                    // The lists of `neighbourhoods`: within the spread radius, within the
                    // escalation radius (the larger one is the reach itself).
                    let in_spread =
                        reach <= cfg.spread_km || spread_within.contains_chord2(c2, here, there);
                    let in_escalation = reach <= cfg.escalation_km
                        || escalation_within.contains_chord2(c2, here, there);
                    seeded |= in_spread && src.seeds[s];
                    if !src.touched[s] {
                        continue;
                    }
                    let signal = src.signal(s);
                    if in_spread && signal > 0.0 && self.source_pos[s] as usize != t {
                        spread += signal * kernel.of_chord2(c2);
                    }
                    if in_escalation && (src.recent[s] > 0.0 || src.base[s] > 0.0) {
                        recent += src.recent[s];
                        base += src.base[s];
                    }
                }
                (spread, recent, base, seeded)
            },
        );
        for (t, (spread, recent, base, seeded)) in sums.into_iter().enumerate() {
            day.spread[t] = spread;
            day.recent[t] = recent;
            day.base[t] = base;
            day.in_grid[t] |= seeded;
        }
    }

    /// Recomputes the coverage of every grid position for the bases active on `d` unless
    /// the cached one is for the same active bases with the same rainy-season reductions.
    fn refresh_coverage(&mut self, d: i32) {
        let cov_cfg = &self.config.coverage;
        let month = crate::model::day::ymd_from_days(d).1;
        let active = active_bases(&self.bases, d, cov_cfg, |i, _| {
            // Rainy season: the base's expected rainfall in this calendar month.
            match (&self.rainfall, self.base_rain_point[i]) {
                (Some(r), Some(p)) => r
                    .month_mean(p, month, d)
                    .is_some_and(|mm| mm > cov_cfg.rainy_month_mm),
                _ => false,
            }
        });
        self.reduced = active
            .iter()
            .filter(|a| a.reduced)
            .map(|a| crate::coverage::label(a.base))
            .collect();
        let key: CoverageKey = active.iter().map(|a| (a.index, a.reduced)).collect();
        if self.coverage.as_ref().is_none_or(|(k, _)| *k != key) {
            let cov = assess(
                &self.centres,
                &self.pos,
                &active,
                self.population.as_deref(),
                self.res,
            );
            self.coverage = Some((key, cov));
        }
    }

    /// Recomputes the climate stress per grid position when day `d` falls on another
    /// climate month than the cached one.
    fn refresh_climate(&mut self, d: i32) {
        let Some(model) = self.climate.as_ref() else {
            return;
        };
        let Some(period) = model.period_for(d) else {
            self.climate_cache = None;
            return;
        };
        if self
            .climate_cache
            .as_ref()
            .is_none_or(|(p, _)| *p != period)
        {
            self.climate_cache = Some((period, model.stress(period, &self.centres)));
        }
    }

    /// Residents of IDP sites per grid position, as known on `d` (each site's latest
    /// assessment dated on or before `d`; undated lists always count).
    fn displaced(&self, d: i32) -> HashMap<u32, f64> {
        let mut out: HashMap<u32, f64> = HashMap::new();
        for s in IdpSite::known_on(&self.idp, d) {
            if let Some(i) = self.pos.get(s.cell) {
                *out.entry(i).or_default() += s.population;
            }
        }
        out
    }

    /// Risk and tier of the latest snapshot before `day`: kept in memory when it is the
    /// previous day scored in this run, else read from the store.
    fn previous_for(
        &mut self,
        prior: &Prior,
        day: &str,
    ) -> Result<Option<PreviousRisks>, ScoreError> {
        let Some((latest, file)) = prior.latest_before(day) else {
            return Ok(None);
        };
        if let Some((d, map)) = self.previous.take() {
            if d == latest {
                return Ok(Some(map));
            }
        }
        match file {
            Some(file) => {
                let mut by_pos = vec![None; self.pos.len()];
                for (cell, risk, tier) in super::previous_risks(&prior.store.local_file(&file)?)? {
                    if let Some(p) = self.pos.get(cell) {
                        by_pos[p as usize] = Some((risk, tier));
                    }
                }
                Ok(Some(by_pos))
            }
            // Scored in this run but not kept: cannot happen when days ascend.
            None => Ok(None),
        }
    }

    /// Scores day `d`; `prior` says which snapshot the deltas are taken from.
    pub fn score(&mut self, prior: &Prior, d: i32) -> Result<Scored, ScoreError> {
        self.score_then(prior, d, &[])
    }

    /// Takes back a day's records once they are no longer needed: the next day's are
    /// collected into the same memory (a daily range otherwise mapped, faulted in and
    /// zeroed 54 MB of fresh pages for each day of the 150,000-cell bench store).
    pub fn recycle(&mut self, mut rows: Vec<CellRecord>) {
        rows.clear();
        self.spare_rows = rows;
    }

    /// [`Self::score`], computing the amounts of the next days a range will score
    /// (`upcoming`, in order) beside this day's records: a day's amounts depend on nothing
    /// scored before it, and their event walk and scatter run on one core while the
    /// records take the others. The next two days' are computed together, every other day
    /// ([`Self::amounts_pair`]); the calls for those days take them, the same values as
    /// computed then.
    pub fn score_then(
        &mut self,
        prior: &Prior,
        d: i32,
        upcoming: &[i32],
    ) -> Result<Scored, ScoreError> {
        let date = crate::model::day::format_date(d);
        let t = std::time::Instant::now();
        let previous = self.previous_for(prior, &date)?;
        let t_prev = t.elapsed().as_millis() as u64;
        let kept = std::mem::take(&mut self.ahead);
        let mut day = None;
        for (a, amounts) in kept {
            if a == d && day.is_none() {
                day = Some(amounts);
            } else if upcoming.contains(&a) {
                self.ahead.push((a, amounts));
            }
        }
        let mut day = match day {
            Some(day) => day,
            None => self.amounts(d),
        };
        // The days to compute beside the records: none when the next is at hand.
        let next: &[i32] = match upcoming {
            [n, ..] if self.ahead.iter().any(|(a, _)| a == n) => &[],
            [n, m, ..] => &[*n, *m][..],
            [n] => std::slice::from_ref(n),
            [] => &[],
        };
        let next = next.to_vec();
        let t_amounts = t.elapsed().as_millis() as u64;
        let displaced = self.displaced(d);
        self.refresh_climate(d);
        let t_climate = t.elapsed().as_millis() as u64;
        let cfg = self.config.score.clone();
        let min_tp = self.config.coverage.min_troops_per_1000;
        let mut in_grid = std::mem::take(&mut day.in_grid);
        if !self.fixed_grid {
            for (b, disk) in self.bases.iter().zip(&self.base_disks) {
                if is_active(b, d) {
                    for p in disk {
                        in_grid[*p as usize] = true;
                    }
                }
            }
            if let Some(pop) = &self.population {
                for (i, p) in pop.iter().enumerate() {
                    if *p > 0.0 {
                        in_grid[i] = true;
                    }
                }
            }
        }
        self.refresh_coverage(d);
        tracing::debug!(
            previous_ms = t_prev,
            amounts_ms = t_amounts,
            climate_ms = t_climate,
            coverage_ms = t.elapsed().as_millis() as u64,
            "day stages (cumulative)"
        );
        let norm = self.norm.clone();
        let weights = self.calibration.as_ref().map(Calibration::weights);
        let weights = weights.filter(|_| self.wide);
        let forecast_day =
            ((weights.is_some() || self.keep_features) && self.wide).then(|| self.feature_day(d));
        let t_features = t.elapsed().as_millis() as u64;
        let exposure_neutral = self.population.is_none();
        let cells: Vec<usize> = (0..self.pos.len()).filter(|i| in_grid[*i]).collect();
        let fixed = self.fixed_number(&cells);
        let mut rows = std::mem::take(&mut self.spare_rows);
        let this = &*self;
        let climate = this.climate_cache.as_ref();
        let coverage: &[CellCoverage] = this.coverage.as_ref().map_or(&[], |(_, c)| c);
        let keep = this.keep_features;
        let scorer = weights
            .as_ref()
            .zip(forecast_day.as_ref())
            .map(|(w, day)| this.features.scorer(day, w));
        // Collected straight into their places (an unzip went through a list of pieces and
        // copied each day's 150,000 records once more); the next day's amounts beside them.
        let ((), ahead): ((), Vec<(i32, Day)>) = rayon::join(
            || {
                cells
                    .par_iter()
                    .map(|&i| {
                        let cell = &this.pos.cells()[i];
                        let spread = day.spread[i];
                        let (rn, bn) = (day.recent[i], day.base[i]);
                        let baseline =
                            bn * f64::from(cfg.recent_days) / f64::from(cfg.baseline_days);
                        let a = Amounts {
                            harm: day.harm[i],
                            conflict: day.conflict[i],
                            spread,
                            baseline,
                            escalation: escalation(rn, baseline, cfg.escalation_smoothing),
                            climate: climate.map_or(0.0, |(_, s)| s[i]),
                        };
                        let displaced_here = displaced.get(&(i as u32)).copied().unwrap_or(0.0);
                        let residents = this.population.as_ref().map(|p| p[i] + displaced_here);
                        let ix = index(&a, residents, &norm, &cfg);
                        let tier = Tier::of(ix.risk, &cfg.tier_thresholds);
                        let cov = &coverage[i];
                        let flags = Flags::of(tier, false, ix.risk, ix.exposure, cov, min_tp);
                        let prev = previous.as_ref().and_then(|p| p[i].as_ref());
                        let weight = day.harm[i] + day.conflict[i];
                        let (lat, lon) = this.centres[i];
                        let mut record = CellRecord {
                            cell: *cell,
                            lat,
                            lon,
                            area: (this.area_name[i] != NONE)
                                .then(|| this.names[this.area_name[i] as usize].clone()),
                            harm: ix.components[0],
                            conflict: ix.components[1],
                            spread: ix.components[2],
                            baseline: ix.components[3],
                            escalation: ix.components[4],
                            climate: ix.components[5],
                            hazard: ix.hazard,
                            population: this.population.as_ref().map(|p| p[i]),
                            displaced: displaced_here,
                            exposure: ix.exposure,
                            risk: ix.risk,
                            tier,
                            probability: None,
                            harm_share: ix.shares[0],
                            conflict_share: ix.shares[1],
                            spread_share: ix.shares[2],
                            baseline_share: ix.shares[3],
                            escalation_share: ix.shares[4],
                            climate_share: ix.shares[5],
                            delta_risk: previous
                                .as_ref()
                                .map(|_| ix.risk - prev.map_or(0.0, |p| p.0)),
                            prev_tier: prev.map(|p| p.1),
                            events: day.events[i],
                            precise_share: (weight > 0.0)
                                .then(|| (day.precise[i] / weight).min(1.0)),
                            civilian_fatalities_30d: day.civ30[i],
                            civilian_fatalities_90d: day.civ90[i],
                            ..CellRecord::quiet(*cell, (lat, lon))
                        };
                        record.set_coverage(cov.clone(), flags);
                        if let Some(s) = &scorer {
                            let inputs = CellInputs::of(&record);
                            record.probability = Some(s.probability(i, this.area_name[i], &inputs));
                        }
                        record
                    })
                    .collect_into_vec(&mut rows)
            },
            || match next[..] {
                [n, m] => {
                    let (a, b) = this.amounts_pair(n, m);
                    vec![(n, a), (m, b)]
                }
                [n] => vec![(n, this.amounts(n))],
                _ => Vec::new(),
            },
        );
        // The inputs kept (backtest, calibration), of the records as scored (before the
        // watch below).
        let features: Option<Vec<Row>> = keep.then(|| match forecast_day.as_ref() {
            Some(day) => rows
                .par_iter()
                .zip(&cells)
                .map(|(r, &i)| {
                    this.features
                        .row(day, i, this.area_name[i], &CellInputs::of(r))
                })
                .collect(),
            None => Vec::new(),
        });
        let t_rows = t.elapsed().as_millis() as u64;
        // The watch: the cells of highest probability within the budget; as many cells
        // are gaps at most, the uncovered ones most likely to see harm.
        if weights.is_some() && cfg.watch_share > 0.0 {
            let p: Vec<f64> = rows
                .par_iter()
                .map(|r| r.probability.unwrap_or(0.0))
                .collect();
            rows.par_iter_mut()
                .zip(watched(&p, cfg.watch_share))
                .for_each(|(r, w)| r.watch = w);
            crate::coverage::set_gaps(&mut rows, &self.config.coverage);
        }
        tracing::debug!(
            features_ms = t_features,
            rows_ms = t_rows,
            watch_ms = t.elapsed().as_millis() as u64,
            "day stages (cumulative)"
        );
        // One pass over the day's records (each pass reads them all from memory).
        let mut tiers = [0usize; 5];
        let mut gaps = 0;
        let mut by_pos = vec![None; self.pos.len()];
        for (i, r) in cells.iter().zip(&rows) {
            tiers[r.tier as usize] += 1;
            gaps += usize::from(r.flags.gap);
            by_pos[*i] = Some((r.risk, r.tier));
        }
        self.previous = Some((date.clone(), by_pos));
        self.ahead.extend(ahead);
        let climate_basis = match (&self.climate, &self.climate_cache) {
            (Some(m), Some((p, _))) => Some(format!(
                "{} of {}",
                m.variable,
                &crate::model::day::format_date(*p)[..7]
            )),
            _ => None,
        };
        let info = SnapshotInfo {
            file: String::new(),
            sha256: String::new(),
            cells: rows.len(),
            tiers,
            gaps,
            exposure_neutral,
            normalisation: Some(norm),
            climate: climate_basis,
            reduced_bases: self.reduced.clone(),
            calibration: self.calibration.clone(),
        };
        Ok(Scored {
            date,
            rows,
            info,
            features,
            fixed,
        })
    }

    /// The [`Scored::fixed`] number of a day scoring grid positions `cells` with the
    /// coverage now cached: the last day's when both are the same, else a new one.
    fn fixed_number(&mut self, cells: &[usize]) -> u64 {
        let key = self
            .coverage
            .as_ref()
            .map(|(k, _)| k.clone())
            .unwrap_or_default();
        match &self.last_fixed {
            Some((c, k, n)) if c.as_slice() == cells && *k == key => *n,
            last => {
                let n = last.as_ref().map_or(0, |(_, _, n)| n + 1);
                self.last_fixed = Some((cells.to_vec(), key, n));
                n
            }
        }
    }

    /// The amounts of every universe cell on day `d` (climate left at 0), with the share of
    /// precisely located weight and the number of events, in the order of [`Self::universe`].
    pub fn amounts_on(&self, d: i32) -> Vec<(Amounts, Option<f64>, i64)> {
        let cfg = &self.config.score;
        let day = self.amounts(d);
        (0..self.pos.len())
            .map(|i| {
                let baseline =
                    day.base[i] * f64::from(cfg.recent_days) / f64::from(cfg.baseline_days);
                let weight = day.harm[i] + day.conflict[i];
                (
                    Amounts {
                        harm: day.harm[i],
                        conflict: day.conflict[i],
                        spread: day.spread[i],
                        baseline,
                        escalation: escalation(day.recent[i], baseline, cfg.escalation_smoothing),
                        climate: 0.0,
                    },
                    (weight > 0.0).then(|| (day.precise[i] / weight).min(1.0)),
                    day.events[i],
                )
            })
            .collect()
    }

    /// The event sums of the forecast's inputs as of day `d` (the disks of the 5 and 10 km
    /// counts read off the index's neighbourhoods where it has them).
    fn feature_day(&mut self, d: i32) -> super::features::DayFeatures {
        let (pos, area_name) = (&self.pos, &self.area_name);
        // Each source's neighbourhood, built now if the engine was loaded without them.
        let neighbours = self.neighbours.get_or_init(|| {
            neighbourhoods(
                &self.source_cells,
                &self.pos,
                &self.units,
                &self.config.score,
                self.res,
            )
        });
        let grid_disk = grid_disks(&self.source_cells, neighbours, &self.units, self.reach_km);
        self.features.day(
            &self.events,
            d,
            |c| pos.get(c).map_or(NONE, |p| area_name[p as usize]),
            |c| pos.get(c),
            grid_disk,
        )
    }

    /// The forecast's inputs of `cell` on day `d`, its index components and people taken
    /// from `record` (its snapshot row); `None` when the cell is not in the grid.
    pub fn forecast_inputs(&mut self, d: i32, cell: u64, record: &CellRecord) -> Option<[f32; P]> {
        if !self.wide {
            return None;
        }
        let p = self.pos.get(cell)? as usize;
        let day = self.feature_day(d);
        Some(
            self.features
                .row(&day, p, self.area_name[p], &CellInputs::of(record)),
        )
    }

    /// The cells of the grid universe, sorted.
    pub fn universe(&self) -> &[u64] {
        self.pos.cells()
    }
}

/// Adds `signal` × kernel to each target of `pairs` (grid position, kernel weight) but the
/// source's own position `own`.
fn spread_from<'a>(
    pairs: impl Iterator<Item = (&'a u32, &'a f64)>,
    own: u32,
    signal: f64,
    spread: &mut [f64],
) {
    for (t, k) in pairs {
        if *t != own {
            spread[*t as usize] += signal * k;
        }
    }
}

/// Adds source `s`'s recent and baseline signal to each grid position of `reach`.
fn escalate_from(reach: &[u32], src: &SourceDay, s: usize, day: &mut Day) {
    for t in reach {
        day.recent[*t as usize] += src.recent[s];
        day.base[*t as usize] += src.base[s];
    }
}

/// The grid positions within each of `kms` of a source cell, read off the index's
/// neighbourhoods (`neighbours[i]` of `source_cells[i]`, reaching `reach_km`) by the same
/// distances as [`super::neighbourhood::within`]; `None` when the cell is not a source or a
/// radius is beyond their reach.
fn grid_disks<'a>(
    source_cells: &'a [u64],
    neighbours: &'a [Neighbours],
    units: &'a [Unit],
    reach_km: f64,
) -> impl Fn(u64, &[f64]) -> Option<Vec<Vec<u32>>> + Sync + 'a {
    move |c, kms| {
        if kms.iter().any(|km| *km > reach_km) {
            return None;
        }
        let nb = neighbours.get(source_cells.binary_search(&c).ok()?)?;
        let here = unit(center(cell_from_u64(c).ok()?));
        let tests: Vec<crate::grid::WithinKm> = kms
            .iter()
            .map(|km| crate::grid::WithinKm::new(*km))
            .collect();
        let mut out = vec![Vec::new(); kms.len()];
        for p in &nb.pos {
            let Some(u) = units.get(*p as usize) else {
                continue;
            };
            for (disk, t) in out.iter_mut().zip(&tests) {
                if t.contains(&here, u) {
                    disk.push(*p);
                }
            }
        }
        Some(out)
    }
}

/// One cell's forecast inputs.
type Row = [f32; P];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::rows::{AreaCell, Category, Event, Precision, Table};

    /// Events of two years around a few places (days 0..730), deterministic.
    fn events(res: Resolution) -> Vec<Event> {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let categories = [
            Category::CivilianHarm,
            Category::ArmedClash,
            Category::RemoteViolence,
            Category::Unrest,
        ];
        let precisions = [Precision::Exact, Precision::Near, Precision::Region];
        (0..3000)
            .map(|i| {
                let (lat, lon) = (6.0 + next() * 0.9, 20.5 + next() * 0.9);
                let cell = crate::grid::cell_of(lat, lon, res).map(u64::from).ok();
                Event {
                    precision: precisions[i % 3],
                    civilian_fatalities: Some(i as i64 % 4),
                    ..Event::at(
                        "acled",
                        &i.to_string(),
                        (next() * 730.0) as i32,
                        (lat, lon),
                        cell,
                        categories[i % 4],
                        i as i64 % 5,
                    )
                }
            })
            .collect()
    }

    /// A store at resolution 7 in a temporary folder, holding [`events`].
    fn store_with_events() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mut store = Store::open_writer(dir.path(), 7, &Default::default())
            .unwrap_or_else(|e| panic!("{e}"));
        let df = Event::to_frame(&events(Resolution::Seven)).unwrap_or_else(|e| panic!("{e}"));
        store
            .publish(vec![("events", df)], None)
            .unwrap_or_else(|e| panic!("{e}"));
        (dir, store)
    }

    /// A range scoring each day's amounts beside the day before's records gives the same
    /// records as one computing them when the day comes; amounts computed for a day that
    /// is not scored next are not used.
    #[test]
    fn amounts_computed_ahead_give_the_same_days() {
        let (_dir, store) = store_with_events();
        let config = Config::default();
        let days = [600, 601, 602, 640];
        let prior = Prior::of(&store);
        let mut plain = Engine::new(&store, &config, 600, 640).unwrap_or_else(|e| panic!("{e}"));
        let mut ahead = Engine::new(&store, &config, 600, 640).unwrap_or_else(|e| panic!("{e}"));
        for (k, d) in days.iter().enumerate() {
            let a = plain.score(&prior, *d).unwrap_or_else(|e| panic!("{e}"));
            // On 600 the engine is told 700 comes first, a day it then does not score:
            // 700 and 601 are computed as a pair, 601 is used, 700 dropped.
            let upcoming: Vec<i32> = if *d == 600 {
                vec![700, 601]
            } else {
                days[k + 1..].to_vec()
            };
            let b = ahead
                .score_then(&prior, *d, &upcoming)
                .unwrap_or_else(|e| panic!("{e}"));
            assert!(a.rows.iter().filter(|r| r.spread > 0.0).count() > 100);
            assert_eq!(a.rows, b.rows, "day {d}");
            assert_eq!(a.fixed, b.fixed, "day {d}");
        }
    }

    /// Two days' amounts computed together are each day's alone, to the bit: days with
    /// events, a day before any event, the same day twice.
    #[test]
    fn a_pair_of_days_equals_each_day_alone() {
        let (_dir, store) = store_with_events();
        let config = Config::default();
        let engine = Engine::new(&store, &config, 400, 700).unwrap_or_else(|e| panic!("{e}"));
        assert!(engine.neighbours.get().is_some());
        let bits = |day: &Day| {
            let mut v: Vec<u64> = Vec::new();
            for f in [
                &day.harm,
                &day.conflict,
                &day.precise,
                &day.spread,
                &day.recent,
                &day.base,
            ] {
                v.extend(f.iter().map(|x| x.to_bits()));
            }
            for f in [&day.events, &day.civ90, &day.civ30] {
                v.extend(f.iter().map(|x| *x as u64));
            }
            v.extend(day.in_grid.iter().map(|x| u64::from(*x)));
            v
        };
        for (d1, d2) in [(600, 601), (601, 640), (400, 620), (620, 620), (640, 600)] {
            let (a, b) = engine.amounts_pair(d1, d2);
            let (x, y) = (engine.amounts(d1), engine.amounts(d2));
            assert!(x.spread.iter().any(|v| *v > 0.0) || d1 == 400, "{d1}");
            assert!(bits(&a) == bits(&x), "{d1} of ({d1}, {d2})");
            assert!(bits(&b) == bits(&y), "{d2} of ({d1}, {d2})");
        }
    }

    /// The day's amounts gathered per grid cell and scattered from each source's list are
    /// equal to the bit, with and without a fixed grid, with the escalation radius inside
    /// and beyond the spread radius.
    #[test]
    fn a_gathered_day_equals_the_scattered_one_to_the_bit() {
        let res = Resolution::Seven;
        let (_dir, mut store) = store_with_events();
        let area: Vec<AreaCell> = crate::grid::cell_of(6.4, 20.9, res)
            .map(|c| c.grid_disk::<Vec<h3o::CellIndex>>(40))
            .unwrap_or_default()
            .into_iter()
            .map(|c| AreaCell {
                area_id: "A".into(),
                level: "ADM1".into(),
                cell: u64::from(c),
            })
            .collect();
        for fixed in [false, true] {
            if fixed {
                let df = AreaCell::to_frame(&area).unwrap_or_else(|e| panic!("{e}"));
                store
                    .publish(vec![("area_cells", df)], None)
                    .unwrap_or_else(|e| panic!("{e}"));
            }
            for (spread_km, escalation_km) in [(20.0, 10.0), (12.0, 30.0), (15.0, 15.0)] {
                let mut config = Config::default();
                config.score.spread_km = spread_km;
                config.score.escalation_km = escalation_km;
                for d in [400, 729] {
                    let mut engine =
                        Engine::new(&store, &config, d, d).unwrap_or_else(|e| panic!("{e}"));
                    let lists = engine.neighbours.take();
                    let gathered = engine.amounts(d);
                    let _ = engine.neighbours.set(lists.unwrap_or_else(|| {
                        neighbourhoods(
                            &engine.source_cells,
                            &engine.pos,
                            &engine.units,
                            &config.score,
                            res,
                        )
                    }));
                    let scattered = engine.amounts(d);
                    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    let what = format!("fixed {fixed}, radii {spread_km}/{escalation_km}, day {d}");
                    assert!(
                        gathered.spread.iter().filter(|x| **x > 0.0).count() > 100,
                        "{what}"
                    );
                    assert!(
                        gathered.recent.iter().filter(|x| **x > 0.0).count() > 100,
                        "{what}"
                    );
                    assert_eq!(bits(&gathered.spread), bits(&scattered.spread), "{what}");
                    assert_eq!(bits(&gathered.recent), bits(&scattered.recent), "{what}");
                    assert_eq!(bits(&gathered.base), bits(&scattered.base), "{what}");
                    assert_eq!(bits(&gathered.harm), bits(&scattered.harm), "{what}");
                    assert_eq!(gathered.in_grid, scattered.in_grid, "{what}");
                    assert_eq!(gathered.events, scattered.events, "{what}");
                }
            }
        }
    }
}
