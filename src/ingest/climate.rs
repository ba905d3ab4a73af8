//! Climate data, kept per month (the period's first day) at the cell of each data point:
//!
//! - tidy CSV: `lat,lon,date,variable,value` or `h3,date,variable,value` (dates a day or a
//!   month, `2023-07`);
//! - a monthly GeoTIFF (CHIRPS style, nodata honoured): one value per pixel at the cell of
//!   the pixel centre; the month comes from `--period` or the file name
//!   (`chirps-v2.0.2023.07.tif`), the variable from `--variable` (default `precip_mm`);
//! - an SPEIbase per-cell series (`spei_<lon>_<lat>.csv`, optionally gzipped): monthly SPEI
//!   from January 1901 at time scales 1–48; scales 1, 3, 6, 12 and 24 are kept as
//!   `spei_1` … `spei_24`.
//!
//! Points are sparse at the base resolution (a 0.05° pixel holds several res-7 cells): the
//! table keeps the cells that hold a data point, and consumers take the nearest one.

use super::csvsource::{CsvSource, Row};
use super::{check_coordinates, IngestError, IngestOptions, Parsed, Reject};
use crate::grid::{cell_of, parse_cell};
use crate::model::day::{days_from_ymd, parse_flexible_date, ymd_from_days};
use crate::model::rows::ClimateValue;
use h3o::Resolution;
use std::io::Read as _;

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

/// Reads a climate file (tidy CSV, GeoTIFF or SPEIbase series, detected by content).
pub fn read(
    file: &str,
    bytes: &[u8],
    res: Resolution,
    opts: &IngestOptions,
) -> Result<Parsed<ClimateValue>, IngestError> {
    if super::raster::is_tiff(bytes) {
        return read_raster(file, bytes, res, opts);
    }
    let inflated;
    let bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(bytes)
            .read_to_end(&mut out)
            .map_err(|e| IngestError::Raster {
                file: file.to_owned(),
                message: format!("cannot decompress: {e}"),
            })?;
        inflated = out;
        &inflated[..]
    } else {
        bytes
    };
    if bytes.starts_with(b"\"Description") || bytes.starts_with(b"SPEI01") {
        return read_spei(file, bytes, res);
    }
    let mut src = CsvSource::new(file, bytes, "variable", None)?;
    let by_cell = src.has("h3");
    if by_cell {
        src.require(&["h3", "date", "variable", "value"])?;
    } else {
        src.require(&["lat", "lon", "date", "variable", "value"])?;
    }
    Ok(src.read_all("climate", bytes.len(), |row| value(row, res, by_cell)))
}

/// `YYYY.MM`, `YYYY-MM` or `YYYY_MM` in a file name.
fn period_from_name(file: &str) -> Option<i32> {
    let name = std::path::Path::new(file)
        .file_name()?
        .to_string_lossy()
        .into_owned();
    let b = name.as_bytes();
    (0..b.len().saturating_sub(6)).find_map(|i| {
        let (y, sep, m) = (name.get(i..i + 4)?, b[i + 4], name.get(i + 5..i + 7)?);
        let year: i32 = y.parse().ok().filter(|y| (1900..=2100).contains(y))?;
        let month: u32 = m.parse().ok()?;
        let boundary = b.get(i + 7).is_none_or(|c| !c.is_ascii_digit());
        (matches!(sep, b'.' | b'-' | b'_') && boundary && (i == 0 || !b[i - 1].is_ascii_digit()))
            .then(|| days_from_ymd(year, month, 1))
            .flatten()
    })
}

fn read_raster(
    file: &str,
    bytes: &[u8],
    res: Resolution,
    opts: &IngestOptions,
) -> Result<Parsed<ClimateValue>, IngestError> {
    let err = |message: String| IngestError::Raster {
        file: file.to_owned(),
        message,
    };
    let period = match &opts.period {
        Some(p) => period(p).ok_or_else(|| err(format!("--period `{p}` is not YYYY-MM")))?,
        None => period_from_name(file).ok_or_else(|| {
            err("no month in the file name; give it with --period YYYY-MM".into())
        })?,
    };
    let variable = opts
        .variable
        .clone()
        .unwrap_or_else(|| "precip_mm".to_owned());
    let raster = super::raster::read_geotiff(file, bytes)?;
    let mut out = Parsed::new();
    for (lat, lon, v) in raster.pixels() {
        out.rows_read += 1;
        match cell_of(lat, lon, res) {
            Ok(c) => out.rows.push(ClimateValue {
                cell: u64::from(c),
                period,
                variable: variable.clone(),
                value: v,
            }),
            Err(e) => out.rejects.push(Reject::new(
                0,
                "pixel",
                "invalid coordinates",
                e.to_string(),
            )),
        }
    }
    Ok(out)
}

/// SPEI time scales kept.
pub const SPEI_SCALES: [usize; 5] = [1, 3, 6, 12, 24];

fn spei_position(file: &str) -> Option<(f64, f64)> {
    let name = std::path::Path::new(file)
        .file_name()?
        .to_string_lossy()
        .into_owned();
    let stem = name.strip_prefix("spei_")?;
    let stem = stem.split(".csv").next()?;
    let (lon, lat) = stem.split_once('_')?;
    Some((lat.parse().ok()?, lon.parse().ok()?))
}

