//! The loaded areas as the engine uses them: the `area_cells` table read column-wise, the
//! ADM1/ADM2 index that admin-level events are spread over, and each cell's area name.

use super::ScoreError;
use crate::grid::CellPositions;
use crate::model::rows::{Area, AreaCell, Table};
use crate::store::Store;
use std::collections::HashMap;

/// No grid position, no name.
pub(super) const NONE: u32 = u32::MAX;

/// The `area_cells` table read column-wise (no allocation per row).
#[derive(Debug, Clone, Default)]
pub struct AreaCells {
    /// Cell of each row.
    pub cell: Vec<u64>,
    /// Area of each row (index into `areas`).
    pub area: Vec<u32>,
    /// (level, area id) of each area.
    pub areas: Vec<(String, String)>,
}

impl AreaCells {
    /// Reads the store's `area_cells` table (empty when none is loaded).
    pub fn load(store: &Store) -> Result<Self, ScoreError> {
        let Some(df) = store.read_frame(AreaCell::NAME)? else {
            return Ok(AreaCells::default());
        };
        let cell = df.column("cell")?.u64()?;
        let id = df.column("area_id")?.str()?;
        let level = df.column("level")?.str()?;
        let mut out = AreaCells::default();
        let mut known: ahash::AHashMap<(&str, &str), u32> = ahash::AHashMap::new();
        for i in 0..df.height() {
            let (Some(c), Some(a), Some(l)) = (cell.get(i), id.get(i), level.get(i)) else {
                continue;
            };
            let next = out.areas.len() as u32;
            let k = *known.entry((l, a)).or_insert_with(|| {
                out.areas.push((l.to_owned(), a.to_owned()));
                next
            });
            out.cell.push(c);
            out.area.push(k);
        }
        Ok(out)
    }

    /// From rows (tests, small tables).
    pub fn from_rows(rows: &[AreaCell]) -> Self {
        let mut out = AreaCells::default();
        let mut known: HashMap<(&str, &str), u32> = HashMap::new();
        for r in rows {
            let next = out.areas.len() as u32;
            let k = *known
                .entry((r.level.as_str(), r.area_id.as_str()))
                .or_insert_with(|| {
                    out.areas.push((r.level.clone(), r.area_id.clone()));
                    next
                });
            out.cell.push(r.cell);
            out.area.push(k);
        }
        out
    }

    /// True when no area is loaded.
    pub fn is_empty(&self) -> bool {
        self.cell.is_empty()
    }
}

/// Admin level of an admin-located event.
fn admin_level(level: &str) -> Option<u8> {
    if level.eq_ignore_ascii_case("ADM1") {
        Some(1)
    } else if level.eq_ignore_ascii_case("ADM2") {
        Some(2)
    } else {
        None
    }
}

/// The cells of the loaded ADM1 and ADM2 areas, to spread admin-level events over their
/// area.
#[derive(Debug, Default)]
pub struct AreaIndex {
    by_cell: ahash::AHashMap<(u8, u64), u32>,
    cells: Vec<Vec<u64>>,
}

impl AreaIndex {
    /// Indexes the ADM1 and ADM2 areas of `t` by (level, cell).
    pub fn new(t: &AreaCells) -> Self {
        let mut index = AreaIndex::default();
        let mut group: HashMap<u32, u32> = HashMap::new();
        for (c, a) in t.cell.iter().zip(&t.area) {
            let Some(level) = admin_level(&t.areas[*a as usize].0) else {
                continue;
            };
            let next = index.cells.len() as u32;
            let g = *group.entry(*a).or_insert(next);
            if g == next {
                index.cells.push(Vec::new());
            }
            index.cells[g as usize].push(*c);
            index.by_cell.insert((level, *c), g);
        }
        index
    }

    /// The cells of the `level` area (`ADM1`, `ADM2`) containing `cell`.
    pub fn area_of(&self, level: &str, cell: u64) -> Option<&[u64]> {
        let l = admin_level(level)?;
        self.by_cell
            .get(&(l, cell))
            .map(|i| self.cells[*i as usize].as_slice())
    }
}

/// Name index of each universe position at the first loaded level (alphabetically: ADM1
/// before ADM2).
pub(super) fn first_level_names(
    areas: &[Area],
    cells: &AreaCells,
    pos: &CellPositions,
    n: usize,
) -> (Vec<std::sync::Arc<str>>, Vec<u32>) {
    let mut out = vec![NONE; n];
    let Some(level) = areas.iter().map(|a| a.level.as_str()).min() else {
        return (Vec::new(), out);
    };
    let mut names = Vec::new();
    let mut ids: HashMap<&str, u32> = HashMap::new();
    for a in areas.iter().filter(|a| a.level == level) {
        ids.insert(a.area_id.as_str(), names.len() as u32);
        names.push(std::sync::Arc::from(a.name.as_str()));
    }
    let name_of: Vec<u32> = cells
        .areas
        .iter()
        .map(|(l, id)| {
            if l == level {
                ids.get(id.as_str()).copied().unwrap_or(NONE)
            } else {
                NONE
            }
        })
        .collect();
    for (c, a) in cells.cell.iter().zip(&cells.area) {
        let i = name_of[*a as usize];
        if i != NONE {
            if let Some(p) = pos.get(*c) {
                out[p as usize] = i;
            }
        }
    }
    (names, out)
}
