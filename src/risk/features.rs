//! The forecast's inputs (methodology §13), per cell as of a day: civilian harm, armed
//! clashes and remote violence counted in the cell and within 5, 10, 25 and 50 km over the
//! last 30, 90, 365 and 1,095 days; per radius the recency of violence, its trend and the
//! civilian deaths of the last year; the proximity of the nearest violent event of the
//! last year; the admin area's rate of civilian harm; people and displaced people; and the
//! index's components. One computation for scoring, the backtest, calibration and explain.
//!
//! As of day D means the events that count on D by the one counting rule
//! ([`EventSet::counts_on`]: known by D, not yet superseded), dated within the look-back:
//! nothing dated or published later moves a feature of D.
//!
//! Counting "within r km" for every cell of a large grid is done between cells of a
//! resolution suited to r: the grid's own up to 10 km, coarser ones (edge ≤ r / 5) beyond,
//! each cell taking the count of its ancestor there — so the 25 and 50 km counts are exact
//! to about a tenth of their radius, and cost the same on a million cells as on a country.
//! Each event weighs its location precision (1 exact, 0.8 near, 0.4 admin 2, 0.2 admin 1,
//! 0.1 region; country-level events are not placed).

use super::events::{precision_factor, EventClass, EventSet};
use super::neighbourhood::disks_within;
use crate::grid::{cell_from_u64, center, rings_for_km, unit, CellPositions, Unit, WithinKm};
use crate::model::params::{
    at, log_loads, sigmoid, standardised, Weights, FEATURE_LOOKBACK_DAYS, P, RADII_KM, WINDOWS_DAYS,
};
use ahash::AHashMap as HashMap;
use h3o::{CellIndex, Resolution};
use rayon::prelude::*;

const R: usize = RADII_KM.len();
const W: usize = WINDOWS_DAYS.len();
/// The window of the deaths, proximity and admin features (one year).
const YEAR: usize = 2;
/// "No event within 50 km" counts as this far, km.
const FAR_KM: f64 = 100.0;

/// Sums of the events of one place (a source cell, or everything within a radius of a
/// cell).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Agg {
    /// Weighted events per class and window.
    n: [[f32; W]; 3],
    /// Civilian deaths of the last year.
    deaths: f32,
    /// Last day of a violent event (`i32::MIN`: none).
    last: i32,
}

impl Default for Agg {
    fn default() -> Self {
        Agg {
            n: [[0.0; W]; 3],
            deaths: 0.0,
            last: i32::MIN,
        }
    }
}

impl Agg {
    fn add(&mut self, o: &Agg) {
        for c in 0..3 {
            for w in 0..W {
                self.n[c][w] += o.n[c][w];
            }
        }
        self.deaths += o.deaths;
        self.last = self.last.max(o.last);
    }

    /// Violent events of window `w`, all classes.
    fn violent(&self, w: usize) -> f32 {
        self.n[0][w] + self.n[1][w] + self.n[2][w]
    }
}

/// The inputs of one place at one radius, transformed once per place (many cells share
/// the place of a coarse radius): ln(1 + events) per class and window, recency, trend,
/// ln(1 + civilian deaths of the year), and whether violence of the year is there.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Block {
    counts: [[f32; W]; 3],
    recency: f32,
    trend: f32,
    deaths: f32,
    violent_year: bool,
}

impl Block {
    /// The inputs of the sums `a` on day `d`.
    fn of(a: &Agg, d: i32) -> Block {
        let counts = a.n.map(|c| c.map(f32::ln_1p));
        let recency = if a.last == i32::MIN {
            0.0
        } else {
            let days = f64::from(d - a.last).max(0.0);
            (f64::from(FEATURE_LOOKBACK_DAYS).ln_1p() - days.ln_1p()) as f32
        };
        let (recent, all) = (a.violent(1), a.violent(W - 1));
        let expected = all * WINDOWS_DAYS[1] as f32 / FEATURE_LOOKBACK_DAYS as f32;
        Block {
            counts,
            recency,
            trend: ((1.0 + recent) / (1.0 + expected)).ln(),
            deaths: a.deaths.ln_1p(),
            violent_year: a.violent(YEAR) > 0.0,
        }
    }

