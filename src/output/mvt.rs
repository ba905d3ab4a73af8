//! Mapbox Vector Tile 2.1 encoding (a protobuf message written by hand: the format is five
//! small messages) and the Web Mercator tile arithmetic it needs.

use std::collections::HashMap;

/// Tile extent in tile coordinates.
pub const EXTENT: u32 = 4096;
/// Buffer around the tile, in tile coordinates (features are kept when they reach into it).
pub const BUFFER: u32 = 64;

/// A tile address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TileId {
    /// Zoom.
    pub z: u8,
    /// Column.
    pub x: u32,
    /// Row (0 at the top, XYZ scheme).
    pub y: u32,
}

impl TileId {
    /// A tile, if it exists at its zoom (z ≤ 24).
    pub fn new(z: u8, x: u32, y: u32) -> Option<TileId> {
        (z <= 24 && u64::from(x) < (1u64 << z) && u64::from(y) < (1u64 << z)).then_some(TileId {
            z,
            x,
            y,
        })
    }

    /// Position of a lon/lat in this tile's coordinates (0..EXTENT inside the tile).
    pub fn project(&self, lon: f64, lat: f64) -> (f64, f64) {
        let n = 2f64.powi(i32::from(self.z));
        let lat = lat.clamp(-85.051_128_78, 85.051_128_78).to_radians();
        let gx = (lon + 180.0) / 360.0 * n;
        let gy = (1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0 * n;
        (
            (gx - f64::from(self.x)) * f64::from(EXTENT),
            (gy - f64::from(self.y)) * f64::from(EXTENT),
        )
    }

    /// The tile's bounds with a buffer of `buffer` tile units: `[west, south, east, north]`.
    pub fn bounds(&self, buffer: u32) -> [f64; 4] {
        let n = 2f64.powi(i32::from(self.z));
        let b = f64::from(buffer) / f64::from(EXTENT);
        let lon = |x: f64| x / n * 360.0 - 180.0;
        let lat = |y: f64| {
            let t = std::f64::consts::PI * (1.0 - 2.0 * y / n);
            t.sinh().atan().to_degrees()
        };
        let (x, y) = (f64::from(self.x), f64::from(self.y));
        [
            lon(x - b).max(-180.0),
            lat(y + 1.0 + b).max(-85.051_128_78),
            lon(x + 1.0 + b).min(180.0),
            lat(y - b).min(85.051_128_78),
        ]
    }
}

/// A property value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Text.
    String(String),
    /// A double.
    Double(f64),
    /// An integer.
    Int(i64),
    /// A boolean.
    Bool(bool),
}

/// A feature's geometry in tile coordinates.
#[derive(Debug, Clone, PartialEq)]
pub enum Geometry {
    /// A point.
    Point((i32, i32)),
    /// Polygons, each a list of rings (first exterior, then holes), unclosed.
    Polygons(Vec<Vec<Vec<(i32, i32)>>>),
}

