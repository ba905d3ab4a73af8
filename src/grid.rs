//! H3 primitives: point → cell, area → cells, disks, parents, and cell → RFC 7946 polygon.

use h3o::geom::{ContainmentMode, TilerBuilder};
use h3o::{CellIndex, LatLng, Resolution};

/// Errors of the grid layer.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum GridError {
    /// A coordinate outside the valid latitude/longitude range, or not finite.
    #[error("invalid coordinates lat={lat}, lon={lon}")]
    InvalidCoordinates {
        /// Latitude, degrees.
        lat: f64,
        /// Longitude, degrees.
        lon: f64,
    },
    /// A resolution outside 0–15.
    #[error("invalid H3 resolution {0}")]
    InvalidResolution(u8),
    /// Not an H3 cell index.
    #[error("`{0}` is not an H3 cell index")]
    InvalidCell(String),
    /// A polygon h3o cannot tile.
    #[error("invalid polygon: {0}")]
    InvalidGeometry(String),
}

/// A validated H3 resolution.
pub fn resolution(res: u8) -> Result<Resolution, GridError> {
    Resolution::try_from(res).map_err(|_| GridError::InvalidResolution(res))
}

/// The cell containing a WGS84 point.
pub fn cell_of(lat: f64, lon: f64, res: Resolution) -> Result<CellIndex, GridError> {
    if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
        return Err(GridError::InvalidCoordinates { lat, lon });
    }
    LatLng::new(lat, lon)
        .map(|ll| ll.to_cell(res))
        .map_err(|_| GridError::InvalidCoordinates { lat, lon })
}

/// Parses the H3 string form of a cell.
pub fn parse_cell(s: &str) -> Result<CellIndex, GridError> {
    s.parse::<CellIndex>()
        .map_err(|_| GridError::InvalidCell(s.chars().take(40).collect()))
}

/// A cell from its u64 form (as stored in tables).
pub fn cell_from_u64(v: u64) -> Result<CellIndex, GridError> {
    CellIndex::try_from(v).map_err(|_| GridError::InvalidCell(format!("{v:x}")))
}

/// Centre of a cell (lat, lon) in degrees.
pub fn center(cell: CellIndex) -> (f64, f64) {
    let ll = LatLng::from(cell);
    (ll.lat(), ll.lng())
}

/// Great-circle distance in km between two points given in degrees.
pub fn distance_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    const R: f64 = 6_371.007_180_918_475;
    let (la1, lo1) = (a.0.to_radians(), a.1.to_radians());
    let (la2, lo2) = (b.0.to_radians(), b.1.to_radians());
    let h = ((la2 - la1) / 2.0).sin().powi(2)
        + la1.cos() * la2.cos() * ((lo2 - lo1) / 2.0).sin().powi(2);
    2.0 * R * h.sqrt().min(1.0).asin()
}

/// A point as a unit vector, for fast exact great-circle distances between many points.
pub type Unit = [f64; 3];

/// The unit vector of a point given in degrees.
pub fn unit((lat, lon): (f64, f64)) -> Unit {
    let (la, lo) = (lat.to_radians(), lon.to_radians());
    [la.cos() * lo.cos(), la.cos() * lo.sin(), la.sin()]
}

/// Great-circle distance in km between two unit vectors (from the chord: well conditioned
/// at short range).
pub fn unit_distance_km(a: &Unit, b: &Unit) -> f64 {
    const R: f64 = 6_371.007_180_918_475;
    let (x, y, z) = (a[0] - b[0], a[1] - b[1], a[2] - b[2]);
    let chord = (x * x + y * y + z * z).sqrt();
    2.0 * R * (chord / 2.0).min(1.0).asin()
}

/// The squared chord between two unit vectors.
#[inline]
pub fn squared_chord(a: &Unit, b: &Unit) -> f64 {
    let (x, y, z) = (a[0] - b[0], a[1] - b[1], a[2] - b[2]);
    x * x + y * y + z * z
}