    /// Writes the block's inputs at radius `r`'s positions.
    fn write(&self, r: usize, out: &mut [f32; P]) {
        for c in 0..3 {
            for w in 0..W {
                out[at::count(c, r, w)] = self.counts[c][w];
            }
        }
        out[at::RECENCY + r] = self.recency;
        out[at::TREND + r] = self.trend;
        out[at::DEATHS + r] = self.deaths;
    }
}

/// What a cell's row takes from its snapshot record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CellInputs {
    /// The six index components.
    pub components: [f64; 6],
    /// Exposure.
    pub exposure: f64,
    /// Residents (`None` without population data).
    pub population: Option<f64>,
    /// Residents of IDP sites.
    pub displaced: f64,
}

impl CellInputs {
    /// The inputs of a snapshot record.
    pub fn of(r: &crate::model::cell::CellRecord) -> Self {
        CellInputs {
            components: r.components(),
            exposure: r.exposure,
            population: r.population,
            displaced: r.displaced,
        }
    }
}

/// A grid position or coarse key with no place (no events within the radius).
const NO_PLACE: u32 = u32::MAX;

/// The grid's feature geometry, kept across the days of a run: the resolution of each
/// radius, the keys standing for the grid's cells at the coarser ones, the keys within
/// each radius of the sources met so far, and the size of each first-level area.
///
/// A radius counted at the grid's own resolution is keyed by grid position; a coarser one
/// by the index of the grid cells' ancestor among the sorted ancestors (`coarse`), each
/// position's found once (`key_of`). Sums and their lookups are then array reads, not
/// hashes of a million cells.
pub struct FeatureGrid {
    res: Resolution,
    key_res: [Resolution; R],
    /// Per radius counted at a coarser resolution, the grid cells' ancestors there.
    coarse: [Option<Coarse>; R],
    /// Per radius, each grid position's ancestor's index in `coarse` (empty at the grid's
    /// own resolution).
    key_of: [Vec<u32>; R],
    /// Grid positions.
    len: usize,
    disks: Vec<HashMap<u64, Vec<u32>>>,
    area_km2: Vec<f64>,
}

/// The grid cells' ancestors at a coarser resolution: their positions (sorted) and
/// centres.
struct Coarse {
    pos: CellPositions,
    units: Vec<Unit>,
}

impl Coarse {
    /// The indexes of the ancestors whose centres lie within `t`'s radius of (coarse) cell
    /// `c`'s, `k` rings searched: the cells of [`super::neighbourhood::within`] that are
    /// the grid's, by the same distances.
    fn disk(&self, c: u64, k: u32, t: &WithinKm) -> Vec<u32> {
        let Ok(origin) = cell_from_u64(c) else {
            return Vec::new();
        };
        let here = unit(center(origin));
        origin
            .grid_disk::<Vec<CellIndex>>(k)
            .into_iter()
            .filter_map(|n| {
                let j = self.pos.get(u64::from(n))?;
                t.contains(&here, self.units.get(j as usize)?).then_some(j)
            })
            .collect()
    }
}

/// The event sums of one day, per radius, and the admin areas' rates.
#[derive(Debug, Clone, Default)]
pub struct DayFeatures {
    /// Per radius and key: the place's index in `blocks`, or [`NO_PLACE`].
    slot: Vec<Vec<u32>>,
    /// Per radius, the inputs of every place with events within the radius.
    blocks: Vec<Vec<Block>>,
    admin: Vec<f32>,
    /// Civilian-harm events of the whole store over 90 and 365 days (not per cell: a grid
    /// without loaded areas grows with the days scored, and a day's inputs must not
    /// depend on the range it is scored in).
    theatre: [f32; 2],
}

impl DayFeatures {
    /// The block of grid position `p` at radius `r` (through the radius's key).
    fn block(&self, grid: &FeatureGrid, p: usize, r: usize) -> Option<&Block> {
        let key = grid.key(p, r)?;
        let slot = *self.slot.get(r)?.get(key)?;
        self.blocks.get(r)?.get(slot as usize)
    }
}

