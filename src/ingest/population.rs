//! Population: an `h3,population` CSV at any H3 resolution (finer cells are summed into
//! their base-resolution parent, coarser cells spread evenly over their children), or a
//! single-band GeoTIFF of people per pixel in geographic coordinates (WorldPop style;
//! nodata honoured), each pixel counted in the cell containing its centre — or, with
//! [`Units::PerKm2`], a GeoTIFF of people per km² (WorldPop's aggregated density
//! products): each cell of the grid gets the density of the pixel holding its centre times
//! its own area, so a raster coarser than the grid still reaches every cell.

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

/// Refuses a file that would produce more than `grid.max_cells` cells: `said` is the
/// message's start and its advice.
fn within_max_cells(
    file: &str,
    cells: u64,
    res: Resolution,
    said: (&str, &str),
) -> Result<(), IngestError> {
    let max = super::csvsource::current_limits().max_cells;
    if cells <= max {
        return Ok(());
    }
    Err(IngestError::TooLarge {
        file: file.to_owned(),
        what: format!(
            "{} {cells} cells at resolution {}, more than grid.max_cells = {max}{}",
            said.0,
            u8::from(res),
            said.1
        ),
    })
}

/// What a population raster's values count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Units {
    /// People per pixel (WorldPop's `ppp` counts): pixels summed into the cell holding
    /// their centre.
    #[default]
    People,
    /// People per km² (density): each cell gets its centre's density × its area.
    PerKm2,
}

/// The pixel holding (`lat`, `lon`), if inside the raster.
fn pixel_at(raster: &super::raster::Raster, lat: f64, lon: f64) -> Option<usize> {
    let col = ((lon - raster.west) / raster.dx).floor();
    let row = ((raster.north - lat) / raster.dy).floor();
    let inside =
        col >= 0.0 && row >= 0.0 && col < raster.width as f64 && row < raster.height as f64;
    inside.then(|| row as usize * raster.width + col as usize)
}

/// The cells a density raster fills: `grid` (the store's areas) when given, else every
/// cell whose centre lies in the raster's extent, refused above `grid.max_cells`.
fn density_cells(
    file: &str,
    raster: &super::raster::Raster,
    res: Resolution,
    grid: Option<&[u64]>,
) -> Result<Vec<h3o::CellIndex>, IngestError> {
    if let Some(cells) = grid {
        return Ok(cells
            .iter()
            .filter_map(|c| crate::grid::cell_from_u64(*c).ok())
            .collect());
    }
    let (west, north) = (raster.west, raster.north);
    let east = west + raster.width as f64 * raster.dx;
    let south = north - raster.height as f64 * raster.dy;
    // The extent's area on the sphere over the mean cell area, before any cell is made.
    let (r, rad) = (6_371.007_2_f64, std::f64::consts::PI / 180.0);
    let extent_km2 =
        r * r * ((east - west) * rad) * ((north * rad).sin() - (south * rad).sin()).abs();
    let estimate = (extent_km2 / res.area_km2()).ceil() as u64;
    within_max_cells(
        file,
        estimate,
        res,
        (
            "its extent holds about",
            "; ingest the theatre's areas first (the density then fills their cells only)",
        ),
    )?;
    let rect = geo::Polygon::new(
        geo::LineString::from(vec![
            (west, south),
            (east, south),
            (east, north),
            (west, north),
            (west, south),
        ]),
        Vec::new(),
    );
    crate::grid::polyfill(geo::MultiPolygon(vec![rect]), res).map_err(IngestError::from)
}

