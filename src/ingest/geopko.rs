//! Geo-PKO deployment CSV, read by column name in all three layouts:
//!
//! - v2.x location maps (113–114 columns: `no.troops`, `unpol.dummy`, `hq`…);
//! - v1.x (71 columns: `No.troops`, `UNPOL..dummy.`, `HQ` with `?`, `unknown` troops,
//!   double-encoded UTF-8 names, repaired here);
//! - the v2.3 FrontMap aggregate (one row per mission-year-location, no month:
//!   `NoTroops`, `ave.no.troops`, `Infantry`, `UNPOL`, `UNMO`, `Med`, `Av`, `Reserve`).
//!
//! One row is one deployment location on one UN deployment map; the map's `year`/`month`
//! (or `date` in v2.3; 1 January for FrontMap years) starts its validity, which lasts until
//! the next map of the same mission, or at most `ingest.base_max_validity_days`.

use super::csvsource::{fix_double_utf8, CsvSource, Row};
use super::{check_coordinates, IngestError, Parsed, Reject};
use crate::grid::cell_of;
use crate::model::day::{days_from_ymd, parse_flexible_date};
use crate::model::rows::Base;
use h3o::Resolution;
use std::collections::{BTreeMap, BTreeSet};

const REQUIRED: [&str; 5] = ["mission", "year", "location", "latitude", "longitude"];

/// A base as read, before validity periods are assigned across maps.
#[derive(Debug, Clone)]
pub struct RawBase {
    /// The base, with `valid_to` not yet set.
    pub base: Base,
}

/// Identity of a base row: mission, map date, map, location and position.
pub type BaseKey = (String, i32, String, String, u64, u64);

/// The identity of a base row (re-ingesting the same map replaces, never duplicates).
pub fn key(b: &Base) -> BaseKey {
    (
        b.mission.clone(),
        b.valid_from,
        b.source.clone(),
        b.location.clone(),
        b.lat.to_bits(),
        b.lon.to_bits(),
    )
}

fn map_date(row: &Row<'_>) -> Result<i32, Reject> {
    let date = row.get("date");
    if !date.is_empty() {
        if let Some(d) = parse_flexible_date(date) {
            return Ok(d);
        }
    }
    let year = row
        .opt_i64("year")?
        .ok_or_else(|| row.reject("year", "missing value", String::new()))?;
    // FrontMap rows are yearly: they start on 1 January.
    let month = if row.has("month") {
        row.opt_i64("month")?
            .ok_or_else(|| row.reject("month", "missing value", String::new()))?
    } else {
        1
    };
    i32::try_from(year)
        .ok()
        .zip(u32::try_from(month).ok())
        .and_then(|(y, m)| days_from_ymd(y, m, 1))
        .ok_or_else(|| row.reject("month", "invalid map date", format!("{year}-{month}")))
}

fn base(row: &Row<'_>, res: Resolution) -> Result<RawBase, Reject> {
    let mission = fix_double_utf8(row.req("mission")?).into_owned();
    let location = fix_double_utf8(row.req("location")?).into_owned();
    let valid_from = map_date(row)?;
    let (lat, lon) = check_coordinates(row, "latitude", "longitude")?;
    let troops_col = row.pick(&["no.troops", "ave.no.troops", "notroops"]);
    let troops = row.opt_i64(troops_col)?;
    if troops.is_some_and(|t| t < 0) {
        return Err(row.reject(troops_col, "negative troops", row.get(troops_col).into()));
    }
    let cell = cell_of(lat, lon, res)
        .map_err(|e| row.reject("latitude", "invalid coordinates", e.to_string()))?;
    let flag = |names: &[&str]| row.flag(row.pick(names));
    Ok(RawBase {
        base: Base {
            mission,
            valid_from,
            valid_to: valid_from,
            location,
            lat,
            lon,
            cell: u64::from(cell),
            troops,
            infantry: flag(&["inf", "infantry"])?,
            fpu: flag(&["fpu"])?,
            unpol: flag(&["unpol.dummy", "unpol..dummy.", "unpol"])?,
            observers: flag(&["unmo.dummy", "unmo..dummy.", "unmo"])?,
            medical: flag(&["med"])?,
            aviation: flag(&["avia", "av"])?,
            engineering: flag(&["eng"])?,
            reserve: flag(&["res", "reserve"])?,
            hq: row.opt_i64("hq")?,
            tcc_count: row.opt_i64("no.tcc")?,
            source: fix_double_utf8(row.get("source")).into_owned(),
        },
    })
}

/// Reads a Geo-PKO CSV (v1.x, v2.x or FrontMap).
pub fn read(file: &str, bytes: &[u8], res: Resolution) -> Result<Parsed<RawBase>, IngestError> {
    let mut src = CsvSource::new(file, bytes, "mission", None)?;
    src.require(&REQUIRED)?;
    Ok(src.read_all("geopko", bytes.len(), |row| base(row, res)))
}

/// Adds the units of `other` (same map, same location) to `base`: troops and troop
/// contributors summed, unit flags combined, the highest HQ level kept.
pub fn combine(base: &mut Base, other: &Base) {
    base.troops = match (base.troops, other.troops) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
    };
    base.infantry |= other.infantry;
    base.fpu |= other.fpu;
    base.unpol |= other.unpol;
    base.observers |= other.observers;
    base.medical |= other.medical;
    base.aviation |= other.aviation;
    base.engineering |= other.engineering;
    base.reserve |= other.reserve;
    base.hq = base.hq.max(other.hq);
    base.tcc_count = match (base.tcc_count, other.tcc_count) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
    };
}