impl FeatureGrid {
    /// The geometry of a grid of resolution `res` whose cells (sorted, distinct) are
    /// `cells`, with first-level areas `area_of` (indexes below `areas`, or anything else
    /// for none).
    pub fn new(res: Resolution, cells: &[u64], area_of: &[u32], areas: usize) -> Self {
        let key_res = RADII_KM.map(|r| {
            let mut k = res;
            while let Some(up) = k.pred() {
                if up.edge_length_km() <= r / 5.0 {
                    k = up;
                } else {
                    break;
                }
            }
            k
        });
        let mut coarse: [Option<Coarse>; R] = Default::default();
        let mut key_of: [Vec<u32>; R] = Default::default();
        for r in 0..R {
            if key_res[r] == res {
                continue;
            }
            let parents: Vec<u64> = cells
                .iter()
                .map(|c| {
                    cell_from_u64(*c)
                        .ok()
                        .and_then(|c| c.parent(key_res[r]))
                        .map_or(0, u64::from)
                })
                .collect();
            let mut keys = parents.clone();
            keys.sort_unstable();
            keys.dedup();
            // Children sorted give their ancestors in order: a binary search only where the
            // ancestor changes.
            let mut j = 0usize;
            key_of[r] = parents
                .iter()
                .map(|a| {
                    if keys.get(j) != Some(a) {
                        j = keys.binary_search(a).unwrap_or(0);
                    }
                    j as u32
                })
                .collect();
            let units = keys
                .par_iter()
                .map(|c| cell_from_u64(*c).map_or([0.0; 3], |c| unit(center(c))))
                .collect();
            coarse[r] = Some(Coarse {
                pos: CellPositions::new(keys, key_res[r]),
                units,
            });
        }
        let mut counts = vec![0usize; areas];
        for a in area_of {
            if let Some(c) = counts.get_mut(*a as usize) {
                *c += 1;
            }
        }
        FeatureGrid {
            res,
            key_res,
            coarse,
            key_of,
            len: cells.len(),
            disks: vec![HashMap::new(); R],
            area_km2: counts.iter().map(|c| *c as f64 * res.area_km2()).collect(),
        }
    }

    /// Whether radius `r` is counted at a coarser resolution than the grid's.
    fn is_coarse(&self, r: usize) -> bool {
        self.key_res[r] != self.res
    }

    /// The key of grid position `p` at radius `r`.
    fn key(&self, p: usize, r: usize) -> Option<usize> {
        if self.is_coarse(r) {
            self.key_of[r].get(p).map(|k| *k as usize)
        } else {
            (p < self.len).then_some(p)
        }
    }

    /// The number of keys of radius `r`.
    fn keys(&self, r: usize) -> usize {
        if let Some(c) = &self.coarse[r] {
            c.pos.len()
        } else {
            self.len
        }
    }

    /// The cell of radius `r`'s resolution that stands for (source) cell `cell`.
    fn source_key(&self, cell: u64, r: usize) -> u64 {
        if !self.is_coarse(r) {
            return cell;
        }
        cell_from_u64(cell)
            .ok()
            .and_then(|c| c.parent(self.key_res[r]))
            .map_or(cell, u64::from)
    }

