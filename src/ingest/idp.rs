//! IDP site lists (IOM DTM style): site, latitude, longitude, individuals and an optional
//! date, with the column names given in `[ingest.idp]`.

use super::csvsource::{CsvSource, Row};
use super::{check_coordinates, IngestError, Parsed, Reject};
use crate::config::IdpColumns;
use crate::grid::cell_of;
use crate::model::day::parse_flexible_date;
use crate::model::rows::IdpSite;
use h3o::Resolution;

fn site(row: &Row<'_>, cols: &IdpColumns, res: Resolution) -> Result<IdpSite, Reject> {
    let name = row.req(&cols.site)?.to_owned();
    let (lat, lon) = check_coordinates(row, &cols.lat, &cols.lon)?;
    let population = row
        .opt_f64(&cols.population)?
        .ok_or_else(|| row.reject(&cols.population, "missing value", String::new()))?;
    if population < 0.0 {
        return Err(row.reject(
            &cols.population,
            "negative population",
            population.to_string(),
        ));
    }
    let date = if cols.date.is_empty() || row.get(&cols.date).is_empty() {
        None
    } else {
        let raw = row.get(&cols.date);
        Some(
            parse_flexible_date(raw)
                .ok_or_else(|| row.reject(&cols.date, "unreadable date", raw.to_owned()))?,
        )
    };
    let cell = cell_of(lat, lon, res)
        .map_err(|e| row.reject(&cols.lat, "invalid coordinates", e.to_string()))?;
    Ok(IdpSite {
        site: name,
        lat,
        lon,
        cell: u64::from(cell),
        population,
        date,
    })
}

/// Reads an IDP site list.
pub fn read(
    file: &str,
    bytes: &[u8],
    res: Resolution,
    cols: &IdpColumns,
) -> Result<Parsed<IdpSite>, IngestError> {
    let mut src = CsvSource::new(file, bytes, &cols.site, None)?;
    src.require(&[&cols.site, &cols.lat, &cols.lon, &cols.population])?;
    Ok(src.read_all("idp", bytes.len(), |row| site(row, cols, res)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_come_from_configuration() {
        let cols = IdpColumns {
            site: "Site Name".into(),
            lat: "GPS_Lat".into(),
            lon: "GPS_Long".into(),
            population: "Total IDP Individuals".into(),
            date: String::new(),
        };
        let csv = "Site Name,GPS_Lat,GPS_Long,Total IDP Individuals\nCamp A,6.5,21.0,\"1,200\"\nCamp B,6.6,21.1,850\n";
        let p = read("dtm.csv", csv.as_bytes(), Resolution::Seven, &cols)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.rows.len(), 1);
        assert_eq!(p.rows[0].population, 850.0);
        assert_eq!(
            p.rejects[0].to_string(),
            "line 2, column `Total IDP Individuals`: not a number (1,200)"
        );
        let err = read(
            "dtm.csv",
            csv.as_bytes(),
            Resolution::Seven,
            &IdpColumns::default(),
        )
        .err();
        assert!(err
            .map(|e| e.to_string())
            .unwrap_or_default()
            .contains("missing required column `site_name`"));
    }
}