/// One feature.
#[derive(Debug, Clone, PartialEq)]
pub struct Feature {
    /// Identifier.
    pub id: Option<u64>,
    /// Geometry.
    pub geometry: Geometry,
    /// Properties.
    pub properties: Vec<(String, Value)>,
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn key(out: &mut Vec<u8>, field: u32, wire: u8) {
    varint(out, (u64::from(field) << 3) | u64::from(wire));
}

fn bytes(out: &mut Vec<u8>, field: u32, b: &[u8]) {
    key(out, field, 2);
    varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

fn packed(out: &mut Vec<u8>, field: u32, values: &[u32]) {
    let mut body = Vec::with_capacity(values.len() * 2);
    for v in values {
        varint(&mut body, u64::from(*v));
    }
    bytes(out, field, &body);
}

fn zigzag(v: i32) -> u32 {
    ((v << 1) ^ (v >> 31)) as u32
}

fn command(id: u32, count: u32) -> u32 {
    (id & 7) | (count << 3)
}

/// Twice the signed area of a ring in tile coordinates (y down): positive = clockwise on
/// screen, which MVT 2 requires of exterior rings.
fn area2(ring: &[(i32, i32)]) -> i64 {
    let n = ring.len();
    (0..n)
        .map(|i| {
            let (a, b) = (ring[i], ring[(i + 1) % n]);
            i64::from(a.0) * i64::from(b.1) - i64::from(b.0) * i64::from(a.1)
        })
        .sum()
}

fn encode_geometry(g: &Geometry) -> (u32, Vec<u32>) {
    let mut cmds = Vec::new();
    let mut cur = (0i32, 0i32);
    match g {
        Geometry::Point(p) => {
            cmds.push(command(1, 1));
            cmds.push(zigzag(p.0));
            cmds.push(zigzag(p.1));
            (1, cmds)
        }
        Geometry::Polygons(polys) => {
            for poly in polys {
                for (k, ring) in poly.iter().enumerate() {
                    // Drop repeated points; a ring needs three distinct ones.
                    let mut r: Vec<(i32, i32)> = Vec::with_capacity(ring.len());
                    for p in ring {
                        if r.last() != Some(p) {
                            r.push(*p);
                        }
                    }
                    while r.len() > 1 && r.first() == r.last() {
                        r.pop();
                    }
                    if r.len() < 3 || area2(&r) == 0 {
                        continue;
                    }
                    // Exterior rings clockwise on screen (positive area), holes the other way.
                    if (k == 0) != (area2(&r) > 0) {
                        r.reverse();
                    }
                    cmds.push(command(1, 1));
                    cmds.push(zigzag(r[0].0 - cur.0));
                    cmds.push(zigzag(r[0].1 - cur.1));
                    cur = r[0];
                    cmds.push(command(2, (r.len() - 1) as u32));
                    for p in &r[1..] {
                        cmds.push(zigzag(p.0 - cur.0));
                        cmds.push(zigzag(p.1 - cur.1));
                        cur = *p;
                    }
                    cmds.push(command(7, 1));
                }
            }
            (3, cmds)
        }
    }
}

fn encode_value(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    match v {
        Value::String(s) => bytes(&mut out, 1, s.as_bytes()),
        Value::Double(d) => {
            key(&mut out, 3, 1);
            out.extend_from_slice(&d.to_le_bytes());
        }
        Value::Int(i) => {
            key(&mut out, 6, 0);
            varint(&mut out, ((i << 1) ^ (i >> 63)) as u64);
        }
        Value::Bool(b) => {
            key(&mut out, 7, 0);
            varint(&mut out, u64::from(*b));
        }
    }
    out
}

/// Encodes one layer as a whole tile (`None` when no feature has a geometry left).
pub fn encode_tile(layer: &str, features: &[Feature]) -> Option<Vec<u8>> {
    let mut keys: Vec<String> = Vec::new();
    let mut key_ix: HashMap<String, u32> = HashMap::new();
    let mut values: Vec<Vec<u8>> = Vec::new();
    let mut value_ix: HashMap<Vec<u8>, u32> = HashMap::new();
    let mut body = Vec::new();
    key(&mut body, 15, 0);
    varint(&mut body, 2);
    bytes(&mut body, 1, layer.as_bytes());
    let mut any = false;
    for f in features {
        let (kind, geometry) = encode_geometry(&f.geometry);
        if geometry.is_empty() {
            continue;
        }
        any = true;
        let mut tags = Vec::with_capacity(f.properties.len() * 2);
        for (k, v) in &f.properties {
            let ki = *key_ix.entry(k.clone()).or_insert_with(|| {
                keys.push(k.clone());
                (keys.len() - 1) as u32
            });
            let enc = encode_value(v);
            let vi = match value_ix.get(&enc) {
                Some(i) => *i,
                None => {
                    values.push(enc.clone());
                    let i = (values.len() - 1) as u32;
                    value_ix.insert(enc, i);
                    i
                }
            };
            tags.push(ki);
            tags.push(vi);
        }
        let mut fb = Vec::new();
        if let Some(id) = f.id {
            key(&mut fb, 1, 0);
            varint(&mut fb, id);
        }
        packed(&mut fb, 2, &tags);
        key(&mut fb, 3, 0);
        varint(&mut fb, u64::from(kind));
        packed(&mut fb, 4, &geometry);
        bytes(&mut body, 2, &fb);
    }
    if !any {
        return None;
    }
    for k in &keys {
        bytes(&mut body, 3, k.as_bytes());
    }
    for v in &values {
        bytes(&mut body, 4, v);
    }
    key(&mut body, 5, 0);
    varint(&mut body, u64::from(EXTENT));
    let mut tile = Vec::with_capacity(body.len() + 8);
    bytes(&mut tile, 3, &body);
    Some(tile)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_arithmetic() {
        assert!(TileId::new(0, 0, 0).is_some());
        assert!(TileId::new(1, 2, 0).is_none());
        assert!(TileId::new(25, 0, 0).is_none());
        let t = TileId::new(0, 0, 0).unwrap_or(TileId { z: 0, x: 0, y: 0 });
        let (x, y) = t.project(0.0, 0.0);
        assert!((x - 2048.0).abs() < 1e-9 && (y - 2048.0).abs() < 1e-9);
        let b = t.bounds(0);
        assert!((b[0] + 180.0).abs() < 1e-9 && (b[3] - 85.0511).abs() < 1e-3);
        // z1: the north-east tile.
        let ne = TileId { z: 1, x: 1, y: 0 };
        let b = ne.bounds(0);
        assert!(b[0].abs() < 1e-9 && b[1].abs() < 1e-9);
    }

    #[test]
    fn encoding_matches_the_specification_example() {
        // MVT spec 4.3.5.1: a point at (25, 17) is [9, 50, 34].
        let (kind, g) = encode_geometry(&Geometry::Point((25, 17)));
        assert_eq!((kind, g), (1, vec![9, 50, 34]));
        // 4.3.5.3: polygon (3,6) (8,12) (20,34) → [9, 6, 12, 18, 10, 12, 24, 44, 15].
        let (kind, g) = encode_geometry(&Geometry::Polygons(vec![vec![vec![
            (3, 6),
            (8, 12),
            (20, 34),
        ]]]));
        assert_eq!((kind, g), (3, vec![9, 6, 12, 18, 10, 12, 24, 44, 15]));
        assert_eq!(zigzag(-1), 1);
        assert_eq!(zigzag(1), 2);
        assert!(encode_tile("x", &[]).is_none());
    }
}
