//! Output encodings shared by `export` and `api`: RFC 7946 GeoJSON features for cells and
//! points, CSV and JSON values of DataFrame rows. Cells always leave Vigil as H3 strings in a
//! property or column named `h3`.

use crate::grid::{cell_from_u64, cell_multipolygon};
use crate::model::cell::CellRecord;
use crate::model::day::format_date;
use polars::prelude::*;
use serde_json::{Map, Value};
use std::fmt::Write as _;

/// Rounds to 6 decimals (≈0.1 m), the precision of every coordinate Vigil writes.
pub fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

fn push_coord(out: &mut String, lon: f64, lat: f64) {
    let _ = write!(out, "[{},{}]", round6(lon), round6(lat));
}

/// The MultiPolygon geometry of a cell as GeoJSON text.
pub fn cell_geometry(cell: h3o::CellIndex) -> String {
    let mut out = String::from("{\"type\":\"MultiPolygon\",\"coordinates\":[");
    for (i, ring) in cell_multipolygon(cell).iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("[[");
        for (j, p) in ring.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            push_coord(&mut out, p[0], p[1]);
        }
        out.push_str("]]");
    }
    out.push_str("]}");
    out
}

/// A Point geometry as GeoJSON text.
pub fn point_geometry(lat: f64, lon: f64) -> String {
    let mut out = String::from("{\"type\":\"Point\",\"coordinates\":");
    push_coord(&mut out, lon, lat);
    out.push('}');
    out
}

/// Appends one Feature.
pub fn push_feature(
    out: &mut String,
    id: Option<&str>,
    geometry: &str,
    properties: &Map<String, Value>,
) {
    out.push_str("{\"type\":\"Feature\",");
    if let Some(id) = id {
        out.push_str("\"id\":");
        out.push_str(&serde_json::to_string(id).unwrap_or_else(|_| "null".into()));
        out.push(',');
    }
    let _ = write!(out, "\"geometry\":{geometry},\"properties\":");
    // Serialised in place: no copy of the map.
    out.push_str(&serde_json::to_string(properties).unwrap_or_else(|_| "{}".into()));
    out.push('}');
}

/// A GeoJSON feature served on its own, with its `links` (OGC API – Features `self`,
/// `collection`).
pub fn push_item(
    out: &mut String,
    id: &str,
    geometry: &str,
    properties: &Map<String, Value>,
    links: &Value,
) {
    push_feature(out, Some(id), geometry, properties);
    out.pop();
    out.push_str(",\"links\":");
    out.push_str(&links.to_string());
    out.push('}');
}

/// A number rounded to 6 decimals as JSON (null when not finite).
pub fn num(x: f64) -> Value {
    serde_json::Number::from_f64(round6(x)).map_or(Value::Null, Value::Number)
}

fn opt_num(x: Option<f64>) -> Value {
    x.map_or(Value::Null, num)
}