    /// The event sums as of day `d`: the events of `ev` that count on `d`, dated within the
    /// look-back; `area` gives the first-level area of an event's cell, `pos` a cell's
    /// grid position.
    ///
    /// `grid_disk(c, kms)` may give the grid positions within each of `kms` of source cell
    /// `c` when the caller knows them already (the engine's neighbourhoods); cells outside
    /// the grid are never read, so such a disk counts the same.
    pub fn day(
        &mut self,
        ev: &EventSet,
        d: i32,
        area: impl Fn(u64) -> u32,
        pos: impl Fn(u64) -> Option<u32> + Sync,
        grid_disk: impl Fn(u64, &[f64]) -> Option<Vec<Vec<u32>>> + Sync,
    ) -> DayFeatures {
        let t0 = std::time::Instant::now();
        let mut own: HashMap<u64, Agg> = HashMap::new();
        let mut admin = vec![0.0f32; self.area_km2.len()];
        let mut theatre = [0.0f32; 2];
        for i in ev.dated(d - FEATURE_LOOKBACK_DAYS + 1, d) {
            if !ev.counts_on(i, d) {
                continue;
            }
            let class = match ev.kind[i] {
                EventClass::Harm => 0,
                EventClass::Conflict if ev.remote[i] => 2,
                EventClass::Conflict => 1,
                EventClass::Other => continue,
            };
            let weight = precision_factor(ev.precision[i]) as f32;
            if weight <= 0.0 {
                continue;
            }
            let age = d - ev.day[i];
            let a = own.entry(ev.cell[i]).or_default();
            for (w, days) in WINDOWS_DAYS.iter().enumerate() {
                if age < *days {
                    a.n[class][w] += weight;
                }
            }
            a.last = a.last.max(ev.day[i]);
            if class == 0 {
                for (t, w) in theatre.iter_mut().zip([1, YEAR]) {
                    if age < WINDOWS_DAYS[w] {
                        *t += weight;
                    }
                }
            }
            if age < WINDOWS_DAYS[YEAR] {
                a.deaths += ev.civilian_deaths[i].max(0) as f32;
                if class == 0 {
                    if let Some(x) = admin.get_mut(area(ev.cell[i]) as usize) {
                        *x += weight;
                    }
                }
            }
        }
        for (x, km2) in admin.iter_mut().zip(&self.area_km2) {
            *x = if *km2 > 0.0 {
                (f64::from(*x) * 1000.0 / km2) as f32
            } else {
                0.0
            };
        }
        // Sources sorted by cell: the sums below add in an order that does not depend on
        // which other events were loaded.
        let mut sources: Vec<(u64, Agg)> = own.into_iter().collect();
        sources.sort_unstable_by_key(|(c, _)| *c);
        let keys: Vec<Vec<(u64, Agg)>> = (0..R)
            .map(|r| {
                let mut by: Vec<(u64, Agg)> = Vec::new();
                let mut index: HashMap<u64, usize> = HashMap::new();
                for (c, a) in &sources {
                    let k = self.source_key(*c, r);
                    match index.get(&k) {
                        Some(&j) => by[j].1.add(a),
                        None => {
                            index.insert(k, by.len());
                            by.push((k, *a));
                        }
                    }
                }
                by
            })
            .collect();
        let t_keys = t0.elapsed().as_millis() as u64;
        // The disks not met before: at the grid's resolution all radii of a source at once
        // (from the caller's neighbourhoods where it has them), then the rest per radius.
        let grid_radii: Vec<usize> = (1..R).filter(|r| !self.is_coarse(*r)).collect();
        let kms: Vec<f64> = grid_radii.iter().map(|r| RADII_KM[*r]).collect();
        let missing: Vec<u64> = sources
            .iter()
            .map(|(c, _)| *c)
            .filter(|c| grid_radii.iter().any(|r| !self.disks[*r].contains_key(c)))
            .collect();
        let known: Vec<(u64, Vec<Vec<u32>>)> = missing
            .par_iter()
            .filter_map(|c| Some((*c, grid_disk(*c, &kms)?)))
            .collect();
        for (c, disks) in known {
            for (r, disk) in grid_radii.iter().zip(disks) {
                self.disks[*r].insert(c, disk);
            }
        }
        let this = &*self;
        let pos = &pos;
        let found: Vec<Vec<(u64, Vec<u32>)>> = (1..R)
            .map(|r| {
                let km = RADII_KM[r];
                let missing: Vec<u64> = keys[r]
                    .iter()
                    .map(|(c, _)| *c)
                    .filter(|c| !this.disks[r].contains_key(c))
                    .collect();
                let k = rings_for_km(km, this.key_res[r]);
                if let Some(coarse) = &this.coarse[r] {
                    let t = WithinKm::new(km);
                    return missing
                        .into_par_iter()
                        .map(|c| (c, coarse.disk(c, k, &t)))
                        .collect();
                }
                let computed = disks_within(&missing, k, km)
                    .into_iter()
                    .map(|cells| cells.into_iter().filter_map(pos).collect());
                missing.into_iter().zip(computed).collect()
            })
            .collect();
        for (r, found) in (1..R).zip(found) {
            self.disks[r].extend(found);
        }
        let t_disks = t0.elapsed().as_millis() as u64;
        let this = &*self;
        let (slot, blocks): (Vec<Vec<u32>>, Vec<Vec<Block>>) = keys
            .par_iter()
            .enumerate()
            .map(|(r, by)| {
                let mut slot = vec![NO_PLACE; this.keys(r)];
                let mut sums: Vec<Agg> = Vec::new();
                let mut add = |k: usize, a: &Agg| {
                    if let Some(s) = slot.get_mut(k) {
                        if *s == NO_PLACE {
                            *s = sums.len() as u32;
                            sums.push(*a);
                        } else if let Some(x) = sums.get_mut(*s as usize) {
                            x.add(a);
                        }
                    }
                };
                for (c, a) in by {
                    if r == 0 {
                        if let Some(p) = pos(*c) {
                            add(p as usize, a);
                        }
                        continue;
                    }
                    for k in this.disks[r].get(c).map_or(&[][..], Vec::as_slice) {
                        add(*k as usize, a);
                    }
                }
                let blocks = sums.iter().map(|a| Block::of(a, d)).collect();
                (slot, blocks)
            })
            .unzip();
        tracing::debug!(
            keys_ms = t_keys,
            disks_ms = t_disks,
            sums_ms = t0.elapsed().as_millis() as u64,
            sources = sources.len(),
            "forecast inputs (cumulative)"
        );
        DayFeatures {
            slot,
            blocks,
            admin,
            theatre,
        }
    }

