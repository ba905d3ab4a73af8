//! The geometry of an exported row — a point (events, bases) or a multipolygon (H3 cells,
//! areas) in OGC:CRS84 longitude/latitude — and its OGC Well-Known Binary encoding, the
//! geometry column of GeoParquet and the body of a GeoPackage geometry.

use crate::grid::cell_multipolygon;
use crate::output::render::round6;
use h3o::CellIndex;

/// A row's geometry. Polygons are always carried as multipolygons so that a layer has one
/// geometry type (a cell split at the antimeridian is two polygons).
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// `[lon, lat]`.
    Point([f64; 2]),
    /// Polygons, each a list of closed rings (exterior first) of `[lon, lat]`.
    MultiPolygon(Vec<Vec<Vec<[f64; 2]>>>),
}

/// The geometry type of a layer, as GeoParquet and GeoPackage name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Points.
    Point,
    /// Multipolygons.
    MultiPolygon,
}

impl Kind {
    /// GeoParquet's `geometry_types` name.
    pub fn geoparquet_name(self) -> &'static str {
        match self {
            Kind::Point => "Point",
            Kind::MultiPolygon => "MultiPolygon",
        }
    }

    /// GeoPackage's `geometry_type_name`.
    pub fn gpkg_name(self) -> &'static str {
        match self {
            Kind::Point => "POINT",
            Kind::MultiPolygon => "MULTIPOLYGON",
        }
    }
}

impl Shape {
    /// The boundary of an H3 cell.
    pub fn cell(cell: CellIndex) -> Shape {
        Shape::MultiPolygon(
            cell_multipolygon(cell)
                .into_iter()
                .map(|r| vec![r])
                .collect(),
        )
    }

    /// A point, or nothing when a coordinate is not finite.
    pub fn point(lat: f64, lon: f64) -> Option<Shape> {
        (lat.is_finite() && lon.is_finite()).then_some(Shape::Point([lon, lat]))
    }

    /// A Point, Polygon or MultiPolygon given as GeoJSON geometry text (the stored areas,
    /// the features of the published layers); other types and malformed text give nothing.
    pub fn from_geojson(text: &str) -> Option<Shape> {
        use geojson::GeometryValue;
        let geometry: geojson::Geometry = text.parse().ok()?;
        let polygon = |rings: &Vec<Vec<geojson::Position>>| -> Vec<Vec<[f64; 2]>> {
            rings
                .iter()
                .map(|ring| {
                    ring.iter()
                        .filter_map(|p| match p.as_slice() {
                            [x, y, ..] => Some([*x, *y]),
                            _ => None,
                        })
                        .collect()
                })
                .collect()
        };
        match &geometry.value {
            GeometryValue::Point { coordinates } => match coordinates.as_slice() {
                [x, y, ..] => Shape::point(*y, *x),
                _ => None,
            },
            GeometryValue::Polygon { coordinates } => {
                Some(Shape::MultiPolygon(vec![polygon(coordinates)]))
            }
            GeometryValue::MultiPolygon { coordinates } => Some(Shape::MultiPolygon(
                coordinates.iter().map(polygon).collect(),
            )),
            _ => None,
        }
    }

    /// Its geometry type.
    pub fn kind(&self) -> Kind {
        match self {
            Shape::Point(_) => Kind::Point,
            Shape::MultiPolygon(_) => Kind::MultiPolygon,
        }
    }

    /// `[min_lon, min_lat, max_lon, max_lat]`.
    pub fn bbox(&self) -> [f64; 4] {
        let mut b = [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ];
        let mut add = |p: &[f64; 2]| {
            b[0] = b[0].min(p[0]);
            b[1] = b[1].min(p[1]);
            b[2] = b[2].max(p[0]);
            b[3] = b[3].max(p[1]);
        };
        match self {
            Shape::Point(p) => add(p),
            Shape::MultiPolygon(polys) => polys.iter().flatten().flatten().for_each(add),
        }
        b
    }

    /// RFC 7946 geometry text (coordinates to 6 decimals, as every GeoJSON output).
    pub fn geojson(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let coord = |out: &mut String, p: &[f64; 2]| {
            let _ = write!(out, "[{},{}]", round6(p[0]), round6(p[1]));
        };
        match self {
            Shape::Point(p) => {
                out.push_str("{\"type\":\"Point\",\"coordinates\":");
                coord(&mut out, p);
            }
            Shape::MultiPolygon(polys) => {
                out.push_str("{\"type\":\"MultiPolygon\",\"coordinates\":[");
                for (i, rings) in polys.iter().enumerate() {
                    out.push_str(if i > 0 { ",[" } else { "[" });
                    for (j, ring) in rings.iter().enumerate() {
                        out.push_str(if j > 0 { ",[" } else { "[" });
                        for (k, p) in ring.iter().enumerate() {
                            if k > 0 {
                                out.push(',');
                            }
                            coord(&mut out, p);
                        }
                        out.push(']');
                    }
                    out.push(']');
                }
                out.push(']');
            }
        }
        out.push('}');
        out
    }