/// The properties of a snapshot cell, as served and exported.
pub fn cell_properties(r: &CellRecord, date: &str) -> Map<String, Value> {
    let h3 = cell_from_u64(r.cell)
        .map(|c| c.to_string())
        .unwrap_or_default();
    let mut m = Map::new();
    m.insert("h3".into(), Value::String(h3));
    m.insert("date".into(), Value::String(date.to_owned()));
    m.insert(
        "area".into(),
        r.area
            .as_deref()
            .map_or(Value::Null, |a| Value::String(a.to_owned())),
    );
    m.insert("risk".into(), num(r.risk));
    m.insert("tier".into(), Value::String(r.tier.as_str().into()));
    m.insert("probability".into(), opt_num(r.probability));
    m.insert("watch".into(), Value::Bool(r.watch));
    m.insert("hazard".into(), num(r.hazard));
    m.insert("harm".into(), num(r.harm));
    m.insert("conflict".into(), num(r.conflict));
    m.insert("spread".into(), num(r.spread));
    m.insert("baseline".into(), num(r.baseline));
    m.insert("escalation".into(), num(r.escalation));
    m.insert("climate".into(), num(r.climate));
    m.insert("exposure".into(), num(r.exposure));
    m.insert("population".into(), opt_num(r.population));
    m.insert("displaced".into(), num(r.displaced));
    m.insert("harm_share".into(), num(r.harm_share));
    m.insert("conflict_share".into(), num(r.conflict_share));
    m.insert("spread_share".into(), num(r.spread_share));
    m.insert("baseline_share".into(), num(r.baseline_share));
    m.insert("escalation_share".into(), num(r.escalation_share));
    m.insert("climate_share".into(), num(r.climate_share));
    m.insert("delta_risk".into(), opt_num(r.delta_risk));
    m.insert(
        "prev_tier".into(),
        r.prev_tier
            .map_or(Value::Null, |t| Value::String(t.as_str().into())),
    );
    m.insert("events".into(), Value::from(r.events));
    m.insert("precise_share".into(), opt_num(r.precise_share));
    m.insert(
        "civilian_fatalities_30d".into(),
        Value::from(r.civilian_fatalities_30d),
    );
    m.insert(
        "civilian_fatalities_90d".into(),
        Value::from(r.civilian_fatalities_90d),
    );
    m.insert("covered".into(), Value::Bool(r.coverage.covered));
    m.insert("presence".into(), Value::Bool(r.coverage.presence));
    m.insert(
        "nearest_base".into(),
        r.coverage
            .nearest_base
            .as_deref()
            .map_or(Value::Null, |b| Value::String(b.to_owned())),
    );
    m.insert(
        "nearest_base_km".into(),
        opt_num(r.coverage.nearest_base_km),
    );
    m.insert(
        "mission".into(),
        r.coverage
            .mission
            .as_deref()
            .map_or(Value::Null, |m| Value::String(m.to_owned())),
    );
    m.insert(
        "troops_in_reach".into(),
        Value::from(r.coverage.troops_in_reach),
    );
    m.insert(
        "troops_per_1000".into(),
        opt_num(r.coverage.troops_per_1000),
    );
    m.insert("gap".into(), Value::Bool(r.flags.gap));
    m.insert("under_covered".into(), Value::Bool(r.flags.under_covered));
    m.insert("gap_severity".into(), num(r.flags.gap_severity));
    m
}

/// Replaces a u64 `cell` column by the H3 string column `h3` (same position).
pub fn with_h3_column(mut df: DataFrame) -> PolarsResult<DataFrame> {
    let Some(idx) = df.get_column_index("cell") else {
        return Ok(df);
    };
    let cells = df.column("cell")?.cast(&DataType::UInt64)?;
    let h3: Vec<Option<String>> = cells
        .u64()?
        .iter()
        .map(|c| c.and_then(|c| cell_from_u64(c).ok()).map(|c| c.to_string()))
        .collect();
    df.replace_column(idx, Column::new("h3".into(), h3))?;
    Ok(df)
}

/// A DataFrame value as CSV text.
pub fn text(v: &AnyValue<'_>) -> String {
    match v {
        AnyValue::Null => String::new(),
        AnyValue::String(s) => (*s).to_owned(),
        AnyValue::StringOwned(s) => s.to_string(),
        AnyValue::Date(d) => format_date(*d),
        AnyValue::Float64(x) => round6(*x).to_string(),
        AnyValue::Float32(x) => round6(f64::from(*x)).to_string(),
        other => other.to_string(),
    }
}

/// A DataFrame value as JSON.
pub fn json(v: &AnyValue<'_>) -> Value {
    match v {
        AnyValue::Null => Value::Null,
        AnyValue::Boolean(b) => Value::Bool(*b),
        AnyValue::String(s) => Value::String((*s).to_owned()),
        AnyValue::StringOwned(s) => Value::String(s.to_string()),
        AnyValue::Date(d) => Value::String(format_date(*d)),
        AnyValue::Float64(x) => num(*x),
        AnyValue::Float32(x) => num(f64::from(*x)),
        AnyValue::Int64(x) => Value::from(*x),
        AnyValue::Int32(x) => Value::from(*x),
        AnyValue::UInt64(x) => Value::from(*x),
        AnyValue::UInt32(x) => Value::from(*x),
        other => Value::String(other.to_string()),
    }
}

