//! The fictional mission area: its extent, prefectures, towns, hotspots, armed groups,
//! calendar and seasons.

use crate::grid::distance_km;
use crate::model::day::{days_from_ymd, ymd_from_days};

pub(super) const WEST: f64 = 20.0;
pub(super) const EAST: f64 = 22.4;
pub(super) const SOUTH: f64 = 5.6;
pub(super) const NORTH: f64 = 7.4;
pub(super) const DIVIDERS: [f64; 2] = [20.8, 21.6];
pub(super) const PREFECTURES: [&str; 3] = ["Haute-Mbali", "Ouaka-Centre", "Basse-Kotto Est"];

pub(super) struct Town {
    pub(super) name: &'static str,
    pub(super) lat: f64,
    pub(super) lon: f64,
    pub(super) people: f64,
}

pub(super) const TOWNS: [Town; 14] = [
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
pub(super) const RESERVE: [f64; 4] = [21.75, 6.95, 22.35, 7.4];

pub(super) struct Hotspot {
    pub(super) lat: f64,
    pub(super) lon: f64,
    /// Background events per day at full activity.
    pub(super) rate: f64,
    /// Activity multiplier per year (2022, 2023, 2024).
    pub(super) years: [f64; 3],
    /// Armed group active here.
    pub(super) group: usize,
}

pub(super) const HOTSPOTS: [Hotspot; 6] = [
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

pub(super) const GROUPS: [(&str, &str); 3] = [
    ("Mbali Liberation Front (FLM)", "Rebel group"),
    ("Union for Peace in Ouaka (UPO)", "Rebel group"),
    ("Kotto Self-Defence Militia", "Identity militia"),
];
pub(super) const STATE: (&str, &str) = ("Military Forces of Kandara (2021-)", "State forces");
pub(super) const CIVILIANS: (&str, &str) = ("Civilians (Kandara)", "Civilians");

pub(super) const MISSION: &str = "MINUKA";
pub(super) const FIRST_DAY: (i32, u32, u32) = (2022, 1, 1);
pub(super) const LAST_DAY: (i32, u32, u32) = (2024, 12, 31);

pub(super) fn day(d: (i32, u32, u32)) -> i32 {
    days_from_ymd(d.0, d.1, d.2).unwrap_or(0)
}

pub(super) fn inside(lat: f64, lon: f64) -> bool {
    (SOUTH + 0.02..NORTH - 0.02).contains(&lat) && (WEST + 0.02..EAST - 0.02).contains(&lon)
}

/// Rainy season (May–October) damps violence: roads close.
pub(super) fn season(day: i32) -> f64 {
    let (_, m, _) = ymd_from_days(day);
    if (5..=10).contains(&m) {
        0.65
    } else {
        1.3
    }
}

pub(super) fn km_to_deg(km: f64) -> f64 {
    km / 111.2
}

pub(super) fn nearest_town(lat: f64, lon: f64) -> &'static Town {
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

pub(super) fn prefecture(lon: f64) -> &'static str {
    PREFECTURES[DIVIDERS.iter().filter(|d| lon >= **d).count()]
}
