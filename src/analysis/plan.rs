//! Placement: `vigil plan --k N` proposes sites for N new temporary operating bases by greedy
//! maximal covering with lazy evaluation (CELF): each step takes the candidate cell whose
//! base would newly cover the most people in gap cells (high or critical, not covered).
//! Coverage is submodular, so a candidate's last computed gain bounds its gain now and
//! most candidates are never recomputed; the result is exactly plain greedy's (ties to the
//! smaller cell), within 1 − 1/e of the optimum.

use super::recompute::SnapshotGrid;
use super::report::{num, ReportRow};
use super::scenario::{NewBase, Scenario};
use crate::grid::{cell_from_u64, distance_km, rings_for_km};
use h3o::CellIndex;
use serde::Serialize;
use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

/// What to place.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlanOptions {
    /// Number of sites.
    pub k: usize,
    /// Reach of each new base, km.
    pub radius_km: f64,
    /// Troops of each new base.
    pub troops: i64,
}

/// Most sites one plan may ask for (a request must not buy unbounded work).
pub const MAX_SITES: usize = 100;
/// The most troops one base may have (a plan's or a scenario's new bases).
pub const MAX_TROOPS: i64 = 100_000;

/// A plan request that cannot be run; `parameter` is the request field (`k`, `radius_km`,
/// `troops`), which the command line shows as its flag.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{parameter} = {value}: {reason}")]
pub struct PlanError {
    /// The field.
    pub parameter: &'static str,
    /// What was given.
    pub value: String,
    /// Why it is refused.
    pub reason: &'static str,
}

impl PlanOptions {
    /// The one validation of a plan request, for the command line and the API alike: 1 to
    /// [`MAX_SITES`] sites, a reach in (0, 200] km, 0 to [`MAX_TROOPS`] troops.
    pub fn new(k: usize, radius_km: f64, troops: i64) -> Result<Self, PlanError> {
        let refuse = |parameter, value: String, reason| PlanError {
            parameter,
            value,
            reason,
        };
        if !(1..=MAX_SITES).contains(&k) {
            return Err(refuse("k", k.to_string(), "ask for 1 to 100 sites"));
        }
        if !(radius_km > 0.0 && radius_km <= 200.0) {
            return Err(refuse(
                "radius_km",
                radius_km.to_string(),
                "the reach must be in (0, 200] km",
            ));
        }
        if !(0..=MAX_TROOPS).contains(&troops) {
            return Err(refuse(
                "troops",
                troops.to_string(),
                "troops must be within 0..=100000",
            ));
        }
        Ok(PlanOptions {
            k,
            radius_km,
            troops,
        })
    }
}

/// One proposed site.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Site {
    /// 1 for the first site chosen.
    pub rank: usize,
    /// The candidate cell (the base stands at its centre).
    pub h3: String,
    /// Latitude of the site.
    pub lat: f64,
    /// Longitude of the site.
    pub lon: f64,
    /// Area name.
    pub area: Option<String>,
    /// People in gap cells newly covered by this site, given the sites before it.
    pub gain: f64,
    /// Gap cells newly covered.
    pub gain_cells: usize,
    /// People newly covered by this site and the ones before it.
    pub cumulative: f64,
}

impl ReportRow for Site {
    fn header() -> Vec<&'static str> {
        vec![
            "rank",
            "h3",
            "lat",
            "lon",
            "area",
            "gain",
            "gain_cells",
            "cumulative",
        ]
    }

    fn cells(&self) -> Vec<String> {
        vec![
            self.rank.to_string(),
            self.h3.clone(),
            format!("{:.5}", self.lat),
            format!("{:.5}", self.lon),
            self.area.clone().unwrap_or_default(),
            num(self.gain.round(), 0),
            self.gain_cells.to_string(),
            num(self.cumulative.round(), 0),
        ]
    }
}

/// A placement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// Snapshot date.
    pub date: String,
    /// What is counted: `people` (residents and displaced) or `cells` when the store holds
    /// no population data.
    pub unit: &'static str,
    /// People (or cells) in gap cells before.
    pub demand: f64,
    /// Gap cells before.
    pub demand_cells: usize,
    /// The sites, in the order chosen.
    pub sites: Vec<Site>,
    /// People (or cells) still in gaps after all sites.
    pub remaining: f64,
    /// The sites as a scenario (`vigil scenario` reads it back).
    pub scenario: Scenario,
}