/// Reads a density raster: each cell's people = the density at its centre × its area.
fn read_density(
    file: &str,
    bytes: &[u8],
    res: Resolution,
    grid: Option<&[u64]>,
) -> Result<Parsed<PopulationCell>, IngestError> {
    let raster = super::raster::read_geotiff(file, bytes)?;
    let cells = density_cells(file, &raster, res, grid)?;
    let mut out = Parsed::new();
    out.rows_read = raster.values.iter().filter(|v| v.is_finite()).count();
    let mut negative = std::collections::BTreeSet::new();
    for cell in cells {
        let (lat, lon) = crate::grid::center(cell);
        let Some(i) = pixel_at(&raster, lat, lon) else {
            continue;
        };
        let density = raster.values[i];
        if !density.is_finite() {
            continue;
        }
        if density < 0.0 {
            negative.insert(i);
            continue;
        }
        out.rows.push(PopulationCell {
            cell: u64::from(cell),
            population: density * cell.area_km2(),
        });
    }
    for i in negative {
        let (col, row) = (i % raster.width, i / raster.width);
        let mut r = Reject::new(
            row as u64 + 1,
            "pixel",
            "negative density",
            format!("column {}, value {}", col + 1, raster.values[i]),
        );
        r.unit = "raster row";
        out.rejects.push(r);
    }
    out.rows.sort_by_key(|p| p.cell);
    Ok(out)
}