/// "Within `km`" between unit vectors, by the same test as [`unit_distance_km`]`(a, b) <=
/// km` but mostly without its arcsine: the squared chord is compared with bounds a hair
/// either side of the radius's, and only between them is the distance measured.
#[derive(Debug, Clone, Copy)]
pub struct WithinKm {
    km: f64,
    inside: f64,
    outside: f64,
}

impl WithinKm {
    /// The test for radius `km`.
    pub fn new(km: f64) -> Self {
        const R: f64 = 6_371.007_180_918_475;
        let chord = 2.0 * (km / (2.0 * R)).min(std::f64::consts::FRAC_PI_2).sin();
        let c2 = chord * chord;
        WithinKm {
            km,
            inside: c2 * (1.0 - 1e-9),
            outside: c2 * (1.0 + 1e-9),
        }
    }

    /// Whether `b` is within the radius of `a`.
    pub fn contains(&self, a: &Unit, b: &Unit) -> bool {
        self.contains_chord2(squared_chord(a, b), a, b)
    }

    /// [`Self::contains`] when the squared chord `c2` between `a` and `b` is known.
    #[inline]
    pub fn contains_chord2(&self, c2: f64, a: &Unit, b: &Unit) -> bool {
        if c2 < self.inside {
            true
        } else if c2 > self.outside {
            false
        } else {
            unit_distance_km(a, b) <= self.km
        }
    }
}

/// Positions of cells in a sorted list of cells of one resolution, found without hashing
/// each cell: the list is cut into blocks of the cells sharing an ancestor four resolutions
/// up (at most 2,401 cells, contiguous in sorted order); in a complete block a cell's
/// position is computed from its last four digits, in a partial one it is searched.
#[derive(Debug, Clone, Default)]
pub struct CellPositions {
    cells: Vec<u64>,
    /// Block ancestor → (first position, length).
    blocks: ahash::AHashMap<u64, (u32, u32)>,
    res: u8,
    up: u8,
}

/// The ancestor of `cell` (at resolution `res`) `up` resolutions coarser, by bit operations.
fn ancestor_bits(cell: u64, res: u8, up: u8) -> u64 {
    let parent_res = u64::from(res - up);
    // Digits of resolutions parent_res+1..=15 set to 7; the resolution field set.
    let unused_bits = (15 - parent_res) * 3;
    let mask = (1u64 << unused_bits) - 1;
    let cleared = (cell | mask) & !(0xF << 52);
    cleared | (parent_res << 52)
}

impl CellPositions {
    /// Indexes `cells`, which must be sorted, distinct and of resolution `res`.
    pub fn new(cells: Vec<u64>, res: Resolution) -> Self {
        let res = u8::from(res);
        let up = res.min(4);
        let mut blocks: ahash::AHashMap<u64, (u32, u32)> = ahash::AHashMap::new();
        let mut i = 0;
        while i < cells.len() {
            let a = ancestor_bits(cells[i], res, up);
            let mut j = i + 1;
            while j < cells.len() && ancestor_bits(cells[j], res, up) == a {
                j += 1;
            }
            blocks.insert(a, (i as u32, (j - i) as u32));
            i = j;
        }
        CellPositions {
            cells,
            blocks,
            res,
            up,
        }
    }

    /// The cells, sorted.
    pub fn cells(&self) -> &[u64] {
        &self.cells
    }

