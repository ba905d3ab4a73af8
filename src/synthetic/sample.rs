//! Deterministic synthetic sample: a fictional mission area ("Kandara", mission MINUKA)
//! placed in real coordinates in Central Africa, three years of daily history, written in
//! the real file formats (ACLED, UCDP GED, Geo-PKO v2, `h3,population`, tidy rainfall,
//! geoBoundaries-style GeoJSON). Nothing in it is real data.
//!
//! Violence follows a self-exciting (Hawkes) process: background events around hotspots,
//! each event triggering offspring nearby in space and time, with reprisals against
//! civilians after clashes and fewer events in the rainy season. Temporary operating bases
//! open near recent violence, so deployments lag risk as they do in practice.

use crate::grid::{cell_of, center, distance_km};
use crate::model::day::{days_from_ymd, format_date, ymd_from_days};
use crate::model::rand::SplitMix64;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// Errors of the sample generator.
#[derive(Debug, thiserror::Error)]
pub enum SampleError {
    /// Writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// The seed of the committed sample.
pub const DEFAULT_SEED: u64 = 7;

/// File names of the sample, in ingest order, with their ingest kind.
pub const FILES: [(&str, &str); 6] = [
    ("areas", "admin1.geojson"),
    ("population", "population.csv"),
    ("climate", "rainfall.csv"),
    ("geopko", "geopko.csv"),
    ("acled", "acled.csv"),
    ("ucdp", "ucdp_ged.csv"),
];

const WEST: f64 = 20.0;
const EAST: f64 = 22.4;
const SOUTH: f64 = 5.6;
const NORTH: f64 = 7.4;
const DIVIDERS: [f64; 2] = [20.8, 21.6];
const PREFECTURES: [&str; 3] = ["Haute-Mbali", "Ouaka-Centre", "Basse-Kotto Est"];

struct Town {
    name: &'static str,
    lat: f64,
    lon: f64,
    people: f64,
}

const TOWNS: [Town; 14] = [
    Town {
        name: "Bakouma-Ville",
        lat: 6.52,
        lon: 21.05,
        people: 110_000.0,
    },
    Town {
        name: "Ngoro",
        lat: 7.05,
        lon: 20.35,
        people: 28_000.0,
    },
    Town {
        name: "Zemio-Sud",
        lat: 5.85,
        lon: 20.45,
        people: 22_000.0,
    },
    Town {
        name: "Kaga-Ndélé",
        lat: 6.95,
        lon: 21.35,
        people: 35_000.0,
    },
    Town {
        name: "Mbrès-Ouest",
        lat: 6.10,
        lon: 21.30,
        people: 18_000.0,
    },
    Town {
        name: "Ouandja",
        lat: 6.75,
        lon: 22.05,
        people: 26_000.0,
    },
    Town {
        name: "Yalinga-Bas",
        lat: 5.95,
        lon: 22.10,
        people: 15_000.0,
    },
    Town {
        name: "Kotto-Ferry",
        lat: 6.30,
        lon: 21.80,
        people: 9_000.0,
    },
    Town {
        name: "Sido-Carrefour",
        lat: 7.25,
        lon: 20.95,
        people: 12_000.0,
    },
    Town {
        name: "Mbali-Mines",
        lat: 6.40,
        lon: 20.25,
        people: 14_000.0,
    },
    Town {
        name: "Grimari-Nord",
        lat: 6.70,
        lon: 20.70,
        people: 8_000.0,
    },
    Town {
        name: "Dékoa-Village",
        lat: 5.75,
        lon: 21.60,
        people: 6_000.0,
    },
    Town {
        name: "Bambouti",
        lat: 7.20,
        lon: 22.25,
        people: 5_000.0,
    },
    Town {
        name: "Ippy-Rail",
        lat: 6.20,
        lon: 20.80,
        people: 11_000.0,
    },
];

/// Wildlife reserve in the north-east: no residents.
const RESERVE: [f64; 4] = [21.75, 6.95, 22.35, 7.4];

struct Hotspot {
    lat: f64,
    lon: f64,
    /// Background events per day at full activity.
    rate: f64,
    /// Activity multiplier per year (2022, 2023, 2024).
    years: [f64; 3],
    /// Armed group active here.
    group: usize,
}

const HOTSPOTS: [Hotspot; 6] = [
    Hotspot {
        lat: 7.00,
        lon: 20.40,
        rate: 0.30,
        years: [1.0, 0.6, 0.4],
        group: 0,
    },
    Hotspot {
        lat: 6.92,
        lon: 21.42,
        rate: 0.25,
        years: [0.5, 1.0, 1.2],
        group: 1,
    },
    Hotspot {
        lat: 6.72,
        lon: 22.02,
        rate: 0.22,
        years: [0.3, 0.8, 1.5],
        group: 2,
    },
    Hotspot {
        lat: 6.05,
        lon: 21.25,
        rate: 0.15,
        years: [0.8, 0.8, 0.6],
        group: 1,
    },
    Hotspot {
        lat: 5.90,
        lon: 22.15,
        rate: 0.12,
        years: [0.2, 0.4, 1.3],
        group: 2,
    },
    Hotspot {
        lat: 6.40,
        lon: 20.30,
        rate: 0.12,
        years: [1.0, 0.7, 0.8],
        group: 0,
    },
];

const GROUPS: [(&str, &str); 3] = [
    ("Mbali Liberation Front (FLM)", "Rebel group"),
    ("Union for Peace in Ouaka (UPO)", "Rebel group"),
    ("Kotto Self-Defence Militia", "Identity militia"),
];
const STATE: (&str, &str) = ("Military Forces of Kandara (2021-)", "State forces");
const CIVILIANS: (&str, &str) = ("Civilians (Kandara)", "Civilians");

const MISSION: &str = "MINUKA";
const FIRST_DAY: (i32, u32, u32) = (2022, 1, 1);
const LAST_DAY: (i32, u32, u32) = (2024, 12, 31);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
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
struct SimEvent {
    day: i32,
    lat: f64,
    lon: f64,
    kind: Kind,
    group: usize,
    fatalities: i64,
    civilian_targeting: bool,
    precision: u8,
}

/// Writes the sample into `out` (created if needed).
pub fn generate(out: &Path, seed: u64) -> Result<Vec<String>, SampleError> {
    std::fs::create_dir_all(out).map_err(|source| SampleError::Io {
        path: out.display().to_string(),
        source,
    })?;
    let mut rng = SplitMix64::new(seed);
    let events = simulate(&mut rng);
    let files = [
        ("admin1.geojson", admin_geojson(&mut rng)),
        ("population.csv", population_csv(&mut rng)),
        ("rainfall.csv", rainfall_csv(&mut rng)),
        ("geopko.csv", geopko_csv(&mut rng, &events)),
        ("acled.csv", acled_csv(&mut rng, &events)),
        ("ucdp_ged.csv", ucdp_csv(&mut rng, &events)),
    ];
    let mut written = Vec::new();
    for (name, text) in files {
        let path = out.join(name);
        std::fs::write(&path, text).map_err(|source| SampleError::Io {
            path: path.display().to_string(),
            source,
        })?;
        written.push(path.display().to_string());
    }
    Ok(written)
}

/// `n` synthetic events in the ACLED export layout, spread over ten years and a 15° × 10°
/// box of Central Africa: the input of the ingest benchmarks (not a realistic history).
pub fn scaled_acled(n: usize, seed: u64) -> String {
    let mut rng = SplitMix64::new(seed);
    let first = day((2015, 1, 1));
    let mut events: Vec<SimEvent> = (0..n)
        .map(|_| {
            let d = first + rng.below(3652) as i32;
            let lat = 0.0 + 10.0 * rng.next_f64();
            let lon = 15.0 + 15.0 * rng.next_f64();
            let kind = pick_kind(&mut rng, None);
            let group = rng.below(GROUPS.len() as u64) as usize;
            make_event(&mut rng, d, lat, lon, kind, group)
        })
        .collect();
    events.sort_by_key(|e| e.day);
    acled_csv(&mut rng, &events)
}

fn day(d: (i32, u32, u32)) -> i32 {
    days_from_ymd(d.0, d.1, d.2).unwrap_or(0)
}

fn inside(lat: f64, lon: f64) -> bool {
    (SOUTH + 0.02..NORTH - 0.02).contains(&lat) && (WEST + 0.02..EAST - 0.02).contains(&lon)
}

/// Rainy season (May–October) damps violence: roads close.
fn season(day: i32) -> f64 {
    let (_, m, _) = ymd_from_days(day);
    if (5..=10).contains(&m) {
        0.65
    } else {
        1.3
    }
}

fn km_to_deg(km: f64) -> f64 {
    km / 111.2
}

fn simulate(rng: &mut SplitMix64) -> Vec<SimEvent> {
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
                Kind::Protest
            } else {
                Kind::MobViolence
            };
            queue.push(make_event(rng, d, t.lat, t.lon, kind, 0));
        }
        if rng.next_f64() < 0.03 {
            let h = rng.pick(&HOTSPOTS);
            queue.push(make_event(rng, d, h.lat, h.lon, Kind::Strategic, h.group));
        }
    }
    // Self-excitation: each event triggers Poisson(0.55) offspring, ~6 days later, ~7 km away.
    let mut all = Vec::new();
    while let Some(parent) = queue.pop() {
        if !matches!(parent.kind, Kind::Protest | Kind::Strategic) {
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

fn pick_kind(rng: &mut SplitMix64, parent: Option<Kind>) -> Kind {
    let u = rng.next_f64();
    // After a clash, reprisals against civilians are likely.
    let civ = match parent {
        Some(Kind::Clash) => 0.55,
        Some(Kind::Attack | Kind::Abduction | Kind::SexualViolence) => 0.6,
        _ => 0.45,
    };
    if u < civ {
        let v = rng.next_f64();
        if v < 0.6 {
            Kind::Attack
        } else if v < 0.85 {
            Kind::Abduction
        } else {
            Kind::SexualViolence
        }
    } else if u < civ + 0.35 {
        Kind::Clash
    } else if rng.next_f64() < 0.6 {
        Kind::Ied
    } else {
        Kind::Shelling
    }
}

fn make_event(
    rng: &mut SplitMix64,
    day: i32,
    lat: f64,
    lon: f64,
    kind: Kind,
    group: usize,
) -> SimEvent {
    let fatalities = match kind {
        Kind::Attack => {
            if rng.next_f64() < 0.35 {
                0
            } else {
                1 + rng.poisson(2.5) as i64
            }
        }
        Kind::Clash => rng.poisson(4.0) as i64,
        Kind::Ied | Kind::Shelling => rng.poisson(1.2) as i64,
        Kind::MobViolence => rng.poisson(0.4) as i64,
        Kind::Abduction | Kind::SexualViolence | Kind::Protest | Kind::Strategic => 0,
    };
    let civilian_targeting = match kind {
        Kind::Attack | Kind::Abduction | Kind::SexualViolence => true,
        Kind::Ied | Kind::Shelling => rng.next_f64() < 0.3,
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

fn nearest_town(lat: f64, lon: f64) -> &'static Town {
    let mut best = &TOWNS[0];
    let mut best_d = f64::MAX;
    for t in &TOWNS {
        let d = distance_km((lat, lon), (t.lat, t.lon));
        if d < best_d {
            best_d = d;
            best = t;
        }
    }
    best
}

fn prefecture(lon: f64) -> &'static str {
    PREFECTURES[DIVIDERS.iter().filter(|d| lon >= **d).count()]
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn acled_csv(rng: &mut SplitMix64, events: &[SimEvent]) -> String {
    let mut out = String::from("event_id_cnty,event_date,year,time_precision,disorder_type,event_type,sub_event_type,actor1,assoc_actor_1,inter1,actor2,assoc_actor_2,inter2,interaction,civilian_targeting,iso,region,country,admin1,admin2,admin3,location,latitude,longitude,geo_precision,source,source_scale,notes,fatalities,tags,timestamp\n");
    for (i, e) in events.iter().enumerate() {
        let group = GROUPS[e.group];
        let (disorder, etype, sub, a1, a2) = match e.kind {
            Kind::Attack => (
                "Political violence",
                "Violence against civilians",
                "Attack",
                group,
                CIVILIANS,
            ),
            Kind::Abduction => (
                "Political violence",
                "Violence against civilians",
                "Abduction/forced disappearance",
                group,
                CIVILIANS,
            ),
            Kind::SexualViolence => (
                "Political violence",
                "Violence against civilians",
                "Sexual violence",
                group,
                CIVILIANS,
            ),
            Kind::Clash => ("Political violence", "Battles", "Armed clash", STATE, group),
            Kind::Ied => (
                "Political violence",
                "Explosions/Remote violence",
                "Remote explosive/landmine/IED",
                group,
                if e.civilian_targeting {
                    CIVILIANS
                } else {
                    STATE
                },
            ),
            Kind::Shelling => (
                "Political violence",
                "Explosions/Remote violence",
                "Shelling/artillery/missile attack",
                group,
                if e.civilian_targeting {
                    CIVILIANS
                } else {
                    STATE
                },
            ),
            Kind::Protest => (
                "Demonstrations",
                "Protests",
                "Peaceful protest",
                ("Protesters (Kandara)", "Protesters"),
                ("", ""),
            ),
            Kind::MobViolence => (
                "Political violence; Demonstrations",
                "Riots",
                "Mob violence",
                ("Rioters (Kandara)", "Rioters"),
                CIVILIANS,
            ),
            Kind::Strategic => (
                "Strategic developments",
                "Strategic developments",
                "Headquarters or base established",
                group,
                ("", ""),
            ),
        };
        let town = nearest_town(e.lat, e.lon);
        let (y, _, _) = ymd_from_days(e.day);
        let date = format_date(e.day);
        let interaction = if a2.1.is_empty() {
            format!("{} only", a1.1)
        } else {
            format!("{}-{}", a1.1, a2.1)
        };
        let notes = match e.kind {
            Kind::Attack if e.fatalities > 0 => format!("On {date}, {} attacked the area of {}, killing {} civilians. Houses were burned, and residents fled to the bush.", a1.0, town.name, e.fatalities),
            Kind::Attack => format!("On {date}, {} looted the village near {}; no fatalities reported.", a1.0, town.name),
            Kind::Abduction => format!("On {date}, {} abducted several civilians near {}, demanding \"ransom\".", a1.0, town.name),
            Kind::SexualViolence => format!("On {date}, members of {} committed sexual violence against women near {}.", a1.0, town.name),
            Kind::Clash => format!("On {date}, {} clashed with {} near {}, {} fatalities.", a1.0, a2.0, town.name, e.fatalities),
            Kind::Ied | Kind::Shelling => format!("On {date}, an explosive device hit a vehicle near {}, {} fatalities.", town.name, e.fatalities),
            Kind::Protest => format!("On {date}, residents of {} protested against insecurity.", town.name),
            Kind::MobViolence => format!("On {date}, a mob attacked a suspected informant in {}.", town.name),
            Kind::Strategic => format!("On {date}, {} set up a new position near {}.", a1.0, town.name),
        };
        // Uploaded on the Tuesday after the event, 1–3 weeks later.
        let upload = e.day + 7 + rng.below(14) as i32;
        let upload = upload + (6 - (upload + 3).rem_euclid(7)).rem_euclid(7);
        let timestamp = i64::from(upload) * 86_400 + 36_000 + rng.below(7_200) as i64;
        let fields = [
            format!("KDR{}", 10_000 + i),
            date,
            y.to_string(),
            "1".into(),
            disorder.into(),
            etype.into(),
            sub.into(),
            a1.0.into(),
            String::new(),
            a1.1.into(),
            a2.0.into(),
            String::new(),
            a2.1.into(),
            interaction,
            if e.civilian_targeting {
                "Civilian targeting".into()
            } else {
                String::new()
            },
            "999".into(),
            "Middle Africa".into(),
            "Kandara (synthetic)".into(),
            prefecture(e.lon).into(),
            town.name.into(),
            String::new(),
            town.name.into(),
            format!("{:.4}", e.lat),
            format!("{:.4}", e.lon),
            e.precision.to_string(),
            "Synthetic Radio".into(),
            "Subnational".into(),
            notes,
            e.fatalities.to_string(),
            String::new(),
            timestamp.to_string(),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out
}

fn priogrid(lat: f64, lon: f64) -> i64 {
    let row = ((lat + 90.0) / 0.5).floor() as i64;
    let col = ((lon + 180.0) / 0.5).floor() as i64;
    row * 720 + col + 1
}

fn ucdp_csv(rng: &mut SplitMix64, events: &[SimEvent]) -> String {
    let mut out = crate::ingest::ucdp::GED_COLUMNS.join(",");
    out.push('\n');
    let mut id = 500_000;
    for e in events {
        let tov = match e.kind {
            Kind::Attack if e.fatalities > 0 => 3,
            Kind::Clash if e.fatalities > 0 => {
                if e.group == 2 {
                    2
                } else {
                    1
                }
            }
            _ => continue,
        };
        // UCDP records about half of the fatal incidents that ACLED records here.
        if rng.next_f64() < 0.5 {
            continue;
        }
        id += 1;
        let (y, _, _) = ymd_from_days(e.day);
        let group = GROUPS[e.group].0;
        let (side_a, side_b) = match tov {
            3 => (group, "Civilians"),
            2 => (group, GROUPS[0].0),
            _ => ("Government of Kandara", group),
        };
        let lat = e.lat + km_to_deg(1.5) * rng.normal();
        let lon = e.lon + km_to_deg(1.5) * rng.normal();
        let best = (e.fatalities + rng.below(3) as i64 - 1).max(1);
        let (da, db, dc) = match tov {
            3 => (0, 0, best),
            _ => (best / 2, best - best / 2, 0),
        };
        let town = nearest_town(lat, lon);
        let date = format!("{} 00:00:00.000", format_date(e.day));
        let fields = [
            id.to_string(),
            format!("KDR-{y}-{tov}-{}-{id}", 900 + e.group),
            y.to_string(),
            "1".into(),
            "Clear".into(),
            tov.to_string(),
            (900 + tov).to_string(),
            (900 + tov).to_string(),
            format!("Kandara: {}", if tov == 1 { "Government" } else { group }),
            (9_000 + e.group).to_string(),
            (9_000 + e.group).to_string(),
            format!("{side_a} - {side_b}"),
            "1".into(),
            "1".into(),
            side_a.into(),
            "2".into(),
            "2".into(),
            side_b.into(),
            (1 + rng.below(3)).to_string(),
            format!(
                "Synthetic Wire, {}, \"Violence near {}\"",
                format_date(e.day + 2),
                town.name
            ),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            if e.precision == 1 {
                "1".into()
            } else {
                "2".into()
            },
            format!("{} village", town.name),
            format!("{} village ({} prefecture)", town.name, prefecture(lon)),
            format!("{} prefecture", prefecture(lon)),
            format!("{} sub-prefecture", town.name),
            format!("{lat:.6}"),
            format!("{lon:.6}"),
            format!("POINT ({lon:.6} {lat:.6})"),
            priogrid(lat, lon).to_string(),
            "Kandara (synthetic)".into(),
            "999".into(),
            "Africa".into(),
            "1".into(),
            "1".into(),
            date.clone(),
            date,
            da.to_string(),
            db.to_string(),
            dc.to_string(),
            "0".into(),
            best.to_string(),
            (best + best / 2).to_string(),
            best.to_string(),
            "999".into(),
            String::new(),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out
}

/// A dividing line from south to north at longitude `x`, wavy but shared by both sides.
fn divider(rng: &mut SplitMix64, x: f64) -> Vec<[f64; 2]> {
    let steps = 12;
    (0..=steps)
        .map(|i| {
            let lat = SOUTH + (NORTH - SOUTH) * i as f64 / steps as f64;
            let wiggle = if i == 0 || i == steps {
                0.0
            } else {
                0.06 * rng.normal()
            };
            [round6(x + wiggle), round6(lat)]
        })
        .collect()
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

fn admin_geojson(rng: &mut SplitMix64) -> String {
    let west = vec![[WEST, SOUTH], [WEST, NORTH]];
    let east = vec![[EAST, SOUTH], [EAST, NORTH]];
    let mut lines = vec![west];
    for x in DIVIDERS {
        lines.push(divider(rng, x));
    }
    lines.push(east);
    let mut features = Vec::new();
    for (i, name) in PREFECTURES.iter().enumerate() {
        // Counter-clockwise: up the east line, back down the west line.
        let mut ring: Vec<[f64; 2]> = lines[i + 1].clone();
        ring.extend(lines[i].iter().rev().copied());
        ring.push(ring[0]);
        let coords: Vec<String> = ring
            .iter()
            .map(|p| format!("[{},{}]", p[0], p[1]))
            .collect();
        features.push(format!(
            "{{\"type\":\"Feature\",\"properties\":{{\"shapeName\":\"{name}\",\"shapeISO\":\"KD-{n:02}\",\"shapeID\":\"KDR-ADM1-{n}\",\"shapeGroup\":\"KDR\",\"shapeType\":\"ADM1\"}},\"geometry\":{{\"type\":\"Polygon\",\"coordinates\":[[{}]]}}}}",
            coords.join(","),
            n = i + 1
        ));
    }
    format!(
        "{{\"type\":\"FeatureCollection\",\"name\":\"Kandara ADM1 (synthetic)\",\"features\":[\n{}\n]}}\n",
        features.join(",\n")
    )
}

fn population_csv(rng: &mut SplitMix64) -> String {
    let res = h3o::Resolution::Seven;
    let mut cells: BTreeMap<u64, f64> = BTreeMap::new();
    let step = 0.012;
    let mut lat = SOUTH;
    while lat < NORTH {
        let mut lon = WEST;
        while lon < EAST {
            if let Ok(c) = cell_of(lat, lon, res) {
                cells.entry(u64::from(c)).or_insert(0.0);
            }
            lon += step;
        }
        lat += step;
    }
    let mut out = String::from("h3,population\n");
    for (cell, _) in cells {
        let Ok(ci) = h3o::CellIndex::try_from(cell) else {
            continue;
        };
        let (clat, clon) = center(ci);
        if (RESERVE[0]..=RESERVE[2]).contains(&clon) && (RESERVE[1]..=RESERVE[3]).contains(&clat) {
            continue;
        }
        let mut pop = 25.0 * (1.0 + 0.5 * rng.normal()).max(0.1);
        for t in &TOWNS {
            let d = distance_km((clat, clon), (t.lat, t.lon));
            let sigma = 1.5 + t.people.sqrt() / 120.0;
            // Share of the town's people in a 5.16 km² cell of a Gaussian settlement.
            pop += t.people * 5.16 / (std::f64::consts::TAU * sigma * sigma)
                * (-(d * d) / (2.0 * sigma * sigma)).exp();
        }
        let pop = pop.round();
        if pop >= 1.0 {
            let _ = writeln!(out, "{ci},{pop}");
        }
    }
    out
}

fn rainfall_csv(rng: &mut SplitMix64) -> String {
    // Monthly climatology (mm) of a Sudanian–Guinean savanna: rainy May–October.
    const NORMAL: [f64; 12] = [
        5.0, 15.0, 45.0, 95.0, 160.0, 185.0, 215.0, 245.0, 205.0, 150.0, 35.0, 8.0,
    ];
    let mut out = String::from("lat,lon,date,variable,value\n");
    let years: Vec<f64> = (0..3).map(|_| 1.0 + 0.12 * rng.normal()).collect();
    for (yi, year) in (FIRST_DAY.0..=LAST_DAY.0).enumerate() {
        for (m, normal) in NORMAL.iter().enumerate() {
            let mut lat = SOUTH + 0.125;
            while lat < NORTH {
                let mut lon = WEST + 0.125;
                while lon < EAST {
                    // Wetter in the south.
                    let gradient = 1.0 + 0.25 * (6.5 - lat);
                    let v = (normal * gradient * years[yi] * (1.0 + 0.15 * rng.normal())).max(0.0);
                    let _ = writeln!(
                        out,
                        "{lat:.3},{lon:.3},{year}-{:02}-01,precip_mm,{v:.1}",
                        m + 1
                    );
                    lon += 0.25;
                }
                lat += 0.25;
            }
        }
    }
    out
}

struct Post {
    location: String,
    lat: f64,
    lon: f64,
    troops: Option<i64>,
    inf: bool,
    fpu: bool,
    unpol: bool,
    unmo: bool,
    hq: i64,
    tccs: Vec<(&'static str, i64)>,
    kind: &'static str,
}

fn post(town: usize, troops: i64, hq: i64, tccs: Vec<(&'static str, i64)>) -> Post {
    let t = &TOWNS[town];
    Post {
        location: t.name.into(),
        lat: t.lat,
        lon: t.lon,
        troops: Some(troops),
        inf: troops > 0,
        fpu: false,
        unpol: false,
        unmo: false,
        hq,
        tccs,
        kind: if troops >= 650 {
            "battalion"
        } else if troops >= 150 {
            "company"
        } else {
            "platoon"
        },
    }
}

fn geopko_csv(rng: &mut SplitMix64, events: &[SimEvent]) -> String {
    let header = "source,mission,year,month,location,geosplit,country,latitude,longitude,old_xy,geocomment,zone.de.confidence,battalion,company,platoon,other.size,comment.on.unit,no.troops,rpf,rpf.no,inf,inf.no,fpu,fpu.no,res,res.no,fp,fp.no,eng,sig,trans,riv,he.sup,sf,med,maint,recon,avia,mp,demining,uav,obs.base,cantonment,disarmament,other.type,armor,he.sup.lw,troop.type,no.tcc,nameoftcc_1,notroopspertcc_1,nameoftcc_2,notroopspertcc_2,nameoftcc_3,notroopspertcc_3,nameoftcc_4,notroopspertcc_4,nameoftcc_5,notroopspertcc_5,nameoftcc_6,notroopspertcc_6,nameoftcc_7,notroopspertcc_7,nameoftcc_8,notroopspertcc_8,nameoftcc_9,notroopspertcc_9,nameoftcc_10,notroopspertcc_10,nameoftcc_11,notroopspertcc_11,nameoftcc_12,notroopspertcc_12,nameoftcc_13,notroopspertcc_13,nameoftcc_14,notroopspertcc_14,nameoftcc_15,notroopspertcc_15,nameoftcc_16,notroopspertcc_16,nameoftcc_17,notroopspertcc_17,unpol.dummy,unmo.dummy,unmo.coding.quality,hq,lo,jmco,security.group.dummy,comments,cow_code,gnwo,tcc1,tcc2,tcc3,tcc4,tcc5,tcc6,tcc7,tcc8,tcc9,tcc10,tcc11,tcc12,tcc13,tcc14,tcc15,tcc16,tcc17,adm1.id,adm1.name,prioid";
    let columns: Vec<&str> = header.split(',').collect();
    let mut out = String::from(header);
    out.push('\n');
    let maps: [(i32, u32); 9] = [
        (2022, 1),
        (2022, 5),
        (2022, 10),
        (2023, 2),
        (2023, 7),
        (2023, 11),
        (2024, 3),
        (2024, 8),
        (2024, 12),
    ];
    for (mi, (year, month)) in maps.iter().enumerate() {
        let map_day = days_from_ymd(*year, *month, 1).unwrap_or(0);
        let mut posts = vec![
            post(0, 950, 3, vec![("Rwanda", 600), ("Bangladesh", 350)]),
            post(3, 700, 2, vec![("Pakistan", 700)]),
            post(4, 220, 0, vec![("Zambia", 220)]),
            post(9, 180, 0, vec![("Morocco", 180)]),
        ];
        // Ngoro: a battalion that draws down to a company in 2023, then closes in 2024.
        if mi < 3 {
            posts.push(post(1, 680, 2, vec![("Egypt", 680)]));
        } else if mi < 6 {
            posts.push(post(1, 300, 0, vec![("Egypt", 300)]));
        }
        // A company that moves from Zemio-Sud to Yalinga-Bas in mid-2023.
        posts.push(if mi < 4 {
            post(2, 160, 0, vec![("Nepal", 160)])
        } else {
            post(6, 160, 0, vec![("Nepal", 160)])
        });
        // Formed police and UNPOL share the headquarters location (one row per location).
        posts[0].fpu = true;
        posts[0].unpol = true;
        // An UNPOL-only post in Ippy-Rail.
        let mut police = post(13, 0, 0, vec![]);
        police.troops = None;
        police.inf = false;
        police.unpol = true;
        police.kind = "police";
        posts.push(police);
        let mut team = post(10, 0, 0, vec![]);
        team.troops = None;
        team.inf = false;
        team.unmo = true;
        team.kind = "observers";
        posts.push(team);
        // A temporary operating base: near the worst hotspot of months ago not already reached.
        posts.extend(tobs(rng, events, map_day, &posts));
        for p in posts {
            out.push_str(&geopko_row(&columns, mi, *year, *month, &p));
            out.push('\n');
        }
    }
    out
}

fn tobs(rng: &mut SplitMix64, events: &[SimEvent], map_day: i32, posts: &[Post]) -> Vec<Post> {
    let mut harm: BTreeMap<(i64, i64), f64> = BTreeMap::new();
    // Planning lags: the map reflects needs seen two to four months earlier.
    for e in events
        .iter()
        .filter(|e| e.day < map_day - 60 && e.day >= map_day - 120)
    {
        if e.civilian_targeting {
            let key = ((e.lat * 10.0).round() as i64, (e.lon * 10.0).round() as i64);
            *harm.entry(key).or_default() += 1.0 + e.fatalities as f64;
        }
    }
    let mut spots: Vec<((i64, i64), f64)> = harm.into_iter().collect();
    spots.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut out: Vec<Post> = Vec::new();
    for ((la, lo), _) in spots {
        if !out.is_empty() {
            break;
        }
        let (lat, lon) = (la as f64 / 10.0, lo as f64 / 10.0);
        let taken = posts
            .iter()
            .chain(out.iter())
            .any(|p| distance_km((lat, lon), (p.lat, p.lon)) < 25.0);
        // Only half of the recognised needs get a base: the rest stay gaps.
        if taken || rng.next_f64() < 0.5 {
            continue;
        }
        let town = nearest_town(lat, lon);
        out.push(Post {
            location: format!("TOB {}", town.name),
            lat,
            lon,
            troops: Some(40 + rng.below(50) as i64),
            inf: true,
            fpu: false,
            unpol: false,
            unmo: false,
            hq: 0,
            tccs: vec![("Rwanda", 0)],
            kind: "tob",
        });
    }
    for p in &mut out {
        if let Some(t) = p.troops {
            p.tccs = vec![("Rwanda", t)];
        }
    }
    out
}

fn geopko_row(columns: &[&str], map: usize, year: i32, month: u32, p: &Post) -> String {
    let na = || "NA".to_owned();
    let flag = |b: bool| if b { "1".to_owned() } else { "0".to_owned() };
    let mut values: BTreeMap<&str, String> = BTreeMap::new();
    values.insert(
        "source",
        format!("MINUKA deployment map no. {} (synthetic)", 100 + map),
    );
    values.insert("mission", MISSION.into());
    values.insert("year", year.to_string());
    values.insert("month", month.to_string());
    values.insert("location", p.location.clone());
    values.insert("geosplit", "0".into());
    values.insert("country", "Kandara (synthetic)".into());
    values.insert("latitude", format!("{:.6}", p.lat));
    values.insert("longitude", format!("{:.6}", p.lon));
    values.insert("geocomment", "Synthetic location, not a real base.".into());
    values.insert("battalion", flag(p.kind == "battalion"));
    values.insert("company", flag(p.kind == "company"));
    values.insert("platoon", flag(p.kind == "platoon" || p.kind == "tob"));
    values.insert("no.troops", p.troops.map_or_else(na, |t| t.to_string()));
    values.insert("inf", flag(p.inf));
    values.insert(
        "inf.no",
        if p.inf {
            p.troops.map_or_else(na, |t| t.to_string())
        } else {
            "0".into()
        },
    );
    values.insert("fpu", flag(p.fpu));
    values.insert("fpu.no", if p.fpu { "140".into() } else { "0".into() });
    values.insert("med", flag(p.hq >= 2));
    values.insert("avia", flag(p.hq == 3));
    values.insert("eng", flag(p.hq == 3));
    values.insert("res", "0".into());
    values.insert(
        "no.tcc",
        if p.tccs.is_empty() {
            na()
        } else {
            p.tccs.len().to_string()
        },
    );
    for (i, (name, n)) in p.tccs.iter().enumerate() {
        values.insert(columns_tcc_name(i), (*name).into());
        values.insert(columns_tcc_troops(i), n.to_string());
    }
    values.insert("unpol.dummy", flag(p.unpol));
    values.insert("unmo.dummy", flag(p.unmo));
    values.insert("hq", p.hq.to_string());
    values.insert(
        "comments",
        match p.kind {
            "tob" => "Temporary operating base, deployed after attacks on civilians".into(),
            "observers" => "Military observer team site".into(),
            "police" => "UNPOL post".into(),
            _ => na(),
        },
    );
    values.insert("adm1.name", prefecture(p.lon).into());
    values.insert("prioid", priogrid(p.lat, p.lon).to_string());
    let row: Vec<String> = columns
        .iter()
        .map(|c| csv_field(values.get(c).map_or("NA", String::as_str)))
        .collect();
    row.join(",")
}

fn columns_tcc_name(i: usize) -> &'static str {
    const N: [&str; 4] = ["nameoftcc_1", "nameoftcc_2", "nameoftcc_3", "nameoftcc_4"];
    N[i.min(3)]
}

fn columns_tcc_troops(i: usize) -> &'static str {
    const N: [&str; 4] = [
        "notroopspertcc_1",
        "notroopspertcc_2",
        "notroopspertcc_3",
        "notroopspertcc_4",
    ];
    N[i.min(3)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_simulation_is_self_exciting_and_seasonal() {
        let mut rng = SplitMix64::new(DEFAULT_SEED);
        let events = simulate(&mut rng);
        assert!(
            events.len() > 1500 && events.len() < 8000,
            "{}",
            events.len()
        );
        let rainy = events.iter().filter(|e| season(e.day) < 1.0).count();
        assert!(
            rainy * 2 < events.len(),
            "fewer events in the rainy half of the year"
        );
        assert!(events.iter().all(|e| inside(e.lat, e.lon)));
    }
}