/// Sets `valid_to` of every base: the day before the mission's next map, or
/// `valid_from + max_days − 1` for the mission's last map.
pub fn assign_validity(bases: &mut [Base], max_days: u32) {
    let mut maps: BTreeMap<String, BTreeSet<i32>> = BTreeMap::new();
    for b in bases.iter() {
        maps.entry(b.mission.clone())
            .or_default()
            .insert(b.valid_from);
    }
    let max = i32::try_from(max_days.max(1)).unwrap_or(i32::MAX / 2);
    for b in bases.iter_mut() {
        let next = maps
            .get(&b.mission)
            .and_then(|dates| dates.range(b.valid_from + 1..).next().copied());
        let cap = b.valid_from.saturating_add(max - 1);
        b.valid_to = next.map_or(cap, |n| (n - 1).min(cap));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str = "source,mission,year,month,location,latitude,longitude,no.troops,inf,fpu,unpol.dummy,unmo.dummy,hq,no.tcc\n\
map 1,MISSION,2020,1,Alpha,6.5,21.0,850,1,0,0,0,2,2\n\
map 1,MISSION,2020,1,Beta,6.6,21.1,NA,0,1,1,0,NA,1\n\
map 2,MISSION,2020,6,Alpha,6.5,21.0,unknown,1,0,0,0,?,2\n";

    #[test]
    fn validity_runs_until_the_next_map() {
        let p = read("g.csv", CSV.as_bytes(), Resolution::Seven).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.rejects, vec![]);
        let mut bases: Vec<Base> = p.rows.into_iter().map(|r| r.base).collect();
        assign_validity(&mut bases, 365);
        let d = |y, m, d| days_from_ymd(y, m, d).unwrap_or_default();
        assert_eq!(bases[0].valid_to, d(2020, 5, 31));
        assert_eq!(bases[1].valid_to, d(2020, 5, 31), "Beta closes with map 2");
        assert_eq!(bases[2].valid_to, d(2020, 6, 1) + 364);
        assert_eq!(bases[0].troops, Some(850));
        assert_eq!(bases[1].troops, None);
        assert_eq!(bases[2].hq, None, "`?` is missing");
        assert!(bases[1].fpu && bases[1].unpol);
    }

    #[test]
    fn v1_layout_with_its_quirks() {
        // Double-encoded UTF-8 (`DÃ©koa`), `?` and empty HQ, `unknown` troops, v1 column names.
        let csv = "Source,Mission,year,month,location,country,latitude,longitude,No.troops,RPF,RPF_No,RES,RES_No,FP,FP_No,No.TCC,UNPOL..dummy.,UNMO..dummy.,HQ,LO\n\
Map 1,MINURCAT,2009,3,D\u{c3}\u{a9}koa,CAR,6.5,19.1,unknown,0,NA,0,NA,0,NA,1,1,0,?,0\n\
Map 1,MINURCAT,2009,3,Birao,CAR,10.28,22.78,300,0,NA,1,300,0,NA,1,0,1,,0\n";
        let p = read("v1.csv", csv.as_bytes(), Resolution::Seven).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.rejects, vec![]);
        let a = &p.rows[0].base;
        assert_eq!(a.location, "Dékoa");
        assert_eq!((a.troops, a.hq), (None, None));
        assert!(a.unpol && !a.observers);
        let b = &p.rows[1].base;
        assert_eq!((b.troops, b.hq), (Some(300), None));
        assert!(b.observers && b.reserve);
    }

    #[test]
    fn frontmap_rows_are_yearly() {
        let csv = "mission,year,country,location,latitude,longitude,Infantry,NoTroops,Reserve,hq,UNPOL,Med,Av,UNMO,ave.no.troops\n\
MINUSCA,2016,CAR,Bria,6.54,21.98,1,700,0,2,1,1,0,1,650\n\
MINUSCA,2017,CAR,Bria,6.54,21.98,1,0,0,2,0,0,0,0,0\n";
        let p =
            read("front.csv", csv.as_bytes(), Resolution::Seven).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.rejects, vec![]);
        let mut bases: Vec<Base> = p.rows.into_iter().map(|r| r.base).collect();
        assign_validity(&mut bases, 400);
        let d = |y, m, d| days_from_ymd(y, m, d).unwrap_or_default();
        assert_eq!(
            (bases[0].valid_from, bases[0].valid_to),
            (d(2016, 1, 1), d(2016, 12, 31))
        );
        assert_eq!(bases[0].troops, Some(650), "the year's average troops");
        assert!(bases[0].infantry && bases[0].unpol && bases[0].medical && bases[0].observers);
    }

    #[test]
    fn mojibake_repair_leaves_proper_text_alone() {
        use super::super::csvsource::fix_double_utf8;
        assert_eq!(fix_double_utf8("N\u{c3}\u{a9}l\u{c3}\u{a9}"), "Nélé");
        assert_eq!(fix_double_utf8("Kaga-Ndélé"), "Kaga-Ndélé");
        assert_eq!(fix_double_utf8("Bangui"), "Bangui");
        assert_eq!(fix_double_utf8("Fari M\u{c2}\u{b4}Babo"), "Fari M´Babo");
    }

    #[test]
    fn units_at_one_location_on_one_map_are_combined() {
        let mut a = read("g.csv", CSV.as_bytes(), Resolution::Seven)
            .unwrap_or_else(|e| panic!("{e}"))
            .rows[0]
            .base
            .clone();
        let mut b = a.clone();
        b.troops = Some(185);
        b.hq = Some(0);
        b.medical = true;
        a.troops = Some(900);
        combine(&mut a, &b);
        assert_eq!(a.troops, Some(1085));
        assert_eq!(a.hq, Some(2));
        assert!(a.medical && a.infantry);
    }
}
