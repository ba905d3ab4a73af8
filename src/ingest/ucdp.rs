//! UCDP GED / Candidate CSV (49 columns). Files without a header row are read with the
//! fixed GED column list.

use super::csvsource::{CsvSource, Row};
use super::{check_coordinates, IngestError, Parsed, Reject};
use crate::grid::cell_of;
use crate::model::day::parse_iso_date;
use crate::model::rows::{Category, Event, Precision};
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
    let day = raw
        .get(0..10)
        .and_then(parse_iso_date)
        .ok_or_else(|| row.reject(column, "unreadable date", raw.to_owned()))?;
    row.plausible_day(column, day)
}

fn event(row: &Row<'_>, res: Resolution, source: &str) -> Result<Event, Reject> {
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
    let best = row.opt_deaths("best")?.unwrap_or(0);
    let cell = if precision == Precision::Country {
        None
    } else {
        let c = cell_of(lat, lon, res)
            .map_err(|e| row.reject("latitude", "invalid coordinates", e.to_string()))?;
        Some(u64::from(c))
    };
    Ok(Event {
        source: crate::model::rows::source_name(source),
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
        civilian_fatalities: row.opt_deaths("deaths_civilians")?,
        actor1: row.get("side_a").to_owned(),
        actor2: row.get("side_b").to_owned(),
        admin1: row.get("adm_1").to_owned(),
        admin2: row.get("adm_2").to_owned(),
        duplicate_of: None,
    })
}

/// The `source` of GED events.
pub const GED: &str = "ucdp_ged";
/// The `source` of Candidate events.
pub const CANDIDATE: &str = "ucdp_candidate";

/// Reads a UCDP GED or Candidate file: CSV (with or without header row) or GeoJSON
/// (detected by its first non-blank byte). `source` is [`GED`] or [`CANDIDATE`].
pub fn read(
    file: &str,
    bytes: &[u8],
    res: Resolution,
    source: &str,
) -> Result<Parsed<Event>, IngestError> {
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace());
    if start.is_some_and(|i| bytes[i] == b'{') {
        return read_geojson(file, bytes, res, source);
    }
    let mut src = CsvSource::new(file, bytes, "type_of_violence", Some(&GED_COLUMNS))?;
    src.require(&REQUIRED)?;
    Ok(src.read_all("ucdp", bytes.len(), |row| event(row, res, source)))
}

/// GED as GeoJSON: Point features whose properties are the GED columns (without latitude,
/// longitude and geom_wkt). Each feature is laid out as a GED CSV row and read by the same
/// code, so both forms give identical canonical rows; rejects name the feature number.
fn read_geojson(
    file: &str,
    bytes: &[u8],
    res: Resolution,
    source: &str,
) -> Result<Parsed<Event>, IngestError> {
    let json_err = |message: String| IngestError::Json {
        file: file.to_owned(),
        message,
    };
    let text = std::str::from_utf8(bytes).map_err(|e| json_err(format!("not UTF-8: {e}")))?;
    let fc: geojson::FeatureCollection = text
        .parse()
        .map_err(|e: geojson::Error| json_err(e.to_string()))?;
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    let csv_err = |e: csv::Error| json_err(e.to_string());
    w.write_record(GED_COLUMNS).map_err(csv_err)?;
    let mut pre_rejects = Vec::new();
    let mut positions = Vec::new();
    for (i, f) in fc.features.iter().enumerate() {
        let n = i as u64 + 1;
        let point = match f.geometry.as_ref().map(|g| &g.value) {
            Some(geojson::GeometryValue::Point { coordinates }) if coordinates.len() >= 2 => {
                Some((coordinates[1], coordinates[0]))
            }
            _ => None,
        };
        let Some((lat, lon)) = point else {
            pre_rejects.push(Reject::feature(n, "geometry", "not a Point", String::new()));
            continue;
        };
        let record: Vec<String> = GED_COLUMNS
            .iter()
            .map(|c| match *c {
                "latitude" => lat.to_string(),
                "longitude" => lon.to_string(),
                "geom_wkt" => format!("POINT ({lon} {lat})"),
                _ => match f.property(c) {
                    None | Some(serde_json::Value::Null) => String::new(),
                    Some(serde_json::Value::String(s)) => s.replace(['\n', '\r'], " "),
                    Some(other) => other.to_string(),
                },
            })
            .collect();
        w.write_record(&record).map_err(csv_err)?;
        positions.push(n);
    }
    let csv_bytes = w.into_inner().map_err(|e| json_err(e.to_string()))?;
    let mut src = CsvSource::new(file, &csv_bytes, "type_of_violence", None)?;
    let mut parsed = src.read_all("ucdp", csv_bytes.len(), |row| event(row, res, source));
    // Line L of the laid-out CSV is the (L−1)-th written feature.
    for r in &mut parsed.rejects {
        let idx = r.line.saturating_sub(2) as usize;
        *r = Reject::feature(
            positions.get(idx).copied().unwrap_or(0),
            &r.column,
            r.reason,
            r.detail.clone(),
        );
    }
    parsed.rows_read += pre_rejects.len();
    parsed.rejects.extend(pre_rejects);
    parsed.rejects.sort_by_key(|r| r.line);
    Ok(parsed)
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
            GED,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let without = read("n.csv", body.as_bytes(), Resolution::Seven, GED)
            .unwrap_or_else(|e| panic!("{e}"));
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
        let p =
            read("h.csv", csv.as_bytes(), Resolution::Seven, GED).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.rejects[0].line, 2);
        assert_eq!(p.rejects[0].column, "type_of_violence");
    }

    #[test]
    fn geojson_form_reads_like_the_csv_form() {
        let header = GED_COLUMNS.join(",");
        let csv = format!("{header}\n{}\n", line("7", "3", "2"));
        let from_csv =
            read("g.csv", csv.as_bytes(), Resolution::Seven, GED).unwrap_or_else(|e| panic!("{e}"));
        let gj = r#"{"type":"FeatureCollection","features":[
          {"type":"Feature","geometry":{"type":"Point","coordinates":[21.0,6.5]},
           "properties":{"id":7,"relid":0,"year":2020,"type_of_violence":3,"side_a":"Gov","side_b":"Reb",
             "where_prec":2,"adm_1":"Prov","adm_2":"Dist","date_start":"2020-03-01T00:00:00",
             "date_end":"2020-03-02T00:00:00","deaths_civilians":3,"best":4}},
          {"type":"Feature","geometry":null,"properties":{"id":8}}
        ]}"#;
        let from_gj = read("g.geojson", gj.as_bytes(), Resolution::Seven, GED)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(from_csv.rows, from_gj.rows);
        assert_eq!(from_gj.rows_read, 2);
        assert_eq!(
            from_gj.rejects[0].to_string(),
            "feature 2, column `geometry`: not a Point"
        );
    }
}