/// A chosen set: its index, its marginal gain and how many elements it newly covered.
pub type Pick = (usize, f64, usize);

/// Greedy maximal covering: `sets[j]` lists the elements set j covers, `weights` the
/// elements' weights; picks up to `k` sets, each the one of largest gain (ties: smallest
/// index), stopping early when no set adds anything. `lazy` uses CELF; both give the same.
pub fn maximal_covering(weights: &[f64], sets: &[Vec<u32>], k: usize, lazy: bool) -> Vec<Pick> {
    let mut covered = vec![false; weights.len()];
    let gain_of = |set: &[u32], covered: &[bool]| -> (f64, usize) {
        let mut g = 0.0;
        let mut n = 0;
        for &e in set {
            if !covered[e as usize] {
                g += weights[e as usize];
                n += 1;
            }
        }
        (g, n)
    };
    let mut picks = Vec::new();
    if lazy {
        let mut heap: BinaryHeap<Entry> = sets
            .iter()
            .enumerate()
            .map(|(j, s)| Entry {
                gain: gain_of(s, &covered).0,
                set: j,
                round: 0,
            })
            .collect();
        while picks.len() < k {
            let round = picks.len();
            let Some(top) = heap.pop() else { break };
            if top.round == round {
                if top.gain <= 0.0 {
                    break;
                }
                let (g, n) = gain_of(&sets[top.set], &covered);
                for &e in &sets[top.set] {
                    covered[e as usize] = true;
                }
                picks.push((top.set, g, n));
            } else {
                let (g, _) = gain_of(&sets[top.set], &covered);
                heap.push(Entry {
                    gain: g,
                    set: top.set,
                    round,
                });
            }
        }
    } else {
        while picks.len() < k {
            let mut best: Option<(f64, usize, usize)> = None;
            for (j, s) in sets.iter().enumerate() {
                let (g, n) = gain_of(s, &covered);
                if best.is_none_or(|(bg, _, _)| g > bg) {
                    best = Some((g, j, n));
                }
            }
            let Some((g, j, n)) = best.filter(|b| b.0 > 0.0) else {
                break;
            };
            for &e in &sets[j] {
                covered[e as usize] = true;
            }
            picks.push((j, g, n));
        }
    }
    picks
}

/// A heap entry: larger gain first, then the smaller set index; `round` = the number of
/// picks made when the gain was computed.
#[derive(Debug, Clone, Copy)]
struct Entry {
    gain: f64,
    set: usize,
    round: usize,
}