    /// The forecast's inputs of grid position `p` (first-level area `area`) on the day of
    /// `day`.
    pub fn row(&self, day: &DayFeatures, p: usize, area: u32, x: &CellInputs) -> [f32; P] {
        let mut out = [0.0f32; P];
        let mut nearest = FAR_KM;
        for r in (0..R).rev() {
            // A place without events within the radius has every input 0 (ln 1).
            let Some(b) = day.block(self, p, r) else {
                continue;
            };
            b.write(r, &mut out);
            if b.violent_year {
                nearest = RADII_KM[r];
            }
        }
        out[at::PROXIMITY] = proximity(nearest);
        out[at::ADMIN] = admin_rate(day, area);
        out[at::THEATRE] = day.theatre[0].ln_1p();
        out[at::THEATRE + 1] = day.theatre[1].ln_1p();
        for (j, v) in cell_terms(x) {
            out[j] = v;
        }
        out
    }

    /// The day's inputs folded into model `w`: each place's part of the log-odds computed
    /// once, so that a cell's probability takes a few reads
    /// ([`DayScorer::probability`] equals `w.probability(&self.row(..))` but for the
    /// order of the sum).
    pub fn scorer<'a>(&'a self, day: &'a DayFeatures, w: &'a Weights) -> DayScorer<'a> {
        let part = |r: usize, b: &Block| {
            let mut x = [0.0f32; P];
            b.write(r, &mut x);
            block_positions(r)
                .map(|j| w.beta[j] * standardised(x[j], w.mean[j], w.scale[j]))
                .sum::<f64>()
        };
        let zero = Block::of(&Agg::default(), 0);
        let parts: Vec<Vec<f64>> = day
            .blocks
            .par_iter()
            .enumerate()
            .map(|(r, blocks)| blocks.iter().map(|b| part(r, b)).collect())
            .collect();
        let term = |j: usize, v: f32| w.beta[j] * standardised(v, w.mean[j], w.scale[j]);
        let mut prox = [0.0; R + 1];
        for (r, v) in prox.iter_mut().enumerate() {
            *v = term(
                at::PROXIMITY,
                proximity(RADII_KM.get(r).copied().unwrap_or(FAR_KM)),
            );
        }
        let admin = (0..=day.admin.len())
            .map(|a| term(at::ADMIN, admin_rate(day, a as u32)))
            .collect();
        DayScorer {
            grid: self,
            day,
            w,
            parts,
            absent: std::array::from_fn(|r| part(r, &zero)),
            prox,
            admin,
            constant: w.intercept
                + term(at::THEATRE, day.theatre[0].ln_1p())
                + term(at::THEATRE + 1, day.theatre[1].ln_1p()),
        }
    }
}

