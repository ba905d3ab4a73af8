//! The deployments: permanent posts and temporary operating bases opened near recent
//! violence, written as a Geo-PKO v2 location map.

use super::events_csv::{csv_field, priogrid};
use super::violence::SimEvent;
use super::world::*;
use crate::grid::distance_km;
use crate::model::day::days_from_ymd;
use crate::model::rand::SplitMix64;
use std::collections::BTreeMap;

pub(super) struct Post {
    pub(super) location: String,
    pub(super) lat: f64,
    pub(super) lon: f64,
    pub(super) troops: Option<i64>,
    pub(super) inf: bool,
    pub(super) fpu: bool,
    pub(super) unpol: bool,
    pub(super) unmo: bool,
    pub(super) hq: i64,
    pub(super) tccs: Vec<(&'static str, i64)>,
    pub(super) kind: &'static str,
}

pub(super) fn post(town: usize, troops: i64, hq: i64, tccs: Vec<(&'static str, i64)>) -> Post {
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

pub(super) fn geopko_csv(rng: &mut SplitMix64, events: &[SimEvent]) -> String {
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

pub(super) fn tobs(
    rng: &mut SplitMix64,
    events: &[SimEvent],
    map_day: i32,
    posts: &[Post],
) -> Vec<Post> {
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

pub(super) fn geopko_row(columns: &[&str], map: usize, year: i32, month: u32, p: &Post) -> String {
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

pub(super) fn columns_tcc_name(i: usize) -> &'static str {
    const N: [&str; 4] = ["nameoftcc_1", "nameoftcc_2", "nameoftcc_3", "nameoftcc_4"];
    N[i.min(3)]
}

pub(super) fn columns_tcc_troops(i: usize) -> &'static str {
    const N: [&str; 4] = [
        "notroopspertcc_1",
        "notroopspertcc_2",
        "notroopspertcc_3",
        "notroopspertcc_4",
    ];
    N[i.min(3)]
}
