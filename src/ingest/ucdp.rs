//! UCDP GED / Candidate CSV (49 columns). Files without a header row are read with the
//! fixed GED column list.

use super::csvsource::{CsvSource, Row};
use super::{check_coordinates, IngestError, Parsed, Reject};
use crate::grid::cell_of;
use crate::tables::{Category, Event, Precision};
use crate::util::parse_iso_date;
use h3o::Resolution;

/// The GED column list, in file order (used when a file has no header row).
pub const GED_COLUMNS: [&str; 49] = [
    "id",
    "relid",
    "year",
    "active_year",
    "code_status",
    "type_of_violence",
    "conflict_dset_id",
    "conflict_new_id",
    "conflict_name",
    "dyad_dset_id",
    "dyad_new_id",
    "dyad_name",
    "side_a_dset_id",
    "side_a_new_id",
    "side_a",
    "side_b_dset_id",
    "side_b_new_id",
    "side_b",
    "number_of_sources",
    "source_article",
    "source_office",
    "source_date",
    "source_headline",
    "source_original",
    "where_prec",
    "where_coordinates",
    "where_description",
    "adm_1",
    "adm_2",
    "latitude",
    "longitude",
    "geom_wkt",
    "priogrid_gid",
    "country",
    "country_id",
    "region",
    "event_clarity",
    "date_prec",
    "date_start",
    "date_end",
    "deaths_a",
    "deaths_b",
    "deaths_civilians",
    "deaths_unknown",
    "best",
    "high",
    "low",
    "gwnoa",
    "gwnob",
];

const REQUIRED: [&str; 8] = [
    "id",
    "type_of_violence",
    "where_prec",
    "latitude",
    "longitude",
    "date_start",
    "date_end",
    "best",
];

/// `where_prec` → canonical precision.
pub fn precision(where_prec: i64) -> Option<Precision> {
    Some(match where_prec {
        1 => Precision::Exact,
        2 => Precision::Near,
        3 => Precision::Admin2,
        4 => Precision::Admin1,
        5 => Precision::Region,
        6 | 7 => Precision::Country,
        _ => return None,
    })
}

fn date(row: &Row<'_>, column: &str) -> Result<i32, Reject> {
    let raw = row.req(column)?;
    raw.get(0..10)
        .and_then(parse_iso_date)
        .ok_or_else(|| row.reject(column, "unreadable date", raw.to_owned()))
}

fn event(row: &Row<'_>, res: Resolution) -> Result<Event, Reject> {
    let id = row.req("id")?.to_owned();
    let category = match row.req("type_of_violence")? {
        "1" | "2" => Category::ArmedClash,
        "3" => Category::CivilianHarm,
        other => {
            return Err(row.reject("type_of_violence", "unknown type of violence", other.into()))
        }
    };
    let wp = row.opt_i64("where_prec")?.unwrap_or(0);
    let precision = precision(wp)
        .ok_or_else(|| row.reject("where_prec", "unknown where_prec", wp.to_string()))?;
    let (lat, lon) = check_coordinates(row, "latitude", "longitude")?;
    let date_start = date(row, "date_start")?;
    let date_end = date(row, "date_end")?;
    if date_end < date_start {
        return Err(row.reject(
            "date_end",
            "date_end before date_start",
            row.get("date_end").into(),
        ));
    }
    let best = row.opt_i64("best")?.unwrap_or(0);
    if best < 0 {
        return Err(row.reject("best", "negative deaths", best.to_string()));
    }
    let cell = if precision == Precision::Country {
        None
    } else {
        let c = cell_of(lat, lon, res)
            .map_err(|e| row.reject("latitude", "invalid coordinates", e.to_string()))?;
        Some(u64::from(c))
    };
    Ok(Event {
        source: "ucdp_ged".into(),
        source_id: id,
        date_start,
        date_end,
        published_at: None,
        lat,
        lon,
        cell,
        precision,
        category,
        civilian_targeted: category == Category::CivilianHarm,
        fatalities: best,
        civilian_fatalities: row.opt_i64("deaths_civilians")?,
        actor1: row.get("side_a").to_owned(),
        actor2: row.get("side_b").to_owned(),
        admin1: row.get("adm_1").to_owned(),
        admin2: row.get("adm_2").to_owned(),
    })
}

/// Reads a UCDP GED or Candidate CSV.
pub fn read(file: &str, bytes: &[u8], res: Resolution) -> Result<Parsed<Event>, IngestError> {
    let mut src = CsvSource::new(file, bytes, "type_of_violence", Some(&GED_COLUMNS))?;
    src.require(&REQUIRED)?;
    Ok(src.read_all("ucdp", bytes.len(), |row| event(row, res)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(id: &str, tov: &str, prec: &str) -> String {
        format!("{id},,2020,1,Clear,{tov},1,1,X,1,1,X,1,1,Gov,2,2,Reb,2,\"a, b\",,,,,{prec},Town,Town,Prov,Dist,6.5,21.0,POINT (21 6.5),1,Xland,1,Africa,1,1,2020-03-01 00:00:00.000,2020-03-02 00:00:00.000,1,0,3,0,4,5,4,1,")
    }

    #[test]
    fn header_and_headerless_files_read_alike() {
        let header = GED_COLUMNS.join(",");
        let body = format!("{}\n{}\n", line("1", "3", "1"), line("2", "1", "6"));
        let with = read(
            "h.csv",
            format!("{header}\n{body}").as_bytes(),
            Resolution::Seven,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let without =
            read("n.csv", body.as_bytes(), Resolution::Seven).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(with.rows, without.rows);
        assert_eq!(with.rows[0].category, Category::CivilianHarm);
        assert_eq!(with.rows[0].civilian_fatalities, Some(3));
        assert_eq!(with.rows[0].fatalities, 4);
        assert_eq!(
            with.rows[1].cell, None,
            "country-level events are never placed"
        );
        assert_eq!(without.rejects, vec![]);
    }

    #[test]
    fn unknown_violence_type_is_rejected() {
        let header = GED_COLUMNS.join(",");
        let csv = format!("{header}\n{}\n", line("1", "9", "1"));
        let p = read("h.csv", csv.as_bytes(), Resolution::Seven).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.rejects[0].line, 2);
        assert_eq!(p.rejects[0].column, "type_of_violence");
    }
}
