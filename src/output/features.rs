//! The features of the published layers, one function per layer: the id, the geometry
//! (GeoJSON text) and the properties that the OGC API items, the field kit's GeoPackage
//! and every other feature output write, so that each layer has one set of fields.

use crate::analysis::rollup::Totals;
use crate::coverage::ActiveBase;
use crate::grid::cell_from_u64;
use crate::model::cell::CellRecord;
use crate::model::day::format_date;
use crate::model::rows::{Area, AreaCell, Event, IdpSite};
use crate::model::visibility::Audience;
use crate::output::render::{cell_geometry, cell_properties, num, point_geometry};
use crate::store::snapshot::Snapshot;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// An IDP site as a feature: id `site@h3`.
pub fn idp_site(s: &IdpSite, date: &str) -> Feature {
    let h3 = cell_from_u64(s.cell)
        .map(|c| c.to_string())
        .unwrap_or_default();
    let mut m = Map::new();
    m.insert("site".into(), json!(s.site));
    m.insert("population".into(), num(s.population));
    m.insert("assessed".into(), json!(s.date.map(format_date)));
    m.insert("h3".into(), json!(h3));
    m.insert("date".into(), json!(date));
    (format!("{}@{h3}", s.site), point_geometry(s.lat, s.lon), m)
}

/// One feature ready to be written: id, geometry (GeoJSON text) and properties.
pub type Feature = (String, String, Map<String, Value>);

/// A snapshot cell: id its H3 string, what `audience` may see.
pub fn cell(r: &CellRecord, date: &str, audience: Audience) -> Feature {
    let mut props = cell_properties(r, date);
    audience.redact(&mut props);
    let id = props
        .get("h3")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let geometry = cell_from_u64(r.cell)
        .map(cell_geometry)
        .unwrap_or_else(|_| "null".into());
    (id, geometry, props)
}

/// A base active on `date` with its reach that day: id `Base::id`.
pub fn base(a: &ActiveBase<'_>, date: &str) -> Feature {
    let b = a.base;
    let mut m = Map::new();
    m.insert("mission".into(), json!(b.mission));
    m.insert("location".into(), json!(b.location));
    m.insert("troops".into(), json!(b.troops));
    m.insert("reach_km".into(), num(a.radius_km));
    m.insert("protects".into(), json!(a.protects));
    m.insert("rainy_season_reduced".into(), json!(a.reduced));
    m.insert("infantry".into(), json!(b.infantry));
    m.insert("fpu".into(), json!(b.fpu));
    m.insert("unpol".into(), json!(b.unpol));
    m.insert("observers".into(), json!(b.observers));
    m.insert("valid_from".into(), json!(format_date(b.valid_from)));
    m.insert("valid_to".into(), json!(format_date(b.valid_to)));
    m.insert("date".into(), json!(date));
    (b.id(), point_geometry(b.lat, b.lon), m)
}

/// An event: id `source:source_id`.
pub fn event(e: &Event) -> Feature {
    let mut m = Map::new();
    m.insert("source".into(), json!(e.source));
    m.insert("source_id".into(), json!(e.source_id));
    m.insert("date_start".into(), json!(format_date(e.date_start)));
    m.insert("date_end".into(), json!(format_date(e.date_end)));
    m.insert("category".into(), json!(e.category.as_str()));
    m.insert("precision".into(), json!(e.precision.as_str()));
    m.insert("fatalities".into(), json!(e.fatalities));
    m.insert("civilian_fatalities".into(), json!(e.civilian_fatalities));
    m.insert("actor1".into(), json!(e.actor1));
    m.insert("actor2".into(), json!(e.actor2));
    m.insert("admin1".into(), json!(e.admin1));
    m.insert("admin2".into(), json!(e.admin2));
    m.insert("duplicate_of".into(), json!(e.duplicate_of));
    m.insert(
        "h3".into(),
        json!(e
            .cell
            .and_then(|c| cell_from_u64(c).ok())
            .map(|c| c.to_string())),
    );
    (
        format!("{}:{}", e.source, e.source_id),
        point_geometry(e.lat, e.lon),
        m,
    )
}

/// The areas of every level (or of `level`) with their summaries on the snapshot `snap`:
/// id the area id; totals `audience` may not see are left out.
pub fn areas(
    snap: &Snapshot,
    areas: &[Area],
    area_cells: &[AreaCell],
    audience: Audience,
    level: Option<&str>,
) -> Vec<Feature> {
    let mut levels: Vec<&str> = areas.iter().map(|a| a.level.as_str()).collect();
    levels.sort_unstable();
    levels.dedup();
    let cells = &snap.cells;
    let mut out = Vec::new();
    for l in levels.into_iter().filter(|l| level.is_none_or(|x| x == *l)) {
        // By area id: names repeat (ADM3 units, an area called `all`), ids do not.
        let units: HashMap<String, Totals> =
            crate::analysis::rollup::by_area(cells, l, areas, area_cells)
                .into_iter()
                .filter_map(|u| Some((u.area_id?, u.totals)))
                .collect();
        for a in areas.iter().filter(|a| a.level == l) {
            let t = units.get(&a.area_id).copied().unwrap_or_default();
            let mut m = Map::new();
            m.insert("area_id".into(), json!(a.area_id));
            m.insert("name".into(), json!(a.name));
            m.insert("level".into(), json!(a.level));
            m.insert("date".into(), json!(snap.date));
            m.insert("cells".into(), json!(t.cells));
            m.insert("population".into(), num(t.population));
            m.insert("high_cells".into(), json!(t.high_cells()));
            m.insert("risk_mean".into(), num(t.risk_mean()));
            m.insert("risk_max".into(), num(t.risk_max));
            m.insert(
                "civilian_fatalities_30d".into(),
                json!(t.civilian_fatalities_30d),
            );
            m.insert(
                "civilian_fatalities_90d".into(),
                json!(t.civilian_fatalities_90d),
            );
            m.insert("covered_cells".into(), json!(t.covered_cells));
            m.insert("gap_cells".into(), json!(t.gap_cells));
            m.insert("population_in_gaps".into(), num(t.population_in_gaps));
            m.insert("gap_hit_rate_30d".into(), json!(t.gap_hit_rate(30)));
            m.insert("gap_hit_rate_90d".into(), json!(t.gap_hit_rate(90)));
            audience.redact(&mut m);
            out.push((a.area_id.clone(), a.geometry.clone(), m));
        }
    }
    out
}