/// A day's inputs folded into a model ([`FeatureGrid::scorer`]).
pub struct DayScorer<'a> {
    grid: &'a FeatureGrid,
    day: &'a DayFeatures,
    w: &'a Weights,
    /// Per radius, each place's part of the log-odds.
    parts: Vec<Vec<f64>>,
    /// Per radius, the part of a cell with no events within it.
    absent: [f64; R],
    /// The proximity's part with the nearest violence at each radius, then none.
    prox: [f64; R + 1],
    /// The admin rate's part per first-level area, then for none.
    admin: Vec<f64>,
    /// Intercept and the theatre's parts.
    constant: f64,
}

impl DayScorer<'_> {
    /// The probability of grid position `p` (first-level area `area`, inputs `x`).
    pub fn probability(&self, p: usize, area: u32, x: &CellInputs) -> f64 {
        let mut eta = self.constant;
        let mut nearest = R;
        for r in (0..R).rev() {
            let slot = self
                .grid
                .key(p, r)
                .and_then(|k| self.day.slot.get(r)?.get(k).copied())
                .unwrap_or(NO_PLACE);
            match self.parts[r].get(slot as usize) {
                Some(part) => {
                    eta += part;
                    if self.day.blocks[r][slot as usize].violent_year {
                        nearest = r;
                    }
                }
                None => eta += self.absent[r],
            }
        }
        eta += self.prox[nearest];
        eta += self.admin[(area as usize).min(self.admin.len() - 1)];
        for (j, v) in cell_terms(x) {
            eta += self.w.beta[j] * standardised(v, self.w.mean[j], self.w.scale[j]);
        }
        self.w.ceiling * sigmoid(eta)
    }
}

/// The input positions of radius `r`'s block.
fn block_positions(r: usize) -> impl Iterator<Item = usize> {
    (0..3)
        .flat_map(move |c| (0..W).map(move |w| at::count(c, r, w)))
        .chain([at::RECENCY + r, at::TREND + r, at::DEATHS + r])
}

/// The proximity input with the nearest violence `km` away.
fn proximity(km: f64) -> f32 {
    (FAR_KM.ln_1p() - km.ln_1p()) as f32
}

/// The admin input of first-level area `area`.
fn admin_rate(day: &DayFeatures, area: u32) -> f32 {
    day.admin.get(area as usize).copied().unwrap_or(0.0).ln_1p()
}

/// The inputs a cell takes from its own record, with their positions.
fn cell_terms(x: &CellInputs) -> [(usize, f32); 9] {
    let l = log_loads(&x.components);
    [
        (
            at::POPULATION,
            x.population.unwrap_or(0.0).max(0.0).ln_1p() as f32,
        ),
        (at::DISPLACED, x.displaced.max(0.0).ln_1p() as f32),
        (at::LOG_LOADS, l[0] as f32),
        (at::LOG_LOADS + 1, l[1] as f32),
        (at::LOG_LOADS + 2, l[2] as f32),
        (at::LOG_LOADS + 3, l[3] as f32),
        (at::LOG_LOADS + 4, l[4] as f32),
        (at::CLIMATE, x.components[5].clamp(0.0, 1.0) as f32),
        (at::EXPOSURE, x.exposure as f32),
    ]
}

