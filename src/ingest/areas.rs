//! Boundaries as GeoJSON: geoBoundaries (`shapeName`, `shapeID`, `shapeType`) or any
//! FeatureCollection of (Multi)Polygons with a name property. Each area is filled to
//! base-resolution cells by centroid containment.

use super::{IngestError, Reject};
use crate::grid::polyfill;
use crate::model::rows::{Area, AreaCell};
use geojson::{feature::Id, Feature, GeoJson};
use h3o::Resolution;

/// Properties tried, in order, for an area's name.
pub const NAME_PROPERTIES: [&str; 6] = ["shapeName", "name", "NAME", "Name", "ADM1_EN", "ADM2_EN"];

/// How to read an areas file.
#[derive(Debug, Clone, PartialEq)]
pub struct AreaOptions {
    /// Level of every area in the file (`mission`, `sector`, `ADM2`…); default: each
    /// feature's `shapeType` or `level` property, else `area`.
    pub level: Option<String>,
    /// Property holding the name; default: the first of [`NAME_PROPERTIES`].
    pub name_field: Option<String>,
    /// The file is refused when its areas would fill more cells (`grid.max_cells`).
    pub max_cells: u64,
    /// A feature with a longer property is rejected (`ingest.max_field_bytes`).
    pub max_field_bytes: usize,
}

impl Default for AreaOptions {
    fn default() -> Self {
        let config = crate::config::Config::default();
        Self {
            level: None,
            name_field: None,
            max_cells: config.grid.max_cells,
            max_field_bytes: config.ingest.max_field_bytes,
        }
    }
}

/// Polygons with more vertices than this are not checked for self-intersection (the check
/// grows faster than linearly); they are filled all the same.
const VALIDATION_VERTICES: usize = 20_000;

/// What the areas reader produced.
#[derive(Debug, Default)]
pub struct ParsedAreas {
    /// Accepted areas.
    pub areas: Vec<Area>,
    /// Their cells.
    pub cells: Vec<AreaCell>,
    /// Rejected features (`line` is the feature's 1-based position).
    pub rejects: Vec<Reject>,
    /// Features read.
    pub features: usize,
    /// Features kept but worth a look (invalid polygons, areas with no cell), each naming
    /// the feature.
    pub warnings: Vec<String>,
}

/// A feature read and checked, not yet filled.
struct Outline {
    area: Area,
    shape: geo::MultiPolygon<f64>,
    /// Cells the fill is expected to give (area ÷ the resolution's mean cell area).
    estimate: f64,
}