impl PartialEq for Entry {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Entry {
    fn cmp(&self, o: &Self) -> Ordering {
        self.gain
            .total_cmp(&o.gain)
            .then_with(|| o.set.cmp(&self.set))
            // A fresh gain before a stale one of the same value and set (never both).
            .then_with(|| self.round.cmp(&o.round))
    }
}

/// Proposes `opts.k` sites on the snapshot prepared in `grid`: candidates are the grid's
/// cells within `radius_km` of a gap cell; a base at a candidate's centre covers the gap
/// cells whose centres lie within `radius_km` (as in the coverage of real bases).
pub fn plan(grid: &SnapshotGrid<'_>, date: &str, opts: &PlanOptions) -> Plan {
    let cells = grid.cells;
    let per_cell = grid.population.is_none();
    let demand: Vec<usize> = (0..cells.len()).filter(|i| cells[*i].flags.gap).collect();
    let weights: Vec<f64> = demand
        .iter()
        .map(|&i| {
            let r = &cells[i];
            if per_cell {
                1.0
            } else {
                r.population.unwrap_or(0.0) + r.displaced
            }
        })
        .collect();
    // Candidate position → the demand elements a base there covers.
    let rings = rings_for_km(opts.radius_km, grid.res);
    let mut cover: HashMap<u32, Vec<u32>> = HashMap::new();
    for (e, &i) in demand.iter().enumerate() {
        let Ok(c) = cell_from_u64(cells[i].cell) else {
            continue;
        };
        for n in c.grid_disk::<Vec<CellIndex>>(rings) {
            let Some(p) = grid.pos.get(u64::from(n)) else {
                continue;
            };
            if distance_km(grid.centres[p as usize], grid.centres[i]) <= opts.radius_km {
                cover.entry(p).or_default().push(e as u32);
            }
        }
    }
    let mut candidates: Vec<(u32, Vec<u32>)> = cover.into_iter().collect();
    candidates.sort_unstable_by_key(|c| c.0);
    let (positions, sets): (Vec<u32>, Vec<Vec<u32>>) = candidates.into_iter().unzip();
    let picks = maximal_covering(&weights, &sets, opts.k, true);
    let total: f64 = weights.iter().fold(0.0, |a, w| a + w);
    let mut cumulative = 0.0;
    let mut sites = Vec::new();
    let mut add = Vec::new();
    for (rank, (j, gain, n)) in picks.into_iter().enumerate() {
        let r = &cells[positions[j] as usize];
        cumulative += gain;
        let h3 = cell_from_u64(r.cell)
            .map(|c| c.to_string())
            .unwrap_or_default();
        add.push(NewBase {
            name: format!("proposed site {} ({h3})", rank + 1),
            lat: r.lat,
            lon: r.lon,
            troops: opts.troops,
            radius_km: Some(opts.radius_km),
            mission: None,
        });
        sites.push(Site {
            rank: rank + 1,
            h3,
            lat: r.lat,
            lon: r.lon,
            area: r.area.as_deref().map(str::to_owned),
            gain,
            gain_cells: n,
            cumulative,
        });
    }
    Plan {
        date: date.to_owned(),
        unit: if per_cell { "cells" } else { "people" },
        demand: total,
        demand_cells: demand.len(),
        sites,
        remaining: (total - cumulative).max(0.0),
        scenario: Scenario {
            add,
            close: Vec::new(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_optimum() {
        // Villages a..e with 100, 80, 70, 60, 5 people. Site 0 covers a; site 1 covers b, c;
        // site 2 covers a, d; site 3 covers c, d, e; site 4 covers nothing.
        // k = 1: site 2 (a + d = 160) is the best single site (site 3: 135, site 1: 150).
        // k = 2: site 2 then site 1 (b + c = 150) = 310 = the optimum (everyone but e).
        let w = [100.0, 80.0, 70.0, 60.0, 5.0];
        let sets = vec![vec![0], vec![1, 2], vec![0, 3], vec![2, 3, 4], vec![]];
        let one = maximal_covering(&w, &sets, 1, true);
        assert_eq!(one, vec![(2, 160.0, 2)]);
        let two = maximal_covering(&w, &sets, 2, true);
        assert_eq!(two, vec![(2, 160.0, 2), (1, 150.0, 2)]);
        let all = maximal_covering(&w, &sets, 10, true);
        assert_eq!(all.len(), 3, "stops when nothing more can be covered");
        assert_eq!(all[2], (3, 5.0, 1));
    }

    fn brute_force(w: &[f64], sets: &[Vec<u32>], k: usize) -> f64 {
        let n = sets.len();
        let mut best: f64 = 0.0;
        for mask in 0u32..(1 << n) {
            if mask.count_ones() as usize > k {
                continue;
            }
            let mut cov = vec![false; w.len()];
            for (j, s) in sets.iter().enumerate() {
                if mask & (1 << j) != 0 {
                    for e in s {
                        cov[*e as usize] = true;
                    }
                }
            }
            best = best.max(
                w.iter()
                    .zip(&cov)
                    .filter(|(_, c)| **c)
                    .map(|(x, _)| x)
                    .sum(),
            );
        }
        best
    }

    proptest! {
        #[test]
        fn lazy_equals_plain_and_is_within_the_greedy_bound(
            w in prop::collection::vec(0.0f64..100.0, 1..12),
            raw in prop::collection::vec(prop::collection::vec(0u32..12, 0..6), 1..9),
            k in 1usize..4,
        ) {
            let n = w.len() as u32;
            let sets: Vec<Vec<u32>> = raw
                .into_iter()
                .map(|s| {
                    let mut s: Vec<u32> = s.into_iter().map(|e| e % n).collect();
                    s.sort_unstable();
                    s.dedup();
                    s
                })
                .collect();
            let lazy = maximal_covering(&w, &sets, k, true);
            let plain = maximal_covering(&w, &sets, k, false);
            prop_assert_eq!(&lazy, &plain);
            let got: f64 = lazy.iter().map(|p| p.1).sum();
            let opt = brute_force(&w, &sets, k);
            prop_assert!(got <= opt + 1e-9);
            prop_assert!(got >= (1.0 - (-1.0f64).exp()) * opt - 1e-9, "{} < (1-1/e) {}", got, opt);
        }
    }
}
