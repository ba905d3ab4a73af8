//! OGC GeoPackage 1.3 (an SQLite file): feature tables in EPSG:4326 with their contents and
//! geometry-column records, GeoPackage geometry blobs (the `GP` header, an envelope, then
//! WKB), and QGIS's `layer_styles` table so that QGIS opens a layer with its style.

use crate::output::shape::{extent, Kind, Shape};
use rusqlite::{params, Connection};
use serde_json::{Map, Value};
use std::path::Path;

/// One feature table.
pub struct Layer {
    /// Table name (letters, digits and `_`).
    pub name: String,
    /// A human title (`gpkg_contents.identifier`).
    pub title: String,
    /// Its geometry type.
    pub kind: Kind,
    /// Geometry and properties of each feature.
    pub rows: Vec<(Option<Shape>, Map<String, Value>)>,
    /// A QGIS style (QML) stored as the layer's default, if any.
    pub qml: Option<String>,
}

/// Errors writing a GeoPackage.
#[derive(Debug, thiserror::Error)]
pub enum GeoPackageError {
    /// SQLite failed.
    #[error("{path}: {source}")]
    Sqlite {
        /// The file.
        path: String,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// The file could not be moved into place.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// The column type of a property, from the values it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Boolean,
    Integer,
    Real,
    Date,
    Text,
}

impl Column {
    fn of(v: &Value) -> Option<Column> {
        Some(match v {
            Value::Null => return None,
            Value::Bool(_) => Column::Boolean,
            Value::Number(n) if n.is_i64() || n.is_u64() => Column::Integer,
            Value::Number(_) => Column::Real,
            Value::String(s) if is_date(s) => Column::Date,
            _ => Column::Text,
        })
    }

    /// The wider of two types seen in one column.
    fn join(a: Column, b: Column) -> Column {
        use Column::*;
        match (a, b) {
            (a, b) if a == b => a,
            (Integer, Real) | (Real, Integer) => Real,
            _ => Text,
        }
    }

