//! The properties of each published layer — name, JSON type, unit, meaning — written once:
//! the OGC API queryables and schemas, the typed OpenAPI document and the `properties=`
//! selection read them, and a test holds the feature builders (`output::features`) to them.

use crate::model::layer::Layer;
use crate::model::visibility::is_deployment_field;
use serde_json::{json, Map, Value};

/// A property's JSON type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    /// Text.
    String,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// A real number.
    Number,
    /// A whole number.
    Integer,
    /// true / false.
    Boolean,
}

/// One property of a layer's features.
#[derive(Debug, Clone, Copy)]
pub struct Property {
    /// Its name.
    pub name: &'static str,
    /// Its type.
    pub kind: Type,
    /// Whether it may be null.
    pub nullable: bool,
    /// Its unit (UCUM-like; empty when it has none).
    pub unit: &'static str,
    /// What it is.
    pub description: &'static str,
}

const fn p(
    name: &'static str,
    kind: Type,
    unit: &'static str,
    description: &'static str,
) -> Property {
    Property {
        name,
        kind,
        nullable: false,
        unit,
        description,
    }
}

const fn opt(
    name: &'static str,
    kind: Type,
    unit: &'static str,
    description: &'static str,
) -> Property {
    Property {
        nullable: true,
        ..p(name, kind, unit, description)
    }
}

use Type::{Boolean as B, Date as D, Integer as I, Number as N, String as S};

const CELL: &[Property] = &[
    p("h3", S, "", "H3 cell index"),
    p("date", D, "", "Snapshot date"),
    opt("area", S, "", "Admin area containing the cell centre"),
    p("risk", N, "1", "Civilian-risk index, 0–1"),
    p("tier", S, "", "low, moderate, elevated, high or critical"),
    opt(
        "probability",
        N,
        "1",
        "Calibrated probability of civilian harm within the calibration's horizon",
    ),
    p(
        "watch",
        B,
        "",
        "Top cells by probability, flagged for watch",
    ),
    p("hazard", N, "1", "Hazard before exposure, 0–1"),
    p("harm", N, "1", "Decayed civilian-harm component, 0–1"),
    p("conflict", N, "1", "Decayed armed-conflict component, 0–1"),
    p("spread", N, "1", "Neighbourhood spread component, 0–1"),
    p("baseline", N, "1", "Long-run baseline component, 0–1"),
    p(
        "escalation",
        N,
        "1",
        "Escalation (recent vs baseline) component, 0–1",
    ),
    p("climate", N, "1", "Climate-stress component, 0–1"),
    p(
        "exposure",
        N,
        "1",
        "Exposure multiplier from population, 0–1",
    ),
    opt("population", N, "{people}", "People in the cell"),
    p(
        "displaced",
        N,
        "{people}",
        "Displaced people at IDP sites in the cell",
    ),
    p("harm_share", N, "1", "Share of the risk from harm"),
    p("conflict_share", N, "1", "Share of the risk from conflict"),
    p("spread_share", N, "1", "Share of the risk from spread"),
    p(
        "baseline_share",
        N,
        "1",
        "Share of the risk from the baseline",
    ),
    p(
        "escalation_share",
        N,
        "1",
        "Share of the risk from escalation",
    ),
    p("climate_share", N, "1", "Share of the risk from climate"),
    opt(
        "delta_risk",
        N,
        "1",
        "Change of risk since the previous snapshot",
    ),
    opt("prev_tier", S, "", "Tier on the previous snapshot"),
    p(
        "events",
        I,
        "{events}",
        "Events counted in the cell in the scoring window",
    ),
    opt(
        "precise_share",
        N,
        "1",
        "Share of the cell's events located precisely",
    ),
    p(
        "civilian_fatalities_30d",
        I,
        "{deaths}",
        "Civilian deaths in the cell, last 30 days",
    ),
    p(
        "civilian_fatalities_90d",
        I,
        "{deaths}",
        "Civilian deaths in the cell, last 90 days",
    ),
    p("covered", B, "", "Within reach of an active base"),
    p("presence", B, "", "A base stands in the cell"),
    opt("nearest_base", S, "", "Nearest active base"),
    opt(
        "nearest_base_km",
        N,
        "km",
        "Distance to the nearest active base",
    ),
    opt("mission", S, "", "Mission of the nearest base"),
    p(
        "troops_in_reach",
        I,
        "{troops}",
        "Troops of the bases that reach the cell",
    ),
    opt(
        "troops_per_1000",
        N,
        "{troops}/10*3{people}",
        "Troops in reach per 1,000 people",
    ),
    p("gap", B, "", "High or critical and no base reaches it"),
    p(
        "under_covered",
        B,
        "",
        "Reached, but with too few troops for its people",
    ),
    p("gap_severity", N, "1", "How severe the gap is, 0–1"),
];

