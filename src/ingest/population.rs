//! Population: an `h3,population` CSV at any H3 resolution (finer cells are summed into
//! their base-resolution parent, coarser cells spread evenly over their children), or a
//! single-band GeoTIFF of people per pixel in geographic coordinates (WorldPop style;
//! nodata honoured), each pixel counted in the cell containing its centre.

use super::csvsource::{CsvSource, Row};
use super::{IngestError, Parsed, Reject};
use crate::grid::parse_cell;
use crate::model::rows::PopulationCell;
use h3o::Resolution;

/// One row: a cell at its own resolution (finer ones already moved to their base-resolution
/// parent) and its people; coarser cells are spread over their children after the whole
/// file was read and the total checked against `grid.max_cells`.
fn cell(row: &Row<'_>, res: Resolution) -> Result<(h3o::CellIndex, f64), Reject> {
    let raw = row.req("h3")?;
    let cell = parse_cell(raw).map_err(|e| row.reject("h3", "invalid H3 cell", e.to_string()))?;
    let pop = row
        .opt_f64("population")?
        .ok_or_else(|| row.reject("population", "missing value", String::new()))?;
    if pop < 0.0 {
        return Err(row.reject("population", "negative population", pop.to_string()));
    }
    if cell.resolution() >= res {
        let parent = cell
            .parent(res)
            .ok_or_else(|| row.reject("h3", "no parent at base resolution", raw.to_owned()))?;
        return Ok((parent, pop));
    }
    Ok((cell, pop))
}

/// Reads a population raster: people per pixel summed per cell.
fn read_raster(
    file: &str,
    bytes: &[u8],
    res: Resolution,
) -> Result<Parsed<PopulationCell>, IngestError> {
    let raster = super::raster::read_geotiff(file, bytes)?;
    let mut sums: std::collections::BTreeMap<u64, f64> = std::collections::BTreeMap::new();
    let mut out = Parsed::new();
    for (i, v) in raster.values.iter().enumerate() {
        if !v.is_finite() {
            continue;
        }
        out.rows_read += 1;
        let (col, row) = (i % raster.width, i / raster.width);
        let (lat, lon) = raster.center(col, row);
        if *v < 0.0 {
            let mut r = Reject::new(
                row as u64 + 1,
                "pixel",
                "negative population",
                format!("column {}, value {v}", col + 1),
            );
            r.unit = "raster row";
            out.rejects.push(r);
            continue;
        }
        match crate::grid::cell_of(lat, lon, res) {
            Ok(c) => *sums.entry(u64::from(c)).or_default() += v,
            Err(e) => {
                let mut r = Reject::new(
                    row as u64 + 1,
                    "pixel",
                    "invalid coordinates",
                    e.to_string(),
                );
                r.unit = "raster row";
                out.rejects.push(r);
            }
        }
    }
    out.rows = sums
        .into_iter()
        .map(|(cell, population)| PopulationCell { cell, population })
        .collect();
    Ok(out)
}

/// Reads an `h3,population` CSV or a population GeoTIFF (detected by its first bytes).
pub fn read(
    file: &str,
    bytes: &[u8],
    res: Resolution,
) -> Result<Parsed<PopulationCell>, IngestError> {
    if super::raster::is_tiff(bytes) {
        return read_raster(file, bytes, res);
    }
    let mut src = CsvSource::new(file, bytes, "h3", None)?;
    src.require(&["h3", "population"])?;
    let read = src.read_all("population", bytes.len(), |row| cell(row, res));
    let total: u64 = read.rows.iter().map(|(c, _)| c.children_count(res)).sum();
    let max = super::csvsource::current_limits().max_cells;
    if total > max {
        return Err(IngestError::TooLarge {
            file: file.to_owned(),
            what: format!(
                "its cells spread over {total} cells at resolution {}, more than grid.max_cells = {max}",
                u8::from(res)
            ),
        });
    }
    let mut rows = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
    for (c, pop) in &read.rows {
        let share = pop / c.children_count(res) as f64;
        rows.extend(c.children(res).map(|child| PopulationCell {
            cell: u64::from(child),
            population: share,
        }));
    }
    Ok(Parsed {
        rows,
        rejects: read.rejects,
        rows_read: read.rows_read,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finer_cells_sum_and_coarser_cells_spread() {
        let fine =
            crate::grid::cell_of(6.5, 21.0, Resolution::Eight).unwrap_or_else(|e| panic!("{e}"));
        let coarse =
            crate::grid::cell_of(6.5, 21.0, Resolution::Six).unwrap_or_else(|e| panic!("{e}"));
        let csv = format!("h3,population\n{fine},100\n{coarse},700\n");
        let p = read("p.csv", csv.as_bytes(), Resolution::Seven).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.rows.len(), 8);
        let total: f64 = p.rows.iter().map(|r| r.population).sum();
        assert!((total - 800.0).abs() < 1e-9);
    }

    #[test]
    fn bad_cells_are_rejected() {
        let p = read("p.csv", b"h3,population\nnope,1\n", Resolution::Seven)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.rejects[0].column, "h3");
    }

    #[test]
    fn geotiff_people_are_summed_per_cell() {
        // 0.01° pixels (≈1.1 km): several per res-7 cell; one nodata pixel.
        let mut values = vec![10.0f32; 100];
        values[5] = -1.0;
        let bytes = crate::ingest::raster::write_geotiff(
            &crate::ingest::raster::tests::raster(10, 10, 21.0, 6.6, 0.01, &values),
            Some(-1.0),
            false,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let p = read("pop.tif", &bytes, Resolution::Seven).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.rows_read, 99);
        let total: f64 = p.rows.iter().map(|r| r.population).sum();
        assert!((total - 990.0).abs() < 1e-9);
        assert!(p.rows.len() > 10 && p.rows.len() < 40, "{}", p.rows.len());
    }
}
