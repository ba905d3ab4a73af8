//! The simulated events written as an ACLED export and as a UCDP GED CSV.

use super::violence::{Act, SimEvent};
use super::world::*;
use crate::model::day::{format_date, ymd_from_days};
use crate::model::rand::SplitMix64;

pub(super) fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

pub(super) fn acled_csv(rng: &mut SplitMix64, events: &[SimEvent]) -> String {
    let mut out = String::from("event_id_cnty,event_date,year,time_precision,disorder_type,event_type,sub_event_type,actor1,assoc_actor_1,inter1,actor2,assoc_actor_2,inter2,interaction,civilian_targeting,iso,region,country,admin1,admin2,admin3,location,latitude,longitude,geo_precision,source,source_scale,notes,fatalities,tags,timestamp\n");
    for (i, e) in events.iter().enumerate() {
        let group = GROUPS[e.group];
        let (disorder, etype, sub, a1, a2) = match e.kind {
            Act::Attack => (
                "Political violence",
                "Violence against civilians",
                "Attack",
                group,
                CIVILIANS,
            ),
            Act::Abduction => (
                "Political violence",
                "Violence against civilians",
                "Abduction/forced disappearance",
                group,
                CIVILIANS,
            ),
            Act::SexualViolence => (
                "Political violence",
                "Violence against civilians",
                "Sexual violence",
                group,
                CIVILIANS,
            ),
            Act::Clash => ("Political violence", "Battles", "Armed clash", STATE, group),
            Act::Ied => (
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
            Act::Shelling => (
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
            Act::Protest => (
                "Demonstrations",
                "Protests",
                "Peaceful protest",
                ("Protesters (Kandara)", "Protesters"),
                ("", ""),
            ),
            Act::MobViolence => (
                "Political violence; Demonstrations",
                "Riots",
                "Mob violence",
                ("Rioters (Kandara)", "Rioters"),
                CIVILIANS,
            ),
            Act::Strategic => (
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
            Act::Attack if e.fatalities > 0 => format!("On {date}, {} attacked the area of {}, killing {} civilians. Houses were burned, and residents fled to the bush.", a1.0, town.name, e.fatalities),
            Act::Attack => format!("On {date}, {} looted the village near {}; no fatalities reported.", a1.0, town.name),
            Act::Abduction => format!("On {date}, {} abducted several civilians near {}, demanding \"ransom\".", a1.0, town.name),
            Act::SexualViolence => format!("On {date}, members of {} committed sexual violence against women near {}.", a1.0, town.name),
            Act::Clash => format!("On {date}, {} clashed with {} near {}, {} fatalities.", a1.0, a2.0, town.name, e.fatalities),
            Act::Ied | Act::Shelling => format!("On {date}, an explosive device hit a vehicle near {}, {} fatalities.", town.name, e.fatalities),
            Act::Protest => format!("On {date}, residents of {} protested against insecurity.", town.name),
            Act::MobViolence => format!("On {date}, a mob attacked a suspected informant in {}.", town.name),
            Act::Strategic => format!("On {date}, {} set up a new position near {}.", a1.0, town.name),
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

pub(super) fn priogrid(lat: f64, lon: f64) -> i64 {
    let row = ((lat + 90.0) / 0.5).floor() as i64;
    let col = ((lon + 180.0) / 0.5).floor() as i64;
    row * 720 + col + 1
}

pub(super) fn ucdp_csv(rng: &mut SplitMix64, events: &[SimEvent]) -> String {
    let mut out = crate::ingest::ucdp::GED_COLUMNS.join(",");
    out.push('\n');
    let mut id = 500_000;
    for e in events {
        let tov = match e.kind {
            Act::Attack if e.fatalities > 0 => 3,
            Act::Clash if e.fatalities > 0 => {
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