/// A whole DataFrame as CSV bytes (header row, RFC 4180 quoting).
pub fn frame_csv(df: &DataFrame) -> PolarsResult<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let io = |e: csv::Error| PolarsError::ComputeError(e.to_string().into());
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    w.write_record(&names).map_err(io)?;
    let columns = df.columns();
    let mut row = Vec::with_capacity(columns.len());
    for i in 0..df.height() {
        row.clear();
        for c in columns {
            row.push(text(&c.get(i)?));
        }
        w.write_record(&row).map_err(io)?;
    }
    w.into_inner()
        .map_err(|e| PolarsError::ComputeError(e.to_string().into()))
}

/// The GeoJSON collection of `/alerts`: each alerting cell with its properties (what
/// `audience` may see), `entered_high`, `new_gap` and `tier_then`, and the comparison's
/// metadata.
pub fn alerts_collection(
    alerts: &[crate::analysis::alerts::Alert<'_>],
    snap: &crate::store::snapshot::Snapshot,
    since: &str,
    compared_with: Option<&str>,
    audience: crate::model::visibility::Audience,
) -> String {
    let mut out = String::from("{\"type\":\"FeatureCollection\",\"features\":[");
    for (n, a) in alerts.iter().enumerate() {
        let mut props = cell_properties(a.record, &snap.date);
        props.insert("entered_high".into(), Value::Bool(a.entered_high));
        props.insert("new_gap".into(), Value::Bool(a.new_gap));
        audience.redact(&mut props);
        props.insert(
            "tier_then".into(),
            a.tier_then
                .map_or(Value::Null, |t| Value::String(t.as_str().into())),
        );
        let id = props
            .get("h3")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let geometry = cell_from_u64(a.record.cell)
            .map(cell_geometry)
            .unwrap_or_else(|_| "null".into());
        if n > 0 {
            out.push(',');
        }
        push_feature(&mut out, Some(&id), &geometry, &props);
    }
    out.push_str("],");
    let tail = serde_json::json!({
        "numberMatched": alerts.len(),
        "numberReturned": alerts.len(),
        "timeStamp": crate::model::day::rfc3339_now(),
        "since": since,
        "compared_with": compared_with,
        "snapshot": {"date": snap.date, "version": snap.info.sha256},
        "attribution": snap.attribution,
    })
    .to_string();
    out.push_str(&tail[1..]);
    out
}

/// The JSON of `/cells/{h3}/explain`: the cell (what `audience` may see), its amounts, the
/// parameters, and the `top` contributing events.
pub fn explanation_json(
    h3: &str,
    x: &crate::risk::explain::Explanation,
    top: usize,
    audience: crate::model::visibility::Audience,
    attribution: &[String],
) -> Value {
    let events: Vec<Value> = x
        .contributions
        .iter()
        .take(top)
        .map(|c| {
            serde_json::json!({
                "event": c.event,
                "date": c.date,
                "category": c.category,
                "fatalities": c.fatalities,
                "precision": c.precision,
                "distance_km": round6(c.distance_km),
                "via": c.via.as_str(),
                "harm": round6(c.harm),
                "conflict": round6(c.conflict),
                "spread": round6(c.spread),
                "recent": round6(c.recent),
                "baseline": round6(c.baseline),
            })
        })
        .collect();
    let mut cell = cell_properties(&x.record, &x.date);
    audience.redact(&mut cell);
    serde_json::json!({
        "h3": h3,
        "date": x.date,
        "cell": cell,
        "amounts": {
            "harm": round6(x.amounts.harm),
            "conflict": round6(x.amounts.conflict),
            "spread": round6(x.amounts.spread),
            "baseline": round6(x.amounts.baseline),
            "escalation": round6(x.amounts.escalation),
            "climate": round6(x.amounts.climate),
        },
        "normalisation": x.normalisation,
        "calibration": x.calibration,
        "forecast": x.forecast,
        "contributing_events": x.contributions.len(),
        "events": events,
        "attribution": attribution,
    })
}
