//! `vigil export`: tables and daily grids as CSV, Parquet or GeoJSON, with cells as H3
//! strings in `h3`.

use crate::config::Config;
use crate::model::cell::CellRecord;
use crate::model::rows::Table;
use crate::model::visibility::Audience;
use crate::output::geoparquet;
use crate::output::render::{
    cell_geometry, cell_properties, frame_csv, json, push_feature, with_h3_column,
};
use crate::output::shape::{Kind, Shape};
use crate::store::snapshot::Snapshot;
use crate::store::{Store, StoreError};
use polars::prelude::*;
use serde_json::Map;
use std::collections::HashMap;
use std::path::Path;

/// What to export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum What {
    /// The `events` table (points).
    Events,
    /// The `bases` table (points).
    Bases,
    /// The `population` table (cells).
    Population,
    /// The `areas` table (polygons).
    Areas,
    /// A daily grid snapshot (cells).
    Grid,
    /// A daily grid rolled up to a coarser resolution or an area level (`--level`).
    Rollup,
    /// The vector tiles of a day (risk, gaps, bases) as one PMTiles archive.
    Tiles,
    /// A field kit: a folder with the day's GeoPackage, tiles, grid CSV, style and README.
    Kit,
}

/// Output encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values with a header row.
    Csv,
    /// Apache Parquet.
    Parquet,
    /// RFC 7946 GeoJSON FeatureCollection.
    Geojson,
    /// OGC GeoPackage (SQLite; needs an output file).
    Gpkg,
    /// PMTiles v3 archive of vector tiles (`tiles` only; needs an output file).
    Pmtiles,
}

impl Format {
    /// The file extension of the format.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Parquet => "parquet",
            Format::Geojson => "geojson",
            Format::Gpkg => "gpkg",
            Format::Pmtiles => "pmtiles",
        }
    }
}