/// The cells of the top `share` of `probability` (the share of the grid rounded down; cells of
/// probability 0 never; of equal probabilities, the first).
pub fn watched(probability: &[f64], share: f64) -> Vec<bool> {
    let n = probability.len();
    let k = ((share * n as f64 + 1e-9).floor() as usize).min(n);
    let candidates: Vec<usize> = (0..n).filter(|i| probability[*i] > 0.0).collect();
    let mut out = vec![false; n];
    for i in crate::model::params::top(probability, &candidates, k) {
        out[i] = true;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::{cell_of, resolution};
    use crate::model::params::feature_names;
    use crate::model::rows::Precision;

    fn events(list: &[(u64, i32, i32, EventClass, bool, i64)]) -> EventSet {
        let mut ev = EventSet::default();
        let mut list = list.to_vec();
        list.sort_by_key(|e| e.1);
        for (cell, day, known, kind, remote, deaths) in list {
            ev.cell.push(cell);
            ev.day.push(day);
            ev.known.push(known);
            ev.counted_until.push(i32::MAX);
            ev.kind.push(kind);
            ev.remote.push(remote);
            ev.severity.push(1.0);
            ev.precision.push(Precision::Exact);
            ev.civilian_deaths.push(deaths);
        }
        ev
    }

    #[test]
    fn the_feature_positions_match_the_names() {
        let names = feature_names();
        assert_eq!(names.len(), P);
        assert_eq!(names[at::count(0, 0, 0)], "harm_cell_30d");
        assert_eq!(names[at::count(2, 4, 3)], "remote_50km_1095d");
        assert_eq!(names[at::RECENCY], "recency_cell");
        assert_eq!(names[at::TREND + 4], "trend_50km");
        assert_eq!(names[at::DEATHS + 2], "civilian_deaths_10km_365d");
        assert_eq!(names[at::PROXIMITY], "proximity_365d");
        assert_eq!(names[at::ADMIN], "admin_harm_rate_365d");
        assert_eq!(names[at::LOG_LOADS], "harm_log_load");
        assert_eq!(names[at::EXPOSURE], "exposure");
    }

    #[test]
    fn events_count_by_class_radius_and_window_as_of_the_day() {
        let res = resolution(7).unwrap_or_else(|e| panic!("{e}"));
        let here = u64::from(cell_of(4.0, 20.0, res).unwrap_or_else(|e| panic!("{e}")));
        // About 7 km east, and about 40 km east.
        let near = u64::from(cell_of(4.0, 20.063, res).unwrap_or_else(|e| panic!("{e}")));
        let far = u64::from(cell_of(4.0, 20.36, res).unwrap_or_else(|e| panic!("{e}")));
        let d = 1_000;
        let ev = events(&[
            (here, d - 10, d - 10, EventClass::Harm, false, 3),
            (near, d - 100, d - 100, EventClass::Conflict, false, 0),
            (far, d - 400, d - 400, EventClass::Conflict, true, 0),
            // Dated before D but published after: not known on D.
            (here, d - 5, d + 3, EventClass::Harm, false, 9),
            // After D.
            (here, d + 1, d + 1, EventClass::Harm, false, 9),
        ]);
        let mut grid = vec![here, near, far];
        grid.sort_unstable();
        let at_pos = |c: u64| grid.iter().position(|g| *g == c).map(|p| p as u32);
        let p = grid.iter().position(|g| *g == here).unwrap_or(0);
        let mut g = FeatureGrid::new(res, &grid, &[0; 3], 1);
        let day = g.day(&ev, d, |_| 0, at_pos, |_, _: &[f64]| None);
        let x = CellInputs {
            components: [0.0; 6],
            exposure: 1.0,
            population: Some(99.0),
            displaced: 0.0,
        };
        let row = g.row(&day, p, 0, &x);
        let v = |j: usize| f64::from(row[j]).exp() - 1.0;
        let close = |a: f64, b: f64| (a - b).abs() < 1e-4;
        assert!(
            close(v(at::count(0, 0, 0)), 1.0),
            "one harm event in the cell in 30 d"
        );
        assert!(close(v(at::count(1, 0, 3)), 0.0));
        assert!(close(v(at::count(1, 1, 3)), 0.0), "the clash is 7 km away");
        assert!(
            close(v(at::count(1, 2, 1)), 0.0),
            "100 days ago: not in 90 d"
        );
        assert!(
            close(v(at::count(1, 2, 2)), 1.0),
            "within 10 km in the last year"
        );
        assert!(close(v(at::count(2, 3, 3)), 0.0));
        assert!(
            close(v(at::count(2, 4, 3)), 1.0),
            "remote violence within 50 km in 3 y"
        );
        assert!(close(v(at::count(2, 4, 2)), 0.0));
        assert!(close(v(at::DEATHS), 3.0));
        assert_eq!(row[at::PROXIMITY], (FAR_KM.ln_1p() - 0.0) as f32);
        assert!(row[at::RECENCY] > row[at::RECENCY + 4] - 1e-6);
        assert!((f64::from(row[at::POPULATION]) - 100f64.ln()).abs() < 1e-5);
        // The late-published and future events are not there: adding more of them changes
        // nothing.
        let later = events(&[
            (here, d - 10, d - 10, EventClass::Harm, false, 3),
            (near, d - 100, d - 100, EventClass::Conflict, false, 0),
            (far, d - 400, d - 400, EventClass::Conflict, true, 0),
        ]);
        let mut g2 = FeatureGrid::new(res, &grid, &[0; 3], 1);
        let day2 = g2.day(&later, d, |_| 0, at_pos, |_, _: &[f64]| None);
        assert_eq!(g2.row(&day2, p, 0, &x), row);
    }

    #[test]
    fn the_folded_probability_is_the_rows_probability() {
        // A grid of a few hundred cells around scattered events of every class: the
        // probability read through the scorer's folded parts equals the model applied to
        // each cell's full row, wherever the cell is.
        let res = resolution(7).unwrap_or_else(|e| panic!("{e}"));
        let centre = cell_of(4.0, 20.0, res).unwrap_or_else(|e| panic!("{e}"));
        let mut grid: Vec<u64> = centre
            .grid_disk::<Vec<_>>(12)
            .into_iter()
            .map(u64::from)
            .collect();
        grid.sort_unstable();
        let d = 2_000;
        let kinds = [EventClass::Harm, EventClass::Conflict, EventClass::Other];
        let list: Vec<(u64, i32, i32, EventClass, bool, i64)> = (0..60usize)
            .map(|i| {
                let c = grid[(i * 37) % grid.len()];
                let day = d - ((i * 53) % 1_200) as i32;
                (c, day, day, kinds[i % 3], i % 5 == 0, (i % 4) as i64)
            })
            .collect();
        let ev = events(&list);
        let at_pos = |c: u64| grid.binary_search(&c).ok().map(|p| p as u32);
        let area_of: Vec<u32> = (0..grid.len()).map(|p| (p % 3) as u32).collect();
        let mut g = FeatureGrid::new(res, &grid, &area_of, 2);
        let day = g.day(&ev, d, |c| (c % 3) as u32, at_pos, |_, _: &[f64]| None);
        let mut w = Weights {
            intercept: -3.0,
            beta: [0.0; P],
            mean: [0.0; P],
            scale: [1.0; P],
            ceiling: 0.7,
        };
        for j in 0..P {
            w.beta[j] = ((j * 7919) % 13) as f64 / 10.0 - 0.6;
            w.mean[j] = ((j * 31) % 5) as f64 / 4.0;
            w.scale[j] = 0.2 + ((j * 17) % 7) as f64 / 5.0;
        }
        let scorer = g.scorer(&day, &w);
        let mut differ = 0;
        for (p, area) in area_of.iter().copied().enumerate() {
            let x = CellInputs {
                components: [0.1, 0.2, 0.0, 0.3, 0.05, (p % 10) as f64 / 10.0],
                exposure: 0.5,
                population: Some(p as f64 * 10.0),
                displaced: (p % 7) as f64,
            };
            let row = g.row(&day, p, area, &x);
            let (a, b) = (scorer.probability(p, area, &x), w.probability(&row));
            assert!((a - b).abs() <= 1e-12 * b.max(1e-300), "{p}: {a} vs {b}");
            differ += usize::from(row != g.row(&day, 0, area, &x));
        }
        assert!(differ > grid.len() / 2, "the cells' inputs differ");
        // A cell without an area (or one unknown) takes the rate 0 either way.
        let x = CellInputs {
            components: [0.0; 6],
            exposure: 1.0,
            population: None,
            displaced: 0.0,
        };
        let row = g.row(&day, 5, u32::MAX, &x);
        assert!((scorer.probability(5, u32::MAX, &x) - w.probability(&row)).abs() < 1e-12);
    }

    #[test]
    fn the_watch_takes_the_top_share() {
        let p: Vec<f64> = (0..200).map(|i| f64::from(i) / 200.0).collect();
        let w = watched(&p, 0.01);
        assert_eq!(w.iter().filter(|x| **x).count(), 2);
        assert!(w[199] && w[198] && !w[197]);
        assert!(watched(&p, 0.0).iter().all(|x| !x));
        assert!(watched(&[0.0; 10], 0.5).iter().all(|x| !x));
        // Ties never exceed the budget: of equal probabilities, the first cells.
        let w = watched(&[0.5; 10], 0.2);
        assert_eq!(
            w,
            [true, true, false, false, false, false, false, false, false, false]
        );
    }
}
