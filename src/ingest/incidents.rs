//! A mission's own incident log or community alert-network export: id, date, position,
//! category and fatalities, with the column names and category values of `[ingest.incidents]`.

use super::csvsource::{CsvSource, Row};
use super::{check_coordinates, IngestError, Parsed, Reject};
use crate::config::IncidentColumns;
use crate::grid::cell_of;
use crate::model::day::parse_flexible_date;
use crate::model::rows::{Category, Event, Precision};
use h3o::Resolution;

fn incident(row: &Row<'_>, cols: &IncidentColumns, res: Resolution) -> Result<Event, Reject> {
    let id = row.req(&cols.id)?.to_owned();
    let raw = row.req(&cols.date)?;
    let date = parse_flexible_date(raw)
        .ok_or_else(|| row.reject(&cols.date, "unreadable date", raw.to_owned()))?;
    let date = row.plausible_day(&cols.date, date)?;
    let (lat, lon) = check_coordinates(row, &cols.lat, &cols.lon)?;
    let value = row.req(&cols.category)?;
    let category = cols
        .categories
        .get(value)
        .map(String::as_str)
        .or(Some(value))
        .and_then(Category::parse)
        .ok_or_else(|| {
            row.reject(
                &cols.category,
                "unmapped category (see [ingest.incidents.categories])",
                value.to_owned(),
            )
        })?;
    let fatalities = if cols.fatalities.is_empty() {
        0
    } else {
        row.opt_deaths(&cols.fatalities)?.unwrap_or(0)
    };
    let cell = cell_of(lat, lon, res)
        .map_err(|e| row.reject(&cols.lat, "invalid coordinates", e.to_string()))?;
    let civilian = category == Category::CivilianHarm;
    Ok(Event {
        source: "incidents".into(),
        source_id: id,
        date_start: date,
        date_end: date,
        published_at: None,
        lat,
        lon,
        cell: Some(u64::from(cell)),
        precision: Precision::Exact,
        category,
        civilian_targeted: civilian,
        fatalities,
        civilian_fatalities: civilian.then_some(fatalities),
        actor1: String::new(),
        actor2: String::new(),
        admin1: String::new(),
        admin2: String::new(),
        duplicate_of: None,
    })
}

/// Reads an incident log.
pub fn read(
    file: &str,
    bytes: &[u8],
    res: Resolution,
    cols: &IncidentColumns,
) -> Result<Parsed<Event>, IngestError> {
    let mut src = CsvSource::new(file, bytes, &cols.id, None)?;
    src.require(&[&cols.id, &cols.date, &cols.lat, &cols.lon, &cols.category])?;
    Ok(src.read_all("incidents", bytes.len(), |row| incident(row, cols, res)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_are_mapped_from_configuration() {
        let mut cols = IncidentColumns {
            id: "ref".into(),
            fatalities: "killed".into(),
            ..IncidentColumns::default()
        };
        cols.categories
            .insert("Attack on village".into(), "civilian_harm".into());
        let csv = "ref,date,latitude,longitude,category,killed\n\
JOC-1,2024-05-02,6.5,21.0,Attack on village,3\n\
JOC-2,02/05/2024,6.5,21.0,armed_clash,\n\
JOC-3,2024-05-03,6.5,21.0,Rumour,0\n";
        let p = read("log.csv", csv.as_bytes(), Resolution::Seven, &cols)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.rows[0].category, Category::CivilianHarm);
        assert_eq!(p.rows[0].civilian_fatalities, Some(3));
        assert_eq!(p.rows[1].category, Category::ArmedClash);
        assert_eq!(p.rows[1].date_start, p.rows[0].date_start);
        assert_eq!(p.rejects[0].line, 4);
        assert_eq!(p.rejects[0].column, "category");
    }
}