/// Errors of the export layer.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The table was never ingested.
    #[error("the store has no `{0}` table yet; ingest it first")]
    NoTable(&'static str),
    /// Reading the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Encoding failed.
    #[error("encoding the export: {0}")]
    Polars(#[from] PolarsError),
    /// The roll-up level is invalid.
    #[error(transparent)]
    Rollup(#[from] crate::analysis::rollup::RollupError),
    /// A roll-up needs `--level`.
    #[error("`export rollup` needs --level (res6, res5, … or a loaded area level such as ADM1)")]
    NoLevel,
    /// `--level` given for something other than a roll-up.
    #[error("--level applies to `export rollup` only")]
    LevelWithoutRollup,
    /// Writing a GeoPackage failed.
    #[error(transparent)]
    GeoPackage(#[from] crate::output::geopackage::GeoPackageError),
    /// The format cannot encode what was asked.
    #[error("--format {format} does not apply to `export {what}`; {hint}")]
    FormatNotFor {
        /// The format.
        format: &'static str,
        /// What was asked.
        what: &'static str,
        /// What does.
        hint: &'static str,
    },
    /// A format that writes a file (or a folder) needs `--out`.
    #[error("`export {0}` writes a file: give --out PATH")]
    NeedsOut(&'static str),
    /// `--format` is needed.
    #[error("`export {0}` needs --format (csv, parquet, geojson or gpkg)")]
    NeedsFormat(&'static str),
    /// Writing the output failed.
    #[error("{path}: {source}")]
    Io {
        /// The output.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Encodes the requested table or grid.
pub fn export_bytes(
    store: &Store,
    what: What,
    date: Option<&str>,
    format: Format,
) -> Result<Vec<u8>, ExportError> {
    if what == What::Grid {
        let snap = Snapshot::load(store, date)?;
        return grid_bytes(&snap, format, Audience::WithDeployments);
    }
    if what == What::Rollup {
        return Err(ExportError::NoLevel);
    }
    let df = table_frame(store, what)?;
    Ok(match format {
        Format::Csv => frame_csv(&df)?,
        Format::Parquet => {
            let (shapes, kind) = frame_shapes(&df, what)?;
            geoparquet::encode(df, &shapes, kind)?
        }
        Format::Geojson => frame_geojson(&df, what)?.into_bytes(),
        Format::Gpkg | Format::Pmtiles => return Err(ExportError::NeedsOut(what.name())),
    })
}

impl What {
    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            What::Events => "events",
            What::Bases => "bases",
            What::Population => "population",
            What::Areas => "areas",
            What::Grid => "grid",
            What::Rollup => "rollup",
            What::Tiles => "tiles",
            What::Kit => "kit",
        }
    }
}

/// A stored table with its cells as H3 strings.
fn table_frame(store: &Store, what: What) -> Result<DataFrame, ExportError> {
    let name = what.name();
    let df = store.read_frame(name)?.ok_or(ExportError::NoTable(name))?;
    Ok(with_h3_column(df)?)
}

/// A roll-up's units, their frame and their geometries.
type RollupTable = (
    Vec<crate::analysis::rollup::Unit>,
    DataFrame,
    Vec<Option<Shape>>,
);

/// The roll-up of a snapshot to `level`: its units, their frame and their geometries (the
/// parent cell, or the area's polygon).
fn rollup_table(
    store: &Store,
    level: &str,
    date: Option<&str>,
) -> Result<RollupTable, ExportError> {
    use crate::analysis::rollup::{rollup, to_frame, Level};
    let snap = Snapshot::load(store, date)?;
    let areas: Vec<crate::model::rows::Area> = store.read()?;
    let area_cells: Vec<crate::model::rows::AreaCell> = store.read()?;
    let level = Level::parse(level, store.manifest().resolution, &areas)?;
    let units = rollup(&snap, &level, &areas, &area_cells)?;
    let df = to_frame(&units, &level, &snap.date)?;
    let geometry: HashMap<&str, &str> = areas
        .iter()
        .map(|a| (a.area_id.as_str(), a.geometry.as_str()))
        .collect();
    let shapes = units
        .iter()
        .map(|u| match (&u.cell, &u.area_id) {
            (Some(c), _) => crate::grid::cell_from_u64(*c).ok().map(Shape::cell),
            (None, Some(a)) => geometry
                .get(a.as_str())
                .and_then(|g| Shape::from_geojson(g)),
            _ => None,
        })
        .collect();
    Ok((units, df, shapes))
}

/// Writes one table, grid or roll-up as a one-layer GeoPackage at `out`.
fn write_gpkg(
    store: &Store,
    what: What,
    date: Option<&str>,
    level: Option<&str>,
    (out, audience): (&Path, Audience),
) -> Result<(), ExportError> {
    let (df, shapes, kind) = match what {
        What::Grid => {
            let snap = Snapshot::load(store, date)?;
            let df = grid_frame(&snap, audience)?;
            (df, grid_shapes(&snap), Kind::MultiPolygon)
        }
        What::Rollup => {
            let (_, df, shapes) = rollup_table(store, level.ok_or(ExportError::NoLevel)?, date)?;
            (df, shapes, Kind::MultiPolygon)
        }
        _ => {
            let df = table_frame(store, what)?;
            let (shapes, kind) = frame_shapes(&df, what)?;
            (df, shapes, kind)
        }
    };
    let skip = ["geometry", "lat", "lon"];
    let columns: Vec<&Column> = df
        .columns()
        .iter()
        .filter(|c| !skip.contains(&c.name().as_str()))
        .collect();
    let mut rows = Vec::with_capacity(df.height());
    for (i, shape) in shapes.into_iter().enumerate() {
        let mut props = Map::new();
        for c in &columns {
            props.insert(c.name().to_string(), json(&c.get(i)?));
        }
        rows.push((shape, props));
    }
    let layer = crate::output::geopackage::Layer {
        name: what.name().into(),
        title: format!("Vigil {}", what.name()),
        kind,
        rows,
        qml: matches!(what, What::Grid).then(crate::output::kit::tier_qml),
    };
    crate::output::geopackage::write(out, "Vigil export", &[layer])?;
    Ok(())
}

/// Encodes the roll-up of a snapshot to `level` (`res6`, `ADM1`, …).
pub fn rollup_bytes(
    store: &Store,
    level: &str,
    date: Option<&str>,
    format: Format,
) -> Result<Vec<u8>, ExportError> {
    let (units, df, shapes) = rollup_table(store, level, date)?;
    Ok(match format {
        Format::Csv => frame_csv(&df)?,
        Format::Parquet => geoparquet::encode(df, &shapes, Kind::MultiPolygon)?,
        Format::Gpkg | Format::Pmtiles => return Err(ExportError::NeedsOut("rollup")),
        Format::Geojson => {
            let names: Vec<String> = df
                .get_column_names()
                .iter()
                .map(|n| n.to_string())
                .collect();
            let mut out = String::from("{\"type\":\"FeatureCollection\",\"features\":[\n");
            for (i, u) in units.iter().enumerate() {
                let mut props = Map::new();
                for (j, c) in df.columns().iter().enumerate() {
                    props.insert(names[j].clone(), json(&c.get(i)?));
                }
                let id = match (&u.cell, &u.area_id) {
                    (Some(c), _) => crate::grid::cell_from_u64(*c)
                        .map(|c| c.to_string())
                        .unwrap_or_default(),
                    (None, Some(a)) => a.clone(),
                    _ => String::new(),
                };
                let geom = shapes[i]
                    .as_ref()
                    .map_or_else(|| "null".to_owned(), Shape::geojson);
                if i > 0 {
                    out.push_str(",\n");
                }
                push_feature(&mut out, Some(&id), &geom, &props);
            }
            out.push_str("\n]}\n");
            out.into_bytes()
        }
    })
}

/// Encodes a snapshot grid with what `audience` may see (a risk-only audience gets no field
/// of [`crate::model::visibility::DEPLOYMENT_FIELDS`]).
pub fn grid_bytes(
    snap: &Snapshot,
    format: Format,
    audience: Audience,
) -> Result<Vec<u8>, ExportError> {
    match format {
        Format::Geojson => {
            let mut out = String::from("{\"type\":\"FeatureCollection\",\"features\":[\n");
            for (i, r) in snap.cells.iter().enumerate() {
                if i > 0 {
                    out.push_str(",\n");
                }
                let mut props = cell_properties(r, &snap.date);
                audience.redact(&mut props);
                let id = props
                    .get("h3")
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_owned();
                let geometry = crate::grid::cell_from_u64(r.cell)
                    .map(cell_geometry)
                    .unwrap_or_else(|_| "null".into());
                push_feature(&mut out, Some(&id), &geometry, &props);
            }
            out.push_str("\n]}\n");
            Ok(out.into_bytes())
        }
        Format::Csv => Ok(frame_csv(&grid_frame(snap, audience)?)?),
        Format::Parquet => {
            let df = grid_frame(snap, audience)?;
            Ok(geoparquet::encode(
                df,
                &grid_shapes(snap),
                Kind::MultiPolygon,
            )?)
        }
        Format::Gpkg | Format::Pmtiles => Err(ExportError::NeedsOut("grid")),
    }
}

/// The grid's table: `h3`, `date`, then every column, without the deployment fields when
/// `audience` may not see them.
fn grid_frame(snap: &Snapshot, audience: Audience) -> PolarsResult<DataFrame> {
    let mut df = with_h3_column(CellRecord::to_frame(&snap.cells)?)?;
    let date = Column::new("date".into(), vec![snap.date.clone(); df.height()]);
    df.insert_column(1, date)?;
    if !audience.sees_deployments() {
        for f in crate::model::visibility::DEPLOYMENT_FIELDS {
            df = df.drop(f)?;
        }
    }
    Ok(df)
}

fn grid_shapes(snap: &Snapshot) -> Vec<Option<Shape>> {
    snap.cells
        .iter()
        .map(|r| crate::grid::cell_from_u64(r.cell).ok().map(Shape::cell))
        .collect()
}

/// a population row, the point of an event or a base.
fn frame_shapes(df: &DataFrame, what: What) -> PolarsResult<(Vec<Option<Shape>>, Kind)> {
    let text = |c: &Column, i: usize| -> PolarsResult<Option<String>> {
        Ok(match c.get(i)? {
            AnyValue::String(s) => Some(s.to_owned()),
            AnyValue::StringOwned(s) => Some(s.to_string()),
            _ => None,
        })
    };
    let (h3, geom) = (df.column("h3").ok(), df.column("geometry").ok());
    let (lat, lon) = (df.column("lat").ok(), df.column("lon").ok());
    let mut shapes = Vec::with_capacity(df.height());
    let kind = match (what, geom, h3, lat, lon) {
        (What::Areas, Some(g), ..) => {
            for i in 0..df.height() {
                shapes.push(text(g, i)?.and_then(|t| Shape::from_geojson(&t)));
            }
            Kind::MultiPolygon
        }
        (What::Population, _, Some(h), ..) => {
            for i in 0..df.height() {
                let cell = text(h, i)?.and_then(|t| crate::grid::parse_cell(&t).ok());
                shapes.push(cell.map(Shape::cell));
            }
            Kind::MultiPolygon
        }
        (_, _, _, Some(la), Some(lo)) => {
            let (la, lo) = (la.cast(&DataType::Float64)?, lo.cast(&DataType::Float64)?);
            for (y, x) in la.f64()?.iter().zip(lo.f64()?.iter()) {
                shapes.push(y.zip(x).and_then(|(y, x)| Shape::point(y, x)));
            }
            Kind::Point
        }
        _ => {
            shapes.resize(df.height(), None);
            Kind::Point
        }
    };
    Ok((shapes, kind))
}

fn frame_geojson(df: &DataFrame, what: What) -> PolarsResult<String> {
    let (shapes, _) = frame_shapes(df, what)?;
    let skip = ["geometry", "lat", "lon"];
    let columns: Vec<&Column> = df
        .columns()
        .iter()
        .filter(|c| !skip.contains(&c.name().as_str()))
        .collect();
    let mut out = String::from("{\"type\":\"FeatureCollection\",\"features\":[\n");
    for (i, shape) in shapes.iter().enumerate() {
        let mut props = Map::new();
        for c in &columns {
            props.insert(c.name().to_string(), json(&c.get(i)?));
        }
        if i > 0 {
            out.push_str(",\n");
        }
        let geometry = shape.as_ref().map_or_else(|| "null".into(), Shape::geojson);
        push_feature(&mut out, None, &geometry, &props);
    }
    out.push_str("\n]}\n");
    Ok(out)
}

/// What to export, where, and for whom.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// What.
    pub what: What,
    /// Snapshot date (default: the latest).
    pub date: Option<&'a str>,
    /// Roll-up level.
    pub level: Option<&'a str>,
    /// Encoding (`None`: the one `what` implies — a folder for a kit, PMTiles for tiles).
    pub format: Option<Format>,
    /// Output file or folder (`None`: standard output).
    pub out: Option<&'a Path>,
    /// Whether deployment positions and fields go in (grid, tiles and kit).
    pub audience: Audience,
}

/// Writes the export; the bytes written.
pub fn export(store: &Store, config: &Config, req: &Request<'_>) -> Result<usize, ExportError> {
    let Request {
        what,
        date,
        level,
        format,
        out,
        audience,
    } = *req;
    if level.is_some() && what != What::Rollup {
        return Err(ExportError::LevelWithoutRollup);
    }
    let needs_out = || out.ok_or(ExportError::NeedsOut(what.name()));
    let bytes = match (what, format) {
        (What::Kit, None) => {
            let kit = crate::output::kit::write_kit(store, config, date, needs_out()?, audience)?;
            return Ok(kit.files.iter().map(|(_, n)| *n as usize).sum());
        }
        (What::Tiles, None | Some(Format::Pmtiles)) => {
            let snap = Snapshot::load(store, date)?;
            let bases: Vec<crate::model::rows::Base> = store.read()?;
            crate::output::pmtiles::snapshot_archive(&snap, &bases, config, audience)?
        }
        (What::Kit | What::Tiles, Some(f)) | (_, Some(f @ Format::Pmtiles)) => {
            return Err(ExportError::FormatNotFor {
                format: f.extension(),
                what: what.name(),
                hint: "`export tiles` writes PMTiles; `export kit` writes a folder (no --format)",
            })
        }
        (_, None) => return Err(ExportError::NeedsFormat(what.name())),
        (_, Some(Format::Gpkg)) => {
            let out = needs_out()?;
            write_gpkg(store, what, date, level, (out, audience))?;
            let size = std::fs::metadata(out).map_err(|source| ExportError::Io {
                path: out.display().to_string(),
                source,
            })?;
            return Ok(size.len() as usize);
        }
        (What::Rollup, Some(f)) => {
            rollup_bytes(store, level.ok_or(ExportError::NoLevel)?, date, f)?
        }
        (What::Grid, Some(f)) => grid_bytes(&Snapshot::load(store, date)?, f, audience)?,
        (_, Some(f)) => export_bytes(store, what, date, f)?,
    };
    match out {
        Some(path) => crate::store::write_atomic(path, &bytes)?,
        None => {
            use std::io::Write;
            std::io::stdout()
                .write_all(&bytes)
                .map_err(|source| ExportError::Io {
                    path: "<stdout>".into(),
                    source,
                })?;
        }
    }
    Ok(bytes.len())
}
