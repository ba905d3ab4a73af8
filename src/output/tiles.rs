//! What a vector tile of a snapshot holds, whoever asks for it (the server's `/tiles`, the
//! PMTiles archive of `vigil export tiles`): the H3 resolution of each zoom, the drawable
//! units of a resolution (cells, or exact roll-ups to parents), and the features of a
//! layer in a tile. Cells are selected on the tile's envelope plus a buffer, so
//! neighbouring tiles share their edge cells (no seams).

use crate::analysis::rollup::{by_resolution, RollupError};
use crate::coverage::ActiveBase;
use crate::grid::{cell_bbox, cell_from_u64};
use crate::model::cell::{CellRecord, Tier};
use crate::model::layer::Layer;
use crate::model::visibility::Audience;
use crate::output::mvt::{Feature, Geometry, TileId, Value, BUFFER};

/// Highest zoom served.
pub const MAX_ZOOM: u8 = 16;

/// The zoom from which tiles draw the grid's own cells (`base`): the highest zoom with
/// new detail. TileJSON and PMTiles end there; clients overzoom beyond it.
pub fn data_max_zoom(base: u8) -> u8 {
    (0..=MAX_ZOOM)
        .find(|z| resolution_for_zoom(*z, base) >= base)
        .unwrap_or(MAX_ZOOM)
}

/// The H3 resolution drawn at zoom `z` (a cell a few pixels wide or more), at most `base`.
pub fn resolution_for_zoom(z: u8, base: u8) -> u8 {
    let r = match z {
        0..=1 => 1,
        2 => 2,
        3..=4 => 3,
        5 => 4,
        6..=7 => 5,
        8 => 6,
        9..=10 => 7,
        11 => 8,
        _ => 9,
    };
    r.min(base)
}

/// One drawable unit of a resolution: a cell of the snapshot or a parent cell with the
/// roll-up of its children.
#[derive(Debug, Clone)]
pub struct TileUnit {
    /// H3 cell.
    pub cell: u64,
    /// `[west, south, east, north]`.
    pub bbox: [f64; 4],
    /// Boundary, (lon, lat), longitudes unwrapped around the first vertex.
    pub boundary: Vec<(f64, f64)>,
    /// Worst cell risk.
    pub risk: f64,
    /// Population-weighted mean risk.
    pub risk_mean: f64,
    /// Worst tier.
    pub tier: Tier,
    /// Base cells.
    pub cells: i64,
    /// High or critical base cells.
    pub high_cells: i64,
    /// Gap base cells.
    pub gap_cells: i64,
    /// Residents and displaced.
    pub population: f64,
}

/// A cell's boundary as (lon, lat) and its bounding box.
type Outline = (Vec<(f64, f64)>, [f64; 4]);

fn boundary(cell: u64) -> Option<Outline> {
    let c = cell_from_u64(cell).ok()?;
    let mut pts: Vec<(f64, f64)> = c.boundary().iter().map(|ll| (ll.lng(), ll.lat())).collect();
    let first = pts.first()?.0;
    for p in &mut pts {
        if p.0 - first > 180.0 {
            p.0 -= 360.0;
        } else if first - p.0 > 180.0 {
            p.0 += 360.0;
        }
    }
    Some((pts, cell_bbox(c)))
}

/// The units of a snapshot's cells at resolution `res` (the cells themselves at the grid's
/// resolution `base` or finer, their exact roll-up to parents at coarser ones).
pub fn build_units(cells: &[CellRecord], res: u8, base: u8) -> Result<Vec<TileUnit>, RollupError> {
    Ok(if res >= base {
        cells
            .iter()
            .filter_map(|r| {
                let (boundary, bbox) = boundary(r.cell)?;
                Some(TileUnit {
                    cell: r.cell,
                    bbox,
                    boundary,
                    risk: r.risk,
                    risk_mean: r.risk,
                    tier: r.tier,
                    cells: 1,
                    high_cells: i64::from(r.tier.is_high()),
                    gap_cells: i64::from(r.flags.gap),
                    population: r.population.unwrap_or(0.0) + r.displaced,
                })
            })
            .collect()
    } else {
        let h3res = crate::grid::resolution(res).map_err(RollupError::from)?;
        by_resolution(cells, h3res)?
            .into_iter()
            .filter_map(|u| {
                let cell = u.cell?;
                let (boundary, bbox) = boundary(cell)?;
                let t = u.totals;
                Some(TileUnit {
                    cell,
                    bbox,
                    boundary,
                    risk: t.risk_max,
                    risk_mean: t.risk_mean(),
                    tier: Tier::ALL
                        .iter()
                        .rev()
                        .find(|x| t.tiers[**x as usize] > 0)
                        .copied()
                        .unwrap_or(Tier::Low),
                    cells: t.cells,
                    high_cells: t.high_cells(),
                    gap_cells: t.gap_cells,
                    population: t.population + t.displaced,
                })
            })
            .collect()
    })
}

