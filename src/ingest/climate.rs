//! Tidy climate CSV: `lat,lon,date,variable,value` or `h3,date,variable,value`. Dates may be a
//! day or a month (`2023-07`); values are kept per month (the period's first day).

use super::csvsource::{CsvSource, Row};
use super::{check_coordinates, IngestError, Parsed, Reject};
use crate::grid::{cell_of, parse_cell};
use crate::tables::ClimateValue;
use crate::util::{days_from_ymd, parse_flexible_date, ymd_from_days};
use h3o::Resolution;

fn period(raw: &str) -> Option<i32> {
    if raw.len() == 7 && raw.as_bytes()[4] == b'-' {
        let y: i32 = raw.get(0..4)?.parse().ok()?;
        let m: u32 = raw.get(5..7)?.parse().ok()?;
        return days_from_ymd(y, m, 1);
    }
    let (y, m, _) = ymd_from_days(parse_flexible_date(raw)?);
    days_from_ymd(y, m, 1)
}

fn value(row: &Row<'_>, res: Resolution, by_cell: bool) -> Result<ClimateValue, Reject> {
    let cell = if by_cell {
        let raw = row.req("h3")?;
        let c = parse_cell(raw).map_err(|e| row.reject("h3", "invalid H3 cell", e.to_string()))?;
        if c.resolution() < res {
            return Err(row.reject(
                "h3",
                "cell coarser than the base resolution",
                raw.to_owned(),
            ));
        }
        c.parent(res)
            .ok_or_else(|| row.reject("h3", "no parent at base resolution", raw.to_owned()))?
    } else {
        let (lat, lon) = check_coordinates(row, "lat", "lon")?;
        cell_of(lat, lon, res)
            .map_err(|e| row.reject("lat", "invalid coordinates", e.to_string()))?
    };
    let raw_date = row.req("date")?;
    let period = period(raw_date)
        .ok_or_else(|| row.reject("date", "unreadable date", raw_date.to_owned()))?;
    let variable = row.req("variable")?.to_owned();
    let value = row.f64("value")?;
    Ok(ClimateValue {
        cell: u64::from(cell),
        period,
        variable,
        value,
    })
}

/// Reads a tidy climate CSV.
pub fn read(
    file: &str,
    bytes: &[u8],
    res: Resolution,
) -> Result<Parsed<ClimateValue>, IngestError> {
    let mut src = CsvSource::new(file, bytes, "variable", None)?;
    let by_cell = src.has("h3");
    if by_cell {
        src.require(&["h3", "date", "variable", "value"])?;
    } else {
        src.require(&["lat", "lon", "date", "variable", "value"])?;
    }
    Ok(src.read_all("climate", bytes.len(), |row| value(row, res, by_cell)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_tidy_forms() {
        let a = read(
            "a.csv",
            b"lat,lon,date,variable,value\n6.5,21.0,2023-07,precip_mm,212.5\n",
            Resolution::Seven,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let cell = h3o::CellIndex::try_from(a.rows[0].cell).unwrap_or_else(|e| panic!("{e}"));
        let b = read(
            "b.csv",
            format!("h3,date,variable,value\n{cell},2023-07-15,precip_mm,212.5\n").as_bytes(),
            Resolution::Seven,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.rows, b.rows);
        assert_eq!(crate::util::format_date(a.rows[0].period), "2023-07-01");
    }
}
