//! The violence: a self-exciting (Hawkes) process of events around hotspots, with
//! reprisals against civilians after clashes and fewer events in the rainy season.

use super::world::*;
use crate::model::day::ymd_from_days;
use crate::model::rand::SplitMix64;

/// What a simulated act of violence is: it decides its ACLED and UCDP event types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Act {
    Attack,
    Abduction,
    SexualViolence,
    Clash,
    Ied,
    Shelling,
    Protest,
    MobViolence,
    Strategic,
}

#[derive(Debug, Clone)]
pub(super) struct SimEvent {
    pub(super) day: i32,
    pub(super) lat: f64,
    pub(super) lon: f64,
    pub(super) kind: Act,
    pub(super) group: usize,
    pub(super) fatalities: i64,
    pub(super) civilian_targeting: bool,
    pub(super) precision: u8,
}

pub(super) fn simulate(rng: &mut SplitMix64) -> Vec<SimEvent> {
    let (first, last) = (day(FIRST_DAY), day(LAST_DAY));
    let mut queue: Vec<SimEvent> = Vec::new();
    for d in first..=last {
        let year = (ymd_from_days(d).0 - FIRST_DAY.0).clamp(0, 2) as usize;
        for h in &HOTSPOTS {
            let n = rng.poisson(h.rate * h.years[year] * season(d));
            for _ in 0..n {
                let lat = h.lat + km_to_deg(9.0) * rng.normal();
                let lon = h.lon + km_to_deg(9.0) * rng.normal();
                let kind = pick_kind(rng, None);
                queue.push(make_event(rng, d, lat, lon, kind, h.group));
            }
        }
        // Unrest in towns, independent of the armed conflict.
        if rng.next_f64() < 0.05 {
            let t = rng.pick(&TOWNS);
            let kind = if rng.next_f64() < 0.7 {
                Act::Protest
            } else {
                Act::MobViolence
            };
            queue.push(make_event(rng, d, t.lat, t.lon, kind, 0));
        }
        if rng.next_f64() < 0.03 {
            let h = rng.pick(&HOTSPOTS);
            queue.push(make_event(rng, d, h.lat, h.lon, Act::Strategic, h.group));
        }
    }
    // Self-excitation: each event triggers Poisson(0.55) offspring, ~6 days later, ~7 km away.
    let mut all = Vec::new();
    while let Some(parent) = queue.pop() {
        if !matches!(parent.kind, Act::Protest | Act::Strategic) {
            let n = rng.poisson(0.55);
            for _ in 0..n {
                let delay = 1 + (-(1.0 - rng.next_f64()).ln() * 6.0) as i32;
                let d = parent.day + delay;
                let lat = parent.lat + km_to_deg(7.0) * rng.normal();
                let lon = parent.lon + km_to_deg(7.0) * rng.normal();
                if d <= last && inside(lat, lon) {
                    let kind = pick_kind(rng, Some(parent.kind));
                    queue.push(make_event(rng, d, lat, lon, kind, parent.group));
                }
            }
        }
        if inside(parent.lat, parent.lon) {
            all.push(parent);
        }
    }
    all.sort_by(|a, b| {
        (a.day, a.kind, a.group)
            .cmp(&(b.day, b.kind, b.group))
            .then(a.lat.total_cmp(&b.lat))
            .then(a.lon.total_cmp(&b.lon))
    });
    all
}

pub(super) fn pick_kind(rng: &mut SplitMix64, parent: Option<Act>) -> Act {
    let u = rng.next_f64();
    // After a clash, reprisals against civilians are likely.
    let civ = match parent {
        Some(Act::Clash) => 0.55,
        Some(Act::Attack | Act::Abduction | Act::SexualViolence) => 0.6,
        _ => 0.45,
    };
    if u < civ {
        let v = rng.next_f64();
        if v < 0.6 {
            Act::Attack
        } else if v < 0.85 {
            Act::Abduction
        } else {
            Act::SexualViolence
        }
    } else if u < civ + 0.35 {
        Act::Clash
    } else if rng.next_f64() < 0.6 {
        Act::Ied
    } else {
        Act::Shelling
    }
}

pub(super) fn make_event(
    rng: &mut SplitMix64,
    day: i32,
    lat: f64,
    lon: f64,
    kind: Act,
    group: usize,
) -> SimEvent {
    let fatalities = match kind {
        Act::Attack => {
            if rng.next_f64() < 0.35 {
                0
            } else {
                1 + rng.poisson(2.5) as i64
            }
        }
        Act::Clash => rng.poisson(4.0) as i64,
        Act::Ied | Act::Shelling => rng.poisson(1.2) as i64,
        Act::MobViolence => rng.poisson(0.4) as i64,
        Act::Abduction | Act::SexualViolence | Act::Protest | Act::Strategic => 0,
    };
    let civilian_targeting = match kind {
        Act::Attack | Act::Abduction | Act::SexualViolence => true,
        Act::Ied | Act::Shelling => rng.next_f64() < 0.3,
        _ => false,
    };
    let u = rng.next_f64();
    let precision = if u < 0.7 {
        1
    } else if u < 0.95 {
        2
    } else {
        3
    };
    SimEvent {
        day,
        lat: (lat * 1e4).round() / 1e4,
        lon: (lon * 1e4).round() / 1e4,
        kind,
        group,
        fatalities,
        civilian_targeting,
        precision,
    }
}