fn h3(cell: u64) -> String {
    cell_from_u64(cell)
        .map(|c| c.to_string())
        .unwrap_or_default()
}

fn round(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

/// The bases of `active` inside `tile` (with its buffer), as points.
pub fn base_features(active: &[ActiveBase<'_>], tile: TileId) -> Vec<Feature> {
    let env = tile.bounds(BUFFER);
    active
        .iter()
        .filter(|a| inside(&env, &[a.base.lon, a.base.lat, a.base.lon, a.base.lat]))
        .map(|a| {
            let (b, reach_km, protects) = (a.base, a.radius_km, a.protects);
            let (x, y) = tile.project(b.lon, b.lat);
            Feature {
                id: None,
                geometry: Geometry::Point((x.round() as i32, y.round() as i32)),
                properties: vec![
                    ("id".into(), Value::String(b.id())),
                    ("mission".into(), Value::String(b.mission.clone())),
                    ("location".into(), Value::String(b.location.clone())),
                    ("troops".into(), Value::Int(b.troops.unwrap_or(0))),
                    ("reach_km".into(), Value::Double(reach_km)),
                    ("protects".into(), Value::Bool(protects)),
                ],
            }
        })
        .collect()
}

fn inside(env: &[f64; 4], b: &[f64; 4]) -> bool {
    b[0] <= env[2] && b[2] >= env[0] && b[1] <= env[3] && b[3] >= env[1]
}

/// The cell units (of resolution `res`) of `layer` (`risk`, or `coverage-gaps`: units with
/// a gap cell) inside `tile`, with what `audience` may see.
pub fn cell_features(
    units: &[TileUnit],
    res: u8,
    layer: Layer,
    tile: TileId,
    audience: Audience,
) -> Vec<Feature> {
    let env = tile.bounds(BUFFER);
    let gaps_only = layer == Layer::CoverageGaps;
    units
        .iter()
        .filter(|u| !gaps_only || u.gap_cells > 0)
        .filter(|u| inside(&env, &u.bbox))
        .map(|u| {
            let ring: Vec<(i32, i32)> = u
                .boundary
                .iter()
                .map(|(lon, lat)| {
                    let (x, y) = tile.project(*lon, *lat);
                    (x.round() as i32, y.round() as i32)
                })
                .collect();
            let mut properties = vec![
                ("h3".into(), Value::String(h3(u.cell))),
                ("resolution".into(), Value::Int(i64::from(res))),
                ("risk".into(), Value::Double(round(u.risk))),
                ("risk_mean".into(), Value::Double(round(u.risk_mean))),
                ("tier".into(), Value::String(u.tier.as_str().into())),
                ("cells".into(), Value::Int(u.cells)),
                ("high_cells".into(), Value::Int(u.high_cells)),
                ("population".into(), Value::Double(u.population.round())),
            ];
            if audience.may_see("gap_cells") {
                properties.push(("gap_cells".into(), Value::Int(u.gap_cells)));
            }
            Feature {
                id: Some(u.cell),
                geometry: Geometry::Polygons(vec![vec![ring]]),
                properties,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zoom_to_resolution() {
        assert_eq!(resolution_for_zoom(0, 7), 1);
        assert_eq!(resolution_for_zoom(6, 7), 5);
        assert_eq!(resolution_for_zoom(9, 7), 7);
        assert_eq!(resolution_for_zoom(14, 7), 7, "never finer than the grid");
        assert_eq!(data_max_zoom(7), 9);
        assert_eq!(data_max_zoom(8), 11);
        assert_eq!(data_max_zoom(9), 12);
        assert_eq!(data_max_zoom(15), MAX_ZOOM);
        let mut last = 0;
        for z in 0..=MAX_ZOOM {
            let r = resolution_for_zoom(z, 9);
            assert!(r >= last);
            last = r;
        }
    }
}