fn read_spei(
    file: &str,
    bytes: &[u8],
    res: Resolution,
) -> Result<Parsed<ClimateValue>, IngestError> {
    let (lat, lon) = spei_position(file).ok_or_else(|| IngestError::Raster {
        file: file.to_owned(),
        message: "an SPEIbase series is named spei_<lon>_<lat>.csv; cannot place this one".into(),
    })?;
    let cell = cell_of(lat, lon, res).map_err(|e| IngestError::Raster {
        file: file.to_owned(),
        message: e.to_string(),
    })?;
    // Skip the quoted description line (it may hold commas) before the header.
    let body = if bytes.starts_with(b"\"") {
        let end = bytes[1..]
            .iter()
            .position(|b| *b == b'"')
            .map_or(bytes.len(), |p| p + 2);
        let nl = bytes[end.min(bytes.len())..]
            .iter()
            .position(|b| *b == b'\n')
            .map_or(bytes.len(), |p| end + p + 1);
        &bytes[nl.min(bytes.len())..]
    } else {
        bytes
    };
    // Lines before the header (the description); the header is line `header_line`.
    let header_line = 1 + bytes[..bytes.len() - body.len()]
        .iter()
        .filter(|b| **b == b'\n')
        .count() as u64;
    let mut src = CsvSource::new(file, body, "SPEI01", None)?;
    src.require(&["SPEI01"])?;
    src.set_line_offset(header_line - 1);
    let cell = u64::from(cell);
    // One row per month from January 1901: the month follows from the line.
    let nested = src.read_all("spei", body.len(), |row| {
        let month = row.line().saturating_sub(header_line + 1) as i32;
        let period = days_from_ymd(1901 + month / 12, (month % 12) as u32 + 1, 1)
            .ok_or_else(|| row.reject("", "row beyond the calendar", String::new()))?;
        SPEI_SCALES
            .iter()
            .filter_map(|scale| {
                let col = format!("SPEI{scale:02}");
                row.opt_f64(col.as_str())
                    .map(|v| {
                        v.map(|value| ClimateValue {
                            cell,
                            period,
                            variable: format!("spei_{scale}"),
                            value,
                        })
                    })
                    .transpose()
            })
            .collect::<Result<Vec<_>, Reject>>()
    });
    Ok(nested.flatten())
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
            &IngestOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let cell = h3o::CellIndex::try_from(a.rows[0].cell).unwrap_or_else(|e| panic!("{e}"));
        let b = read(
            "b.csv",
            format!("h3,date,variable,value\n{cell},2023-07-15,precip_mm,212.5\n").as_bytes(),
            Resolution::Seven,
            &IngestOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.rows, b.rows);
        assert_eq!(
            crate::model::day::format_date(a.rows[0].period),
            "2023-07-01"
        );
    }

    #[test]
    fn chirps_style_geotiff_with_the_month_in_its_name() {
        let values = [150.0f32, -9999.0, 210.0, 230.0];
        let bytes = crate::ingest::raster::write_geotiff(
            &crate::ingest::raster::tests::raster(2, 2, 21.0, 6.6, 0.05, &values),
            Some(-9999.0),
            false,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let p = read(
            "chirps-v2.0.2023.07.tif",
            &bytes,
            Resolution::Seven,
            &IngestOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.rows.len(), 3, "nodata is skipped");
        assert!(p
            .rows
            .iter()
            .all(|r| crate::model::day::format_date(r.period) == "2023-07-01"
                && r.variable == "precip_mm"));
        let err = read(
            "rain.tif",
            &bytes,
            Resolution::Seven,
            &IngestOptions::default(),
        )
        .err();
        assert!(err
            .map(|e| e.to_string())
            .unwrap_or_default()
            .contains("--period"));
        let opts = IngestOptions {
            period: Some("2024-08".into()),
            variable: Some("precip_anomaly".into()),
            ..IngestOptions::default()
        };
        let p =
            read("rain.tif", &bytes, Resolution::Seven, &opts).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.rows[0].variable, "precip_anomaly");
    }

    #[test]
    fn speibase_series_gzipped_or_not() {
        let mut text =
            String::from("\"Description: SPEI, monthly from January 1901, with, commas\"\n");
        let header: Vec<String> = (1..=48).map(|i| format!("SPEI{i:02}")).collect();
        text.push_str(&header.join(","));
        text.push('\n');
        for m in 0..14 {
            let row: Vec<String> = (1..=48)
                .map(|s| {
                    if s <= m + 1 {
                        format!("{}.5", s)
                    } else {
                        "NA".into()
                    }
                })
                .collect();
            text.push_str(&row.join(","));
            text.push('\n');
        }
        let plain = read(
            "spei_21.25_6.75.csv",
            text.as_bytes(),
            Resolution::Seven,
            &IngestOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(plain.rows_read, 14);
        assert_eq!(plain.rejects, vec![]);
        let jan = plain
            .rows
            .iter()
            .filter(|r| crate::model::day::format_date(r.period) == "1901-01-01")
            .count();
        assert_eq!(jan, 1, "only SPEI01 exists in the first month");
        let last = plain
            .rows
            .iter()
            .filter(|r| crate::model::day::format_date(r.period) == "1902-02-01")
            .count();
        assert_eq!(last, 4, "scales 1, 3, 6 and 12 by the fourteenth month");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, text.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        let gz = gz.finish().unwrap_or_else(|e| panic!("{e}"));
        let zipped = read(
            "spei_21.25_6.75.csv.gz",
            &gz,
            Resolution::Seven,
            &IngestOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(plain.rows, zipped.rows);
        // A bad value is reported at its line in the whole file (description included).
        let bad = format!("{text}x{}\n", ",NA".repeat(47));
        let p = read(
            "spei_21.25_6.75.csv",
            bad.as_bytes(),
            Resolution::Seven,
            &IngestOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            p.rejects[0].to_string(),
            "line 17, column `SPEI01`: not a number (x)"
        );
        let cell = crate::grid::cell_of(6.75, 21.25, Resolution::Seven)
            .map(u64::from)
            .ok();
        assert_eq!(Some(plain.rows[0].cell), cell);
    }
}
