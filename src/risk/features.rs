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
use crate::grid::{cell_from_u64, rings_for_km};
use crate::model::params::{at, log_loads, FEATURE_LOOKBACK_DAYS, P, RADII_KM, WINDOWS_DAYS};
use ahash::AHashMap as HashMap;
use h3o::Resolution;
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

/// The grid's feature geometry, kept across the days of a run: the resolution of each
/// radius, the cells within each radius (filled as events need them) and the size of each
/// first-level area.
pub struct FeatureGrid {
    res: Resolution,
    key_res: [Resolution; R],
    disks: Vec<HashMap<u64, Vec<u64>>>,
    area_km2: Vec<f64>,
}

/// The event sums of one day, per radius, and the admin areas' rates.
#[derive(Debug, Clone, Default)]
pub struct DayFeatures {
    at: Vec<HashMap<u64, Block>>,
    admin: Vec<f32>,
    /// Civilian-harm events of the whole store over 90 and 365 days (not per cell: a grid
    /// without loaded areas grows with the days scored, and a day's inputs must not
    /// depend on the range it is scored in).
    theatre: [f32; 2],
}

impl FeatureGrid {
    /// The geometry of a grid of resolution `res` whose cells have first-level areas
    /// `area_of` (indexes below `areas`, or anything else for none).
    pub fn new(res: Resolution, area_of: &[u32], areas: usize) -> Self {
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
        let mut cells = vec![0usize; areas];
        for a in area_of {
            if let Some(c) = cells.get_mut(*a as usize) {
                *c += 1;
            }
        }
        FeatureGrid {
            res,
            key_res,
            disks: vec![HashMap::new(); R],
            area_km2: cells.iter().map(|c| *c as f64 * res.area_km2()).collect(),
        }
    }

    /// The cell of radius `r`'s resolution that stands for `cell`.
    fn key(&self, cell: u64, r: usize) -> u64 {
        if self.key_res[r] == self.res {
            return cell;
        }
        cell_from_u64(cell)
            .ok()
            .and_then(|c| c.parent(self.key_res[r]))
            .map_or(cell, u64::from)
    }

    /// The event sums as of day `d`: the events of `ev` that count on `d`, dated within the
    /// look-back; `area` gives the first-level area of an event's cell.
    ///
    /// `grid_disk(c, km)` may give the grid cells within `km` of source cell `c` when the
    /// caller knows them already (the engine's neighbourhoods); cells outside the grid
    /// are never read, so such a disk counts the same.
    pub fn day(
        &mut self,
        ev: &EventSet,
        d: i32,
        area: impl Fn(u64) -> u32,
        grid_disk: impl Fn(u64, f64) -> Option<Vec<u64>> + Sync,
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
                    let k = self.key(*c, r);
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
        let (key_res, res) = (self.key_res, self.res);
        let grid_disk = &grid_disk;
        let at: Vec<HashMap<u64, Block>> = self
            .disks
            .par_iter_mut()
            .zip(keys.par_iter())
            .enumerate()
            .map(|(r, (disks, by))| {
                if r == 0 {
                    return by.iter().map(|(c, a)| (*c, Block::of(a, d))).collect();
                }
                let km = RADII_KM[r];
                let k = rings_for_km(km, key_res[r]);
                let missing: Vec<u64> = by
                    .iter()
                    .map(|(c, _)| *c)
                    .filter(|c| !disks.contains_key(c))
                    .collect();
                let known: Vec<Option<Vec<u64>>> = if key_res[r] == res {
                    missing.par_iter().map(|c| grid_disk(*c, km)).collect()
                } else {
                    vec![None; missing.len()]
                };
                let rest: Vec<u64> = missing
                    .iter()
                    .zip(&known)
                    .filter(|(_, k)| k.is_none())
                    .map(|(c, _)| *c)
                    .collect();
                let mut found = disks_within(&rest, k, km).into_iter();
                for (c, known) in missing.iter().zip(known) {
                    let disk = known.or_else(|| found.next()).unwrap_or_default();
                    disks.insert(*c, disk);
                }
                let mut out: HashMap<u64, Agg> = HashMap::new();
                for (c, a) in by {
                    for n in disks.get(c).map_or(&[][..], Vec::as_slice) {
                        out.entry(*n).or_default().add(a);
                    }
                }
                out.into_iter()
                    .map(|(c, a)| (c, Block::of(&a, d)))
                    .collect()
            })
            .collect();
        tracing::debug!(
            keys_ms = t_keys,
            sums_ms = t0.elapsed().as_millis() as u64,
            sources = sources.len(),
            "forecast inputs (cumulative)"
        );
        DayFeatures { at, admin, theatre }
    }

    /// The forecast's inputs of `cell` (first-level area `area`) on the day of `day`.
    pub fn row(&self, day: &DayFeatures, cell: u64, area: u32, x: &CellInputs) -> [f32; P] {
        let mut out = [0.0f32; P];
        let mut nearest = FAR_KM;
        for r in (0..R).rev() {
            // A place without events within the radius has every input 0 (ln 1).
            let Some(b) = day.at.get(r).and_then(|m| m.get(&self.key(cell, r))) else {
                continue;
            };
            for c in 0..3 {
                for w in 0..W {
                    out[at::count(c, r, w)] = b.counts[c][w];
                }
            }
            out[at::RECENCY + r] = b.recency;
            out[at::TREND + r] = b.trend;
            out[at::DEATHS + r] = b.deaths;
            if b.violent_year {
                nearest = RADII_KM[r];
            }
        }
        out[at::PROXIMITY] = (FAR_KM.ln_1p() - nearest.ln_1p()) as f32;
        out[at::ADMIN] = day.admin.get(area as usize).copied().unwrap_or(0.0).ln_1p();
        out[at::THEATRE] = day.theatre[0].ln_1p();
        out[at::THEATRE + 1] = day.theatre[1].ln_1p();
        out[at::POPULATION] = x.population.unwrap_or(0.0).max(0.0).ln_1p() as f32;
        out[at::DISPLACED] = x.displaced.max(0.0).ln_1p() as f32;
        for (j, v) in log_loads(&x.components).iter().enumerate() {
            out[at::LOG_LOADS + j] = *v as f32;
        }
        out[at::CLIMATE] = x.components[5].clamp(0.0, 1.0) as f32;
        out[at::EXPOSURE] = x.exposure as f32;
        out
    }
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
        let mut g = FeatureGrid::new(res, &[0], 1);
        let day = g.day(&ev, d, |_| 0, |_, _| None);
        let x = CellInputs {
            components: [0.0; 6],
            exposure: 1.0,
            population: Some(99.0),
            displaced: 0.0,
        };
        let row = g.row(&day, here, 0, &x);
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
        let mut g2 = FeatureGrid::new(res, &[0], 1);
        let day2 = g2.day(&later, d, |_| 0, |_, _| None);
        assert_eq!(g2.row(&day2, here, 0, &x), row);
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