    fn sql(self) -> &'static str {
        match self {
            Column::Boolean => "BOOLEAN",
            Column::Integer => "INTEGER",
            Column::Real => "REAL",
            Column::Date => "DATE",
            Column::Text => "TEXT",
        }
    }
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

/// A GeoPackage geometry blob: header (`GP`, version 0, little-endian, an XY envelope for
/// anything but a point), SRS 4326, then the WKB.
pub fn geometry_blob(shape: &Shape) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(b"GP");
    out.push(0);
    let point = matches!(shape, Shape::Point(_));
    // Bit 0: little-endian; bits 1–3: envelope 1 = [minx, maxx, miny, maxy].
    out.push(if point { 0b0000_0001 } else { 0b0000_0011 });
    out.extend_from_slice(&4326_i32.to_le_bytes());
    if !point {
        let b = shape.bbox();
        for v in [b[0], b[2], b[1], b[3]] {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    shape.write_wkb(&mut out);
    out
}

const WGS84: &str = "GEOGCS[\"WGS 84\",DATUM[\"WGS_1984\",SPHEROID[\"WGS 84\",6378137,298.257223563,AUTHORITY[\"EPSG\",\"7030\"]],AUTHORITY[\"EPSG\",\"6326\"]],PRIMEM[\"Greenwich\",0,AUTHORITY[\"EPSG\",\"8901\"]],UNIT[\"degree\",0.0174532925199433,AUTHORITY[\"EPSG\",\"9122\"]],AXIS[\"Latitude\",NORTH],AXIS[\"Longitude\",EAST],AUTHORITY[\"EPSG\",\"4326\"]]";

/// The mandatory tables of an empty GeoPackage.
const SCHEMA: &str = "
PRAGMA application_id = 1196444487;
PRAGMA user_version = 10300;
CREATE TABLE gpkg_spatial_ref_sys (
  srs_name TEXT NOT NULL, srs_id INTEGER NOT NULL PRIMARY KEY, organization TEXT NOT NULL,
  organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT);
CREATE TABLE gpkg_contents (
  table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
  description TEXT DEFAULT '',
  last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
  CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
CREATE TABLE gpkg_geometry_columns (
  table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
  CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
  CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id));
CREATE TABLE layer_styles (
  id INTEGER PRIMARY KEY AUTOINCREMENT, f_table_catalog TEXT(256), f_table_schema TEXT(256),
  f_table_name TEXT(256), f_geometry_column TEXT(256), styleName TEXT(30), styleQML TEXT,
  styleSLD TEXT, useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30),
  update_time DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')));
INSERT INTO gpkg_contents (table_name, data_type, identifier, description)
  VALUES ('layer_styles', 'attributes', 'layer_styles', 'QGIS styles of the layers');
";

/// Writes `layers` as a new GeoPackage at `path` (written beside it, then moved into place:
/// a reader never sees half a file).
pub fn write(path: &Path, description: &str, layers: &[Layer]) -> Result<(), GeoPackageError> {
    let shown = path.display().to_string();
    let tmp = path.with_extension("gpkg.tmp");
    let _ = std::fs::remove_file(&tmp);
    let sql = |source| GeoPackageError::Sqlite {
        path: shown.clone(),
        source,
    };
    {
        let mut db = Connection::open(&tmp).map_err(sql)?;
        db.execute_batch(SCHEMA).map_err(sql)?;
        let tx = db.transaction().map_err(sql)?;
        {
            let mut srs = tx
                .prepare("INSERT INTO gpkg_spatial_ref_sys VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
                .map_err(sql)?;
            srs.execute(params![
                "WGS 84 geodetic",
                4326,
                "EPSG",
                4326,
                WGS84,
                "longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid"
            ])
            .map_err(sql)?;
            srs.execute(params![
                "Undefined cartesian SRS",
                -1,
                "NONE",
                -1,
                "undefined",
                "undefined cartesian coordinate reference system"
            ])
            .map_err(sql)?;
            srs.execute(params![
                "Undefined geographic SRS",
                0,
                "NONE",
                0,
                "undefined",
                "undefined geographic coordinate reference system"
            ])
            .map_err(sql)?;
        }
        for layer in layers {
            write_layer(&tx, layer, description).map_err(sql)?;
        }
        tx.commit().map_err(sql)?;
    }
    std::fs::rename(&tmp, path).map_err(|source| GeoPackageError::Io {
        path: shown,
        source,
    })
}

fn write_layer(
    tx: &rusqlite::Transaction<'_>,
    layer: &Layer,
    description: &str,
) -> rusqlite::Result<()> {
    // Columns in first-seen order, each with the widest type of its values.
    let mut columns: Vec<(String, Option<Column>)> = Vec::new();
    for (_, props) in &layer.rows {
        for (k, v) in props {
            let t = Column::of(v);
            match columns.iter_mut().find(|(name, _)| name == k) {
                Some((_, seen)) => {
                    *seen = match (*seen, t) {
                        (Some(a), Some(b)) => Some(Column::join(a, b)),
                        (a, b) => a.or(b),
                    }
                }
                None => columns.push((k.clone(), t)),
            }
        }
    }
    let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let table = quote(&layer.name);
    let defs: Vec<String> = columns
        .iter()
        .map(|(n, t)| format!("{} {}", quote(n), t.unwrap_or(Column::Text).sql()))
        .collect();
    let mut create = format!(
        "CREATE TABLE {table} (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, geom {}",
        layer.kind.gpkg_name()
    );
    for d in &defs {
        create.push_str(", ");
        create.push_str(d);
    }
    create.push(')');
    tx.execute(&create, [])?;
    let b = extent(layer.rows.iter().filter_map(|(s, _)| s.as_ref()));
    tx.execute(
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, min_x, min_y, max_x, max_y, srs_id)
         VALUES (?1, 'features', ?2, ?3, ?4, ?5, ?6, ?7, 4326)",
        params![
            layer.name,
            layer.title,
            description,
            b.map(|b| b[0]),
            b.map(|b| b[1]),
            b.map(|b| b[2]),
            b.map(|b| b[3])
        ],
    )?;
    tx.execute(
        "INSERT INTO gpkg_geometry_columns VALUES (?1, 'geom', ?2, 4326, 0, 0)",
        params![layer.name, layer.kind.gpkg_name()],
    )?;
    let names: Vec<String> = columns.iter().map(|(n, _)| quote(n)).collect();
    let marks: Vec<String> = (0..=columns.len()).map(|i| format!("?{}", i + 1)).collect();
    let insert = format!(
        "INSERT INTO {table} (geom{}{}) VALUES ({})",
        if names.is_empty() { "" } else { ", " },
        names.join(", "),
        marks.join(", ")
    );
    let mut stmt = tx.prepare(&insert)?;
    for (shape, props) in &layer.rows {
        let mut values: Vec<rusqlite::types::Value> = Vec::with_capacity(columns.len() + 1);
        values.push(match shape {
            Some(s) => rusqlite::types::Value::Blob(geometry_blob(s)),
            None => rusqlite::types::Value::Null,
        });
        for (name, t) in &columns {
            values.push(sql_value(props.get(name), t.unwrap_or(Column::Text)));
        }
        stmt.execute(rusqlite::params_from_iter(values))?;
    }
    if let Some(qml) = &layer.qml {
        tx.execute(
            "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, description, owner, ui)
             VALUES ('', '', ?1, 'geom', ?1, ?2, '', 1, 'Vigil risk tiers', '', NULL)",
            params![layer.name, qml],
        )?;
    }
    Ok(())
}

fn sql_value(v: Option<&Value>, column: Column) -> rusqlite::types::Value {
    use rusqlite::types::Value as Sql;
    match v {
        None | Some(Value::Null) => Sql::Null,
        Some(Value::Bool(b)) => Sql::Integer(i64::from(*b)),
        Some(Value::Number(n)) if column == Column::Integer => {
            n.as_i64().map_or(Sql::Null, Sql::Integer)
        }
        Some(Value::Number(n)) if column == Column::Real => n.as_f64().map_or(Sql::Null, Sql::Real),
        Some(Value::String(s)) => Sql::Text(s.clone()),
        Some(other) => Sql::Text(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn props(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn a_layer_round_trips_through_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.gpkg");
        let layer = Layer {
            name: "events".into(),
            title: "Events".into(),
            kind: Kind::Point,
            rows: vec![
                (
                    Shape::point(4.0, 18.0),
                    props(json!({"n": 1, "x": 1.5, "d": "2024-03-01", "ok": true})),
                ),
                (
                    Shape::point(5.0, 19.0),
                    props(json!({"n": 2, "x": 2, "name": "a\"b"})),
                ),
            ],
            qml: Some("<qgis/>".into()),
        };
        write(&path, "test", &[layer]).unwrap();
        let db = Connection::open(&path).unwrap();
        let app: i64 = db
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .unwrap();
        assert_eq!(app, 0x4750_4B47);
        let sql: String = db
            .query_row(
                "SELECT sql FROM sqlite_master WHERE name = 'events'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(sql.contains("\"n\" INTEGER"), "{sql}");
        assert!(sql.contains("\"x\" REAL"), "{sql}");
        assert!(sql.contains("\"d\" DATE"), "{sql}");
        assert!(sql.contains("\"ok\" BOOLEAN"), "{sql}");
        let (x, name): (f64, Option<String>) = db
            .query_row("SELECT x, name FROM events WHERE n = 2", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((x, name.as_deref()), (2.0, Some("a\"b")));
        let blob: Vec<u8> = db
            .query_row("SELECT geom FROM events WHERE n = 1", [], |r| r.get(0))
            .unwrap();
        assert_eq!(&blob[..8], &[b'G', b'P', 0, 1, 0xE6, 0x10, 0, 0]);
        assert_eq!(&blob[8..], Shape::Point([18.0, 4.0]).wkb().as_slice());
        let b: (f64, f64) = db
            .query_row(
                "SELECT min_x, max_y FROM gpkg_contents WHERE table_name = 'events'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(b, (18.0, 5.0));
        assert!(!dir.path().join("t.gpkg.tmp").exists());
    }

    #[test]
    fn a_polygon_blob_carries_its_envelope() {
        let shape = Shape::MultiPolygon(vec![vec![vec![
            [0.0, 0.0],
            [2.0, 0.0],
            [2.0, 1.0],
            [0.0, 0.0],
        ]]]);
        let blob = geometry_blob(&shape);
        assert_eq!(blob[3], 3);
        let env: Vec<f64> = blob[8..40]
            .chunks(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(env, [0.0, 2.0, 0.0, 1.0]);
        assert_eq!(&blob[40..], shape.wkb().as_slice());
    }
}