fn text(f: &Feature, key: &str) -> Option<String> {
    match f.property(key)? {
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn outline(
    f: &Feature,
    n: u64,
    res: Resolution,
    opts: &AreaOptions,
    warnings: &mut Vec<String>,
) -> Result<Outline, Reject> {
    if let Some((key, len)) = f
        .properties
        .iter()
        .flatten()
        .map(|(k, v)| (k, v.as_str().map_or(0, str::len)))
        .find(|(_, len)| *len > opts.max_field_bytes)
    {
        return Err(Reject::feature(
            n,
            key,
            "property too long",
            format!(
                "{len} bytes, at most {} (ingest.max_field_bytes)",
                opts.max_field_bytes
            ),
        ));
    }
    let name = match &opts.name_field {
        Some(field) => text(f, field),
        None => NAME_PROPERTIES.iter().find_map(|k| text(f, k)),
    }
    .ok_or_else(|| {
        Reject::feature(
            n,
            "name",
            "feature has no name property",
            NAME_PROPERTIES.join("/"),
        )
    })?;
    let level = opts
        .level
        .clone()
        .or_else(|| text(f, "shapeType"))
        .or_else(|| text(f, "level"))
        .unwrap_or_else(|| "area".to_owned());
    let area_id = text(f, "shapeID")
        .or_else(|| match &f.id {
            Some(Id::String(s)) => Some(s.clone()),
            Some(Id::Number(x)) => Some(x.to_string()),
            None => None,
        })
        .unwrap_or_else(|| format!("{level}-{name}"));
    let geometry = f
        .geometry
        .as_ref()
        .ok_or_else(|| Reject::feature(n, "geometry", "feature has no geometry", String::new()))?;
    let shape: geo::Geometry<f64> = geo::Geometry::try_from(&geometry.value)
        .map_err(|e| Reject::feature(n, "geometry", "unreadable geometry", e.to_string()))?;
    let multi = match shape {
        geo::Geometry::Polygon(p) => geo::MultiPolygon::new(vec![p]),
        geo::Geometry::MultiPolygon(m) => m,
        _ => {
            return Err(Reject::feature(
                n,
                "geometry",
                "not a Polygon or MultiPolygon",
                String::new(),
            ))
        }
    };
    use geo::{ChamberlainDuquetteArea, CoordsIter, Validation};
    if let Some(c) = multi
        .coords_iter()
        .find(|c| !(-180.0..=180.0).contains(&c.x) || !(-90.0..=90.0).contains(&c.y))
    {
        return Err(Reject::feature(
            n,
            "geometry",
            "coordinates outside longitude −180…180 / latitude −90…90",
            format!("{}, {}", c.x, c.y),
        ));
    }
    let vertices = multi.coords_count();
    if vertices <= VALIDATION_VERTICES {
        if let Err(why) = multi.check_validation() {
            warnings.push(format!(
                "feature {n} ({name}): invalid polygon, filled as given: {why}"
            ));
        }
    }
    let geometry_text = serde_json::to_string(geometry)
        .map_err(|e| Reject::feature(n, "geometry", "geometry cannot be stored", e.to_string()))?;
    let estimate = multi.chamberlain_duquette_unsigned_area() / res.area_m2();
    Ok(Outline {
        area: Area {
            area_id,
            name,
            level,
            parent: text(f, "parent"),
            geometry: geometry_text,
        },
        shape: multi,
        estimate,
    })
}

fn fill(o: Outline, n: u64, res: Resolution) -> Result<(Area, Vec<AreaCell>), Reject> {
    let cells = polyfill(o.shape, res)
        .map_err(|e| Reject::feature(n, "geometry", "geometry cannot be filled", e.to_string()))?;
    let cells = cells
        .into_iter()
        .map(|c| AreaCell {
            area_id: o.area.area_id.clone(),
            level: o.area.level.clone(),
            cell: u64::from(c),
        })
        .collect();
    Ok((o.area, cells))
}

/// Reads a GeoJSON FeatureCollection of areas.
pub fn read(
    file: &str,
    bytes: &[u8],
    res: Resolution,
    opts: &AreaOptions,
) -> Result<ParsedAreas, IngestError> {
    let text = std::str::from_utf8(bytes).map_err(|e| IngestError::Json {
        file: file.to_owned(),
        message: format!("not UTF-8: {e}"),
    })?;
    let gj: GeoJson = text
        .parse()
        .map_err(|e: geojson::Error| IngestError::Json {
            file: file.to_owned(),
            message: e.to_string(),
        })?;
    let features = match gj {
        GeoJson::FeatureCollection(fc) => fc.features,
        GeoJson::Feature(f) => vec![f],
        GeoJson::Geometry(_) => {
            return Err(IngestError::Json {
                file: file.to_owned(),
                message: "a bare geometry has no name; expected a Feature or FeatureCollection"
                    .into(),
            })
        }
    };
    let mut out = ParsedAreas {
        features: features.len(),
        ..ParsedAreas::default()
    };
    // Every feature is checked, and the cells of the whole file estimated, before any is
    // filled: a file that would fill more than grid.max_cells is refused at once.
    let mut outlines = Vec::with_capacity(features.len());
    for (i, f) in features.iter().enumerate() {
        match outline(f, i as u64 + 1, res, opts, &mut out.warnings) {
            Ok(o) => outlines.push((i as u64 + 1, o)),
            Err(r) => out.rejects.push(r),
        }
    }
    let estimate: f64 = outlines.iter().map(|(_, o)| o.estimate).sum();
    if estimate > opts.max_cells as f64 {
        return Err(IngestError::TooLarge {
            file: file.to_owned(),
            what: format!(
                "its areas would fill about {estimate:.0} cells at resolution {}, more than grid.max_cells = {}",
                u8::from(res),
                opts.max_cells
            ),
        });
    }
    for (n, o) in outlines {
        let name = o.area.name.clone();
        match fill(o, n, res) {
            Ok((a, cells)) => {
                if cells.is_empty() {
                    out.warnings.push(format!(
                        "feature {n} ({name}): no cell centre at resolution {} falls inside it; it has no cells",
                        u8::from(res)
                    ));
                }
                out.areas.push(a);
                out.cells.extend(cells);
            }
            Err(r) => out.rejects.push(r),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geoboundaries_feature_fills_to_cells() {
        let gj = r#"{"type":"FeatureCollection","features":[
          {"type":"Feature","properties":{"shapeName":"North","shapeID":"N1","shapeType":"ADM1"},
           "geometry":{"type":"Polygon","coordinates":[[[21.0,6.5],[21.2,6.5],[21.2,6.7],[21.0,6.7],[21.0,6.5]]]}},
          {"type":"Feature","properties":{"other":"x"},
           "geometry":{"type":"Polygon","coordinates":[[[21.0,6.5],[21.2,6.5],[21.2,6.7],[21.0,6.5]]]}}
        ]}"#;
        let p = read(
            "a.geojson",
            gj.as_bytes(),
            Resolution::Seven,
            &AreaOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.areas.len(), 1);
        assert_eq!(p.areas[0].level, "ADM1");
        assert!(p.cells.len() > 50, "{}", p.cells.len());
        assert_eq!(p.rejects[0].line, 2);
    }

    #[test]
    fn broken_json_names_the_file() {
        let err = read(
            "b.geojson",
            b"{\"type\": ",
            Resolution::Seven,
            &AreaOptions::default(),
        )
        .err();
        assert!(err
            .map(|e| e.to_string())
            .unwrap_or_default()
            .starts_with("b.geojson: "));
    }

    #[test]
    fn level_and_name_field_can_be_given() {
        let gj = r#"{"type":"FeatureCollection","features":[
          {"type":"Feature","id":7,"properties":{"SECTOR":"Sector East"},
           "geometry":{"type":"MultiPolygon","coordinates":[[[[21.0,6.5],[21.1,6.5],[21.1,6.6],[21.0,6.5]]]]}}
        ]}"#;
        let opts = AreaOptions {
            level: Some("sector".into()),
            name_field: Some("SECTOR".into()),
            ..AreaOptions::default()
        };
        let p = read("s.geojson", gj.as_bytes(), Resolution::Seven, &opts)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.areas[0].name, "Sector East");
        assert_eq!(p.areas[0].level, "sector");
        assert_eq!(p.areas[0].area_id, "7");
        assert!(p.cells.iter().all(|c| c.level == "sector"));
    }
}