    /// OGC Well-Known Text (coordinates to 6 decimals), the geometry column of CSV
    /// outputs that GDAL and QGIS read as a geometry.
    pub fn wkt(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        match self {
            Shape::Point(p) => {
                let _ = write!(out, "POINT ({} {})", round6(p[0]), round6(p[1]));
            }
            Shape::MultiPolygon(polys) => {
                out.push_str("MULTIPOLYGON (");
                for (i, rings) in polys.iter().enumerate() {
                    out.push_str(if i > 0 { ", (" } else { "(" });
                    for (j, ring) in rings.iter().enumerate() {
                        out.push_str(if j > 0 { ", (" } else { "(" });
                        for (k, p) in ring.iter().enumerate() {
                            let sep = if k > 0 { ", " } else { "" };
                            let _ = write!(out, "{sep}{} {}", round6(p[0]), round6(p[1]));
                        }
                        out.push(')');
                    }
                    out.push(')');
                }
                out.push(')');
            }
        }
        out
    }

    /// ISO/OGC Well-Known Binary, little-endian, two dimensions.
    pub fn wkb(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_wkb(&mut out);
        out
    }

    /// Appends the WKB encoding to `out`.
    pub fn write_wkb(&self, out: &mut Vec<u8>) {
        let head = |out: &mut Vec<u8>, code: u32| {
            out.push(1);
            out.extend_from_slice(&code.to_le_bytes());
        };
        let count = |out: &mut Vec<u8>, n: usize| {
            out.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes());
        };
        let coord = |out: &mut Vec<u8>, p: &[f64; 2]| {
            out.extend_from_slice(&p[0].to_le_bytes());
            out.extend_from_slice(&p[1].to_le_bytes());
        };
        match self {
            Shape::Point(p) => {
                head(out, 1);
                coord(out, p);
            }
            Shape::MultiPolygon(polys) => {
                head(out, 6);
                count(out, polys.len());
                for rings in polys {
                    head(out, 3);
                    count(out, rings.len());
                    for ring in rings {
                        count(out, ring.len());
                        ring.iter().for_each(|p| coord(out, p));
                    }
                }
            }
        }
    }
}

/// The union of bounding boxes, or `None` for no shape.
pub fn extent<'a>(shapes: impl IntoIterator<Item = &'a Shape>) -> Option<[f64; 4]> {
    shapes.into_iter().map(Shape::bbox).reduce(|a, b| {
        [
            a[0].min(b[0]),
            a[1].min(b[1]),
            a[2].max(b[2]),
            a[3].max(b[3]),
        ]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_point_is_21_bytes_of_little_endian_wkb() {
        let wkb = Shape::Point([18.5, 4.25]).wkb();
        assert_eq!(wkb.len(), 21);
        assert_eq!(&wkb[..5], &[1, 1, 0, 0, 0]);
        assert_eq!(f64::from_le_bytes(wkb[5..13].try_into().unwrap()), 18.5);
        assert_eq!(f64::from_le_bytes(wkb[13..21].try_into().unwrap()), 4.25);
    }

    #[test]
    fn a_cell_is_one_closed_polygon_of_seven_points() {
        let cell = crate::grid::cell_of(4.36, 18.55, crate::grid::resolution(7).unwrap()).unwrap();
        let shape = Shape::cell(cell);
        let Shape::MultiPolygon(polys) = &shape else {
            panic!("not a multipolygon")
        };
        assert_eq!(polys.len(), 1);
        assert_eq!(polys[0][0].len(), 7);
        assert_eq!(polys[0][0][0], polys[0][0][6]);
        // 1 + 4 + 4 (polygons) + 1 + 4 + 4 (rings) + 4 (points) + 7 × 16.
        assert_eq!(shape.wkb().len(), 9 + 9 + 4 + 7 * 16);
        assert_eq!(shape.geojson(), crate::output::render::cell_geometry(cell));
        let b = shape.bbox();
        assert!(b[0] < 18.55 && 18.55 < b[2] && b[1] < 4.36 && 4.36 < b[3]);
    }

    #[test]
    fn polygons_from_geojson_become_multipolygons() {
        let p =
            Shape::from_geojson(r#"{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}"#)
                .unwrap();
        assert_eq!(p.kind(), Kind::MultiPolygon);
        assert_eq!(p.bbox(), [0.0, 0.0, 1.0, 1.0]);
        assert_eq!(
            Shape::from_geojson("{\"type\":\"Point\",\"coordinates\":[1,2]}"),
            Shape::point(2.0, 1.0)
        );
        assert_eq!(
            Shape::from_geojson("{\"type\":\"LineString\",\"coordinates\":[[1,2],[3,4]]}"),
            None
        );
        assert_eq!(Shape::from_geojson("not json"), None);
        assert_eq!(p.wkt(), "MULTIPOLYGON (((0 0, 1 0, 1 1, 0 0)))");
        assert_eq!(
            Shape::point(2.0, 1.5).map(|s| s.wkt()).as_deref(),
            Some("POINT (1.5 2)")
        );
        assert_eq!(Shape::point(f64::NAN, 1.0), None);
    }
}