const BASE: &[Property] = &[
    p("mission", S, "", "Mission"),
    p("location", S, "", "Place name"),
    opt(
        "troops",
        I,
        "{troops}",
        "Troops (null when the source does not say)",
    ),
    p(
        "reach_km",
        N,
        "km",
        "Reach on the date (reduced in the rainy season)",
    ),
    p("protects", B, "", "Counts for coverage"),
    p(
        "rainy_season_reduced",
        B,
        "",
        "Reach reduced by the rainy season on the date",
    ),
    p("infantry", B, "", "Infantry deployed"),
    p("fpu", B, "", "A formed police unit deployed"),
    p("unpol", B, "", "UN police deployed"),
    p("observers", B, "", "Military observers deployed"),
    p("valid_from", D, "", "First day active"),
    p("valid_to", D, "", "Last day active"),
    p("date", D, "", "Snapshot date"),
];

const EVENT: &[Property] = &[
    p(
        "source",
        S,
        "",
        "acled, ucdp_ged, ucdp_candidate or incidents",
    ),
    p("source_id", S, "", "Identifier in the source"),
    p("date_start", D, "", "First day"),
    p("date_end", D, "", "Last day"),
    p(
        "category",
        S,
        "",
        "civilian_harm, armed_conflict, remote_violence, …",
    ),
    p("precision", S, "", "How precisely the place is known"),
    p("fatalities", I, "{deaths}", "Deaths (best estimate)"),
    opt(
        "civilian_fatalities",
        I,
        "{deaths}",
        "Civilian deaths (null when the source does not say)",
    ),
    opt("actor1", S, "", "First actor"),
    opt("actor2", S, "", "Second actor"),
    opt("admin1", S, "", "First-level admin area"),
    opt("admin2", S, "", "Second-level admin area"),
    opt(
        "duplicate_of",
        S,
        "",
        "`source:id` of the record this one duplicates",
    ),
    opt("h3", S, "", "H3 cell of the event"),
];

const AREA: &[Property] = &[
    p("area_id", S, "", "Area identifier"),
    p("name", S, "", "Area name"),
    p("level", S, "", "Admin level (ADM1, ADM2, …)"),
    p("date", D, "", "Snapshot date"),
    p("cells", I, "{cells}", "Cells in the area"),
    p("population", N, "{people}", "People in the area"),
    p("high_cells", I, "{cells}", "High or critical cells"),
    p("risk_mean", N, "1", "Mean risk of its cells"),
    p("risk_max", N, "1", "Highest risk of its cells"),
    p(
        "civilian_fatalities_30d",
        I,
        "{deaths}",
        "Civilian deaths, last 30 days",
    ),
    p(
        "civilian_fatalities_90d",
        I,
        "{deaths}",
        "Civilian deaths, last 90 days",
    ),
    p(
        "covered_cells",
        I,
        "{cells}",
        "Cells within reach of a base",
    ),
    p("gap_cells", I, "{cells}", "Coverage-gap cells"),
    p("population_in_gaps", N, "{people}", "People in gap cells"),
    opt(
        "gap_hit_rate_30d",
        N,
        "1",
        "Share of the last 30 days' civilian deaths in gap cells",
    ),
    opt(
        "gap_hit_rate_90d",
        N,
        "1",
        "Share of the last 90 days' civilian deaths in gap cells",
    ),
];

const IDP_SITE: &[Property] = &[
    p("site", S, "", "Site name"),
    p(
        "population",
        N,
        "{people}",
        "Residents at the latest assessment",
    ),
    opt("assessed", D, "", "Date of that assessment"),
    p("h3", S, "", "H3 cell of the site"),
    p("date", D, "", "Snapshot date"),
];

impl Property {
    /// Whether `v` is a value of this property's type.
    pub fn accepts(&self, v: &Value) -> bool {
        match (self.kind, v) {
            (_, Value::Null) => self.nullable,
            (Type::String, Value::String(_)) | (Type::Boolean, Value::Bool(_)) => true,
            (Type::Date, Value::String(s)) => crate::model::day::parse_iso_date(s).is_some(),
            (Type::Number, Value::Number(_)) => true,
            (Type::Integer, Value::Number(n)) => n.is_i64() || n.is_u64(),
            _ => false,
        }
    }
}

/// The properties of `layer`'s features, in the order they are written.
pub fn properties(layer: Layer) -> &'static [Property] {
    match layer {
        Layer::Risk | Layer::CoverageGaps => CELL,
        Layer::Bases => BASE,
        Layer::Events => EVENT,
        Layer::Areas => AREA,
        Layer::IdpSites => IDP_SITE,
    }
}