    /// Number of cells.
    pub fn len(&self) -> usize {
        self.cells.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// The position of `cell`, if listed.
    pub fn get(&self, cell: u64) -> Option<u32> {
        if (cell >> 52) & 0xF != u64::from(self.res) {
            return None;
        }
        let &(start, len) = self.blocks.get(&ancestor_bits(cell, self.res, self.up))?;
        if len == 7u32.pow(u32::from(self.up)) {
            // Complete block: the rank is the last `up` digits read in base 7.
            let mut rank = 0u32;
            for r in (self.res - self.up + 1)..=self.res {
                let digit = ((cell >> ((15 - u64::from(r)) * 3)) & 7) as u32;
                if digit > 6 {
                    return None;
                }
                rank = rank * 7 + digit;
            }
            let p = start + rank;
            return (self.cells.get(p as usize) == Some(&cell)).then_some(p);
        }
        let block = &self.cells[start as usize..(start + len) as usize];
        block.binary_search(&cell).ok().map(|i| start + i as u32)
    }
}

/// The number of rings that holds every cell whose centre is within `km` of the centre
/// cell's centre where cells have their average size (1.5 average edges a ring). Where
/// cells are smaller — away from the equator, beside pentagons — a few cells within `km`
/// lie beyond it; [`sure_rings_for_km`] holds them all.
pub fn rings_for_km(km: f64, res: Resolution) -> u32 {
    let per_ring = res.edge_length_km() * 1.5;
    (km / per_ring).ceil() as u32 + 1
}

/// The number of rings that contains every cell whose centre is within `km` of the centre
/// cell's anywhere on the globe, beside pentagons and where cells are smallest (at 65°
/// latitude a ring is 0.71 of the average [`rings_for_km`] assumes; measured the world
/// over, this bound leaves a margin of 1.2 on that).
pub fn sure_rings_for_km(km: f64, res: Resolution) -> u32 {
    let per_ring = res.edge_length_km() * 0.85;
    (km / per_ring).ceil() as u32 + 1
}

/// Cells whose centre lies inside a polygon (centroid containment, so adjacent areas get
/// disjoint cell sets). Coordinates in degrees.
pub fn polyfill(
    polygon: geo::MultiPolygon<f64>,
    res: Resolution,
) -> Result<Vec<CellIndex>, GridError> {
    let mut tiler = TilerBuilder::new(res)
        .containment_mode(ContainmentMode::ContainsCentroid)
        .build();
    for p in polygon {
        tiler
            .add(p)
            .map_err(|e| GridError::InvalidGeometry(e.to_string()))?;
    }
    let mut cells: Vec<CellIndex> = tiler.into_coverage().collect();
    cells.sort_unstable();
    cells.dedup();
    Ok(cells)
}

/// The boundary of a cell as RFC 7946 MultiPolygon coordinates: each polygon one closed,
/// counter-clockwise exterior ring of `[lon, lat]` pairs, split at the antimeridian.
pub fn cell_multipolygon(cell: CellIndex) -> Vec<Vec<[f64; 2]>> {
    let ring: Vec<[f64; 2]> = cell
        .boundary()
        .iter()
        .map(|ll| [ll.lng(), ll.lat()])
        .collect();
    let crosses = ring
        .iter()
        .zip(ring.iter().cycle().skip(1))
        .any(|(a, b)| (a[0] - b[0]).abs() > 180.0);
    let parts = if crosses {
        split_antimeridian(&ring)
    } else {
        vec![ring]
    };
    parts
        .into_iter()
        .filter(|r| r.len() >= 3)
        .map(|mut r| {
            if signed_area(&r) < 0.0 {
                r.reverse();
            }
            if let Some(first) = r.first().copied() {
                r.push(first);
            }
            r
        })
        .collect()
}

/// Twice the signed area of an open ring (positive when counter-clockwise).
pub fn signed_area(ring: &[[f64; 2]]) -> f64 {
    ring.iter()
        .zip(ring.iter().cycle().skip(1))
        .map(|(a, b)| a[0] * b[1] - b[0] * a[1])
        .sum()
}

/// Splits an open ring that crosses ±180° into its western and eastern parts.
fn split_antimeridian(ring: &[[f64; 2]]) -> Vec<Vec<[f64; 2]>> {
    // Unwrap longitudes to a continuous range around 180, then clip at x = 180.
    let shifted: Vec<[f64; 2]> = ring
        .iter()
        .map(|p| [if p[0] < 0.0 { p[0] + 360.0 } else { p[0] }, p[1]])
        .collect();
    let east = clip_half(&shifted, true)
        .into_iter()
        .map(|p| [p[0] - 360.0, p[1]])
        .collect();
    let west = clip_half(&shifted, false);
    vec![west, east]
}

/// Sutherland–Hodgman clip of a ring to x ≤ 180 (`beyond = false`) or x ≥ 180.
fn clip_half(ring: &[[f64; 2]], beyond: bool) -> Vec<[f64; 2]> {
    let inside = |p: &[f64; 2]| if beyond { p[0] >= 180.0 } else { p[0] <= 180.0 };
    let mut out = Vec::with_capacity(ring.len() + 2);
    for (a, b) in ring.iter().zip(ring.iter().cycle().skip(1)) {
        let (ia, ib) = (inside(a), inside(b));
        if ia {
            out.push(*a);
        }
        if ia != ib {
            let t = (180.0 - a[0]) / (b[0] - a[0]);
            out.push([180.0, a[1] + t * (b[1] - a[1])]);
        }
    }
    out
}

/// Bounding box `[min_lon, min_lat, max_lon, max_lat]` of a cell.
pub fn cell_bbox(cell: CellIndex) -> [f64; 4] {
    let mut b = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
    for ll in cell.boundary().iter() {
        b[0] = b[0].min(ll.lng());
        b[1] = b[1].min(ll.lat());
        b[2] = b[2].max(ll.lng());
        b[3] = b[3].max(ll.lat());
    }
    b
}

/// The outer rings of the union of `cells` (one per connected part, holes left out), each a
/// closed ring of `(lat, lon)` in degrees; empty when a cell is not a valid index or the
/// cells are of mixed resolutions.
pub fn outline(cells: &[u64]) -> Vec<Vec<(f64, f64)>> {
    let Ok(cells) = cells
        .iter()
        .map(|c| CellIndex::try_from(*c))
        .collect::<Result<std::collections::BTreeSet<CellIndex>, _>>()
    else {
        return Vec::new();
    };
    let Ok(shape) = h3o::geom::SolventBuilder::new().build().dissolve(cells) else {
        return Vec::new();
    };
    shape
        .0
        .iter()
        .map(|p| p.exterior().0.iter().map(|c| (c.y, c.x)).collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sure_rings_hold_every_cell_within_the_distance_the_world_over() {
        let mut rng = crate::model::rand::SplitMix64::new(7);
        for res in [Resolution::Three, Resolution::Five, Resolution::Seven] {
            let mut cells: Vec<CellIndex> = (0..300)
                .filter_map(|_| {
                    let lat = (2.0 * rng.next_f64() - 1.0).asin().to_degrees();
                    cell_of(lat, 360.0 * rng.next_f64() - 180.0, res).ok()
                })
                .collect();
            for p in res.pentagons() {
                cells.extend(p.grid_disk::<Vec<CellIndex>>(2));
            }
            let edge = res.edge_length_km();
            for km in [2.0 * edge, 8.0 * edge, 16.0 * edge] {
                let k = sure_rings_for_km(km, res);
                for c in &cells {
                    let here = unit(center(*c));
                    for (n, d) in c.grid_disk_distances::<Vec<(CellIndex, u32)>>(k + 4) {
                        if unit_distance_km(&here, &unit(center(n))) <= km {
                            assert!(d <= k, "{c} to {n}: {d} rings > {k} at {km} km");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn within_km_is_the_distance_test() {
        // Pairs at every distance around each radius, the world over, some exactly on it.
        for km in [0.5, 5.0, 10.0, 25.0, 50.0, 20_000.0] {
            let t = WithinKm::new(km);
            for lat in (-85i32..=85).step_by(17) {
                for step in 0..400 {
                    let a = unit((f64::from(lat), f64::from(step) * 0.9 - 180.0));
                    let dlat = (km / 111.2) * (0.9 + f64::from(step % 41) * 0.005);
                    let b = unit((f64::from(lat) + dlat, f64::from(step) * 0.9 - 180.0));
                    let d = unit_distance_km(&a, &b);
                    assert_eq!(t.contains(&a, &b), d <= km, "{km} km at {d}");
                    let on = WithinKm::new(d);
                    assert!(on.contains(&a, &b), "a pair {d} km apart is within {d} km");
                }
            }
        }
    }

    #[test]
    fn positions_are_found_in_complete_and_partial_blocks() {
        let res = Resolution::Seven;
        let origin = cell_of(6.5, 21.0, res).unwrap_or_else(|e| panic!("{e}"));
        // A full res-3 block, part of its neighbours, and a pentagon's children.
        let mut cells: Vec<u64> = origin
            .parent(Resolution::Three)
            .map(|p| p.children(res).map(u64::from).collect())
            .unwrap_or_default();
        cells.extend(
            origin
                .grid_disk::<Vec<CellIndex>>(40)
                .into_iter()
                .map(u64::from),
        );
        let pentagon = CellIndex::base_cells()
            .find(|b| b.is_pentagon())
            .unwrap_or(origin);
        cells.extend(pentagon.children(res).take(500).map(u64::from));
        cells.sort_unstable();
        cells.dedup();
        let pos = CellPositions::new(cells.clone(), res);
        for (i, c) in cells.iter().enumerate() {
            assert_eq!(pos.get(*c), Some(i as u32), "{c:x}");
        }
        let outside = cell_of(40.0, 10.0, res).map(u64::from).unwrap_or(0);
        assert_eq!(pos.get(outside), None);
        let coarser = origin.parent(Resolution::Six).map(u64::from).unwrap_or(0);
        assert_eq!(pos.get(coarser), None);
    }

    #[test]
    fn unit_vector_distance_agrees_with_haversine() {
        for (a, b) in [
            ((6.5, 21.0), (6.5, 21.2)),
            ((0.0, 179.9), (0.1, -179.9)),
            ((45.0, 5.0), (44.0, 6.0)),
        ] {
            let (h, u) = (distance_km(a, b), unit_distance_km(&unit(a), &unit(b)));
            assert!((h - u).abs() < 1e-9 * (1.0 + h), "{h} vs {u}");
        }
    }

    #[test]
    fn rings_are_closed_and_counter_clockwise() {
        let res = Resolution::Seven;
        for (lat, lon) in [(6.5, 21.0), (-33.9, 18.4), (64.1, -21.9), (0.0, 179.99)] {
            let cell = cell_of(lat, lon, res).unwrap_or_else(|e| panic!("{e}"));
            for ring in cell_multipolygon(cell) {
                assert_eq!(ring.first(), ring.last());
                assert!(signed_area(&ring[..ring.len() - 1]) > 0.0);
            }
        }
    }

    #[test]
    fn antimeridian_cells_are_split() {
        // A res-2 cell that straddles the antimeridian.
        let cell = cell_of(0.0, 180.0, Resolution::Two).unwrap_or_else(|e| panic!("{e}"));
        let parts = cell_multipolygon(cell);
        assert_eq!(parts.len(), 2);
        for ring in &parts {
            assert!(ring.iter().all(|p| (-180.0..=180.0).contains(&p[0])));
            let span = ring.iter().map(|p| p[0]).fold(f64::MIN, f64::max)
                - ring.iter().map(|p| p[0]).fold(f64::MAX, f64::min);
            assert!(span < 180.0);
        }
    }

    #[test]
    fn bad_coordinates_are_errors() {
        assert!(cell_of(91.0, 0.0, Resolution::Seven).is_err());
        assert!(cell_of(f64::NAN, 0.0, Resolution::Seven).is_err());
        assert!(parse_cell("not-a-cell").is_err());
    }

    #[test]
    fn rings_cover_the_radius() {
        let res = Resolution::Seven;
        let c = cell_of(6.5, 21.0, res).unwrap_or_else(|e| panic!("{e}"));
        let k = rings_for_km(20.0, res);
        let disk: Vec<CellIndex> = c.grid_disk(k + 3);
        let inner: std::collections::HashSet<CellIndex> =
            c.grid_disk::<Vec<_>>(k).into_iter().collect();
        for cell in disk {
            if distance_km(center(c), center(cell)) <= 20.0 {
                assert!(inner.contains(&cell));
            }
        }
    }
}