/// Reads an `h3,population` CSV or a population GeoTIFF (detected by its first bytes) of
/// `units`; a density raster fills `grid` (the store's area cells) when given.
pub fn read(
    file: &str,
    bytes: &[u8],
    res: Resolution,
    units: Units,
    grid: Option<&[u64]>,
) -> Result<Parsed<PopulationCell>, IngestError> {
    if super::raster::is_tiff(bytes) {
        return match units {
            Units::People => read_raster(file, bytes, res),
            Units::PerKm2 => read_density(file, bytes, res, grid),
        };
    }
    if units == Units::PerKm2 {
        return Err(IngestError::Raster {
            file: file.to_owned(),
            message: "--units per-km2 applies to GeoTIFF rasters; an h3,population CSV counts people per cell".to_owned(),
        });
    }
    let mut src = CsvSource::new(file, bytes, "h3", None)?;
    src.require(&["h3", "population"])?;
    let read = src.read_all("population", bytes.len(), |row| cell(row, res));
    let total: u64 = read.rows.iter().map(|(c, _)| c.children_count(res)).sum();
    within_max_cells(file, total, res, ("its cells spread over", ""))?;
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
        let p = read(
            "p.csv",
            csv.as_bytes(),
            Resolution::Seven,
            Units::People,
            None,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.rows.len(), 8);
        let total: f64 = p.rows.iter().map(|r| r.population).sum();
        assert!((total - 800.0).abs() < 1e-9);
    }

    #[test]
    fn bad_cells_are_rejected() {
        let p = read(
            "p.csv",
            b"h3,population\nnope,1\n",
            Resolution::Seven,
            Units::People,
            None,
        )
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
        let p = read("pop.tif", &bytes, Resolution::Seven, Units::People, None)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.rows_read, 99);
        let total: f64 = p.rows.iter().map(|r| r.population).sum();
        assert!((total - 990.0).abs() < 1e-9);
        assert!(p.rows.len() > 10 && p.rows.len() < 40, "{}", p.rows.len());
    }

    /// A 3 × 3 density raster of 0.2° pixels (≈ 490 km² each) at 6.6° N, one pixel nodata.
    fn density_tif(values: &[f32]) -> Vec<u8> {
        crate::ingest::raster::write_geotiff(
            &crate::ingest::raster::tests::raster(3, 3, 21.0, 6.6, 0.2, values),
            Some(-1.0),
            false,
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Area on the sphere of a lon/lat rectangle, km².
    fn rect_km2(west: f64, south: f64, east: f64, north: f64) -> f64 {
        let (r, rad) = (6_371.007_2_f64, std::f64::consts::PI / 180.0);
        r * r * ((east - west) * rad) * ((north * rad).sin() - (south * rad).sin())
    }

    #[test]
    fn density_rasters_give_every_cell_its_density_times_its_area() {
        let mut values = vec![10.0f32; 9];
        values[4] = -1.0; // nodata in the middle
        values[0] = 40.0;
        let p = read(
            "d.tif",
            &density_tif(&values),
            Resolution::Seven,
            Units::PerKm2,
            None,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.rows_read, 8);
        assert!(p.rejects.is_empty());
        // ≈ 90 res-7 cells per pixel: a coarse raster reaches every cell, not one in 90.
        assert!(
            p.rows.len() > 8 * 80 && p.rows.len() < 8 * 110,
            "{}",
            p.rows.len()
        );
        for r in &p.rows {
            let cell = crate::grid::cell_from_u64(r.cell).unwrap_or_else(|e| panic!("{e}"));
            let per_km2 = r.population / cell.area_km2();
            assert!(
                (per_km2 - 10.0).abs() < 1e-9 || (per_km2 - 40.0).abs() < 1e-9,
                "{per_km2}"
            );
            let (lat, lon) = crate::grid::center(cell);
            let in_hole = (21.2..21.4).contains(&lon) && (6.2..6.4).contains(&lat);
            assert!(!in_hole, "a cell centred in the nodata pixel got people");
        }
        // The total is the raster's people (density × pixel area) to within the cells cut
        // by the pixels' edges.
        let pixel = |col: f64, row: f64| {
            rect_km2(
                21.0 + 0.2 * col,
                6.4 - 0.2 * row,
                21.2 + 0.2 * col,
                6.6 - 0.2 * row,
            )
        };
        let mut expected = 0.0;
        for (i, v) in values.iter().enumerate() {
            let (col, row) = ((i % 3) as f64, (i / 3) as f64);
            if *v >= 0.0 {
                expected += f64::from(*v) * pixel(col, row);
            }
        }
        let total: f64 = p.rows.iter().map(|r| r.population).sum();
        assert!(
            (total / expected - 1.0).abs() < 0.03,
            "{total} vs {expected}"
        );
    }

    #[test]
    fn density_fills_only_the_grid_it_is_given() {
        let inside =
            crate::grid::cell_of(6.5, 21.1, Resolution::Seven).unwrap_or_else(|e| panic!("{e}"));
        let outside =
            crate::grid::cell_of(8.0, 25.0, Resolution::Seven).unwrap_or_else(|e| panic!("{e}"));
        let grid = [u64::from(inside), u64::from(outside)];
        let p = read(
            "d.tif",
            &density_tif(&[5.0; 9]),
            Resolution::Seven,
            Units::PerKm2,
            Some(&grid),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.rows.len(), 1);
        assert_eq!(p.rows[0].cell, u64::from(inside));
        assert!((p.rows[0].population - 5.0 * inside.area_km2()).abs() < 1e-9);
    }

    #[test]
    fn negative_densities_are_rejected_once_per_pixel() {
        let mut values = vec![1.0f32; 9];
        values[8] = -5.0;
        let bytes = crate::ingest::raster::write_geotiff(
            &crate::ingest::raster::tests::raster(3, 3, 21.0, 6.6, 0.2, &values),
            None,
            false,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let p = read("d.tif", &bytes, Resolution::Seven, Units::PerKm2, None)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.rejects.len(), 1);
        assert_eq!(p.rejects[0].reason, "negative density");
        assert_eq!(p.rejects[0].line, 3);
    }

    #[test]
    fn a_continent_without_areas_is_refused_with_what_to_do() {
        // 60° × 60° at 0.5°: millions of res-9 cells, above a small grid.max_cells.
        let values = vec![1.0f32; 120 * 120];
        let bytes = crate::ingest::raster::write_geotiff(
            &crate::ingest::raster::tests::raster(120, 120, -20.0, 37.0, 0.5, &values),
            None,
            false,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let limits = crate::ingest::csvsource::Limits {
            max_cells: 1_000_000,
            ..crate::ingest::csvsource::Limits::default()
        };
        let err = crate::ingest::csvsource::with_limits(limits, || {
            read("africa.tif", &bytes, Resolution::Nine, Units::PerKm2, None)
        })
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(
            err.contains("africa.tif") && err.contains("grid.max_cells") && err.contains("areas"),
            "{err}"
        );
    }

    #[test]
    fn per_km2_is_refused_for_a_csv() {
        let err = read(
            "p.csv",
            b"h3,population\n",
            Resolution::Seven,
            Units::PerKm2,
            None,
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(err.contains("p.csv") && err.contains("GeoTIFF"), "{err}");
    }
}