/// `property` as a JSON Schema (OpenAPI 3.0 dialect: `nullable`), with `x-ogc-unit`.
pub fn property_schema(property: &Property) -> Value {
    let mut m = Map::new();
    let (kind, format) = match property.kind {
        Type::String => ("string", None),
        Type::Date => ("string", Some("date")),
        Type::Number => ("number", None),
        Type::Integer => ("integer", None),
        Type::Boolean => ("boolean", None),
    };
    m.insert("type".into(), json!(kind));
    if let Some(f) = format {
        m.insert("format".into(), json!(f));
    }
    if property.nullable {
        m.insert("nullable".into(), json!(true));
    }
    m.insert("title".into(), json!(property.name));
    m.insert("description".into(), json!(property.description));
    if !property.unit.is_empty() {
        m.insert("x-ogc-unit".into(), json!(property.unit));
    }
    Value::Object(m)
}

/// The properties object of `layer` as a JSON Schema object (OpenAPI 3.0 dialect). The
/// deployment fields are listed, marked as shown only with the `deployments:read` scope.
pub fn properties_schema(layer: Layer) -> Value {
    let props: Map<String, Value> = properties(layer)
        .iter()
        .map(|p| {
            let mut s = property_schema(p);
            if is_deployment_field(p.name) {
                if let Some(d) = s.get_mut("description") {
                    *d = json!(format!(
                        "{} (with the deployments:read scope only)",
                        p.description
                    ));
                }
            }
            (p.name.to_owned(), s)
        })
        .collect();
    json!({"type": "object", "properties": props})
}

/// OGC API – Features Part 3 queryables of `layer`: a JSON Schema (2020-12) of the
/// properties that `filters` can select on, as `name=value` query parameters, plus the
/// geometry (`bbox`) and the date (`datetime`). `id` is the document's URL.
pub fn queryables(layer: Layer, filters: &[&str], id: &str, title: &str) -> Value {
    let mut props = Map::new();
    props.insert(
        "geometry".into(),
        json!({"format": geometry_format(layer), "description": "Selected with `bbox`"}),
    );
    props.insert(
        "datetime".into(),
        json!({"type": "string", "format": "date", "description": "Selected with `datetime`"}),
    );
    for p in properties(layer)
        .iter()
        .filter(|p| filters.contains(&p.name))
    {
        let mut s = property_schema(p);
        if let Some(m) = s.as_object_mut() {
            if m.remove("nullable").is_some() {
                let t = m.get("type").cloned().unwrap_or(Value::Null);
                m.insert("type".into(), json!([t, "null"]));
            }
        }
        props.insert(p.name.to_owned(), s);
    }
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": id,
        "type": "object",
        "title": title,
        "properties": props,
        "additionalProperties": false,
    })
}

/// The geometry of `layer`'s features, as a JSON Schema `format` of OGC Features Part 5.
fn geometry_format(layer: Layer) -> &'static str {
    match layer {
        Layer::Risk | Layer::CoverageGaps | Layer::Areas => "geometry-multipolygon",
        Layer::Bases | Layer::Events | Layer::IdpSites => "geometry-point",
    }
}

/// The property names of `layer`, for messages.
pub fn names(layer: Layer) -> Vec<&'static str> {
    properties(layer).iter().map(|p| p.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Holds a built feature's properties to the schema: same names, same order, types.
    pub(crate) fn check(layer: Layer, props: &Map<String, Value>) {
        let names: Vec<&str> = props.keys().map(String::as_str).collect();
        let want: Vec<&str> = properties(layer)
            .iter()
            .map(|p| p.name)
            .filter(|n| names.contains(n) || !is_deployment_field(n))
            .collect();
        assert_eq!(names, want, "{layer:?}");
        for p in properties(layer) {
            if let Some(v) = props.get(p.name) {
                assert!(p.accepts(v), "{layer:?}.{} = {v}", p.name);
            }
        }
    }

    #[test]
    fn the_builders_write_the_schema() {
        let cell = crate::grid::cell_of(
            4.36,
            18.55,
            crate::grid::resolution(7).unwrap_or_else(|e| panic!("{e}")),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let sample = crate::model::cell::CellRecord::quiet(u64::from(cell), (4.36, 18.55));
        let full = crate::output::render::cell_properties(&sample, "2024-12-31");
        check(Layer::Risk, &full);
        let (_, _, risk_only) = crate::output::features::cell(
            &sample,
            "2024-12-31",
            crate::model::visibility::Audience::RiskOnly,
        );
        check(Layer::Risk, &risk_only);
        let event = crate::model::rows::Event::at(
            "acled",
            "1",
            19_000,
            (4.36, 18.55),
            Some(u64::from(cell)),
            crate::model::rows::Category::CivilianHarm,
            2,
        );
        check(Layer::Events, &crate::output::features::event(&event).2);
    }

    #[test]
    fn every_layer_has_a_typed_schema() {
        for layer in Layer::ALL {
            let s = properties_schema(layer);
            let props = s["properties"].as_object().cloned().unwrap_or_default();
            assert_eq!(props.len(), properties(layer).len());
            assert!(props.values().all(|p| p["type"].is_string()));
        }
        assert_eq!(
            properties_schema(Layer::Risk)["properties"]["nearest_base_km"]["x-ogc-unit"],
            "km"
        );
    }
}
