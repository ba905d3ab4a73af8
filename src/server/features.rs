//! OGC API – Features Part 1 collections and items: `risk` and `coverage-gaps` (H3 cells of
//! a snapshot), `bases` (active on its date), `events` (its scoring window) and `areas`
//! (with their coverage summaries). `datetime` selects the snapshot.

use super::auth::Access;
use super::origin::Origin;
use super::problem::ApiError;
use super::{AppState, Loaded};
use crate::grid::{cell_bbox, cell_from_u64, parse_cell};
use crate::model::cell::{CellRecord, Tier};
use crate::model::day::{format_date, rfc3339_now};
use crate::model::layer::Layer;
use crate::model::rows::{Event, IdpSite};
use crate::output::features::{self, Feature};
use crate::output::render::{push_feature, push_item};
use axum::extract::{Extension, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::sync::Arc;

use super::collections::*;
use super::query::*;

/// The most `days` of events one request may ask for (a century).
pub const MAX_DAYS: i32 = 36_500;

/// The snapshot a `datetime` selects: the latest stored one within the range (`Ok(None)`
/// when none is), the served one without `datetime` and for events.
async fn snapshot_for(
    state: &Arc<AppState>,
    layer: Layer,
    range: Option<DateRange>,
) -> Result<Option<Arc<Loaded>>, ApiError> {
    let cur = state.current();
    // Events are filtered by their own dates (`events_interval`), not by snapshot.
    let Some(r) = range.filter(|_| layer != Layer::Events) else {
        return Ok(Some(cur));
    };
    let lo = r.from.map_or_else(|| "0000-00-00".to_owned(), format_date);
    let hi = r.to.map_or_else(|| "9999-99-99".to_owned(), format_date);
    if lo <= cur.snapshot.date && cur.snapshot.date <= hi && r.to.is_none() {
        return Ok(Some(cur));
    }
    let st = state.clone();
    tokio::task::spawn_blocking(move || {
        st.read_store(|store| {
            let date = store
                .manifest()
                .snapshots
                .range(lo.clone()..=hi.clone())
                .next_back()
                .map(|(d, _)| d.clone());
            date.map(|d| st.loaded_on(store, &d)).transpose()
        })
    })
    .await?
}

/// The days an events request covers: its `datetime`, else the served snapshot's scoring
/// window (what the map draws).
fn events_interval(state: &AppState, loaded: &Loaded, range: Option<DateRange>) -> (i32, i32) {
    let d = loaded.snapshot.day();
    match range {
        Some(r) => (r.from.unwrap_or(i32::MIN), r.to.unwrap_or(i32::MAX)),
        None => (d - state.config.score.window_days as i32 + 1, d),
    }
}

/// The stored events whose own dates intersect `from..=to`, as they count on the served
/// snapshot's day (known by then, duplicates superseded).
async fn events_in(
    state: &Arc<AppState>,
    loaded: &Loaded,
    (from, to): (i32, i32),
) -> Result<Vec<Event>, ApiError> {
    let d = loaded.snapshot.day();
    let st = state.clone();
    let events =
        tokio::task::spawn_blocking(move || st.read_store(|s| Ok(s.events_overlapping(from, to)?)))
            .await??;
    Ok(crate::risk::events::rows_counting_on(events, d))
}

fn geometry_bbox(geometry: &str) -> Option<[f64; 4]> {
    let v: Value = serde_json::from_str(geometry).ok()?;
    let mut b = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
    fn walk(v: &Value, b: &mut [f64; 4]) {
        match v {
            Value::Array(a) if a.len() >= 2 && a[0].is_number() && a[1].is_number() => {
                let (x, y) = (a[0].as_f64().unwrap_or(0.0), a[1].as_f64().unwrap_or(0.0));
                *b = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, b)),
            _ => {}
        }
    }
    walk(v.get("coordinates")?, &mut b);
    (b[0] <= b[2]).then_some(b)
}

/// A matching feature: a snapshot cell (rendered only when it is on the page) or a
/// feature already built.
enum Matched<'a> {
    Cell(&'a CellRecord),
    Built(Feature),
}

impl Matched<'_> {
    fn render(self, date: &str, access: &Access) -> Feature {
        match self {
            Matched::Cell(r) => features::cell(r, date, access.audience()),
            Matched::Built(f) => f,
        }
    }
}

/// The matching features of a collection on a snapshot, in a stable order.
async fn features_of<'a>(
    state: &Arc<AppState>,
    c: &CollectionDef,
    loaded: &'a Loaded,
    q: &ItemsQuery,
    access: &Access,
) -> Result<Vec<Matched<'a>>, ApiError> {
    let filter = |name: &str| {
        q.filters
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let snap = &loaded.snapshot;
    Ok(match c.layer {
        Layer::Risk | Layer::CoverageGaps => {
            let tier = filter("tier").and_then(Tier::parse);
            let gap = filter("gap").map(|v| v == "true");
            let area = filter("area");
            snap.cells
                .iter()
                .filter(|r| c.layer == Layer::Risk || r.flags.gap)
                .filter(|r| tier.is_none_or(|t| r.tier == t))
                .filter(|r| gap.is_none_or(|g| r.flags.gap == g))
                .filter(|r| area.is_none_or(|a| r.area.as_deref() == Some(a)))
                .filter(|r| match q.bbox {
                    None => true,
                    Some(b) => {
                        cell_from_u64(r.cell).is_ok_and(|cell| intersects(cell_bbox(cell), b))
                    }
                })
                .map(Matched::Cell)
                .collect()
        }
        Layer::Bases => {
            let mission = filter("mission");
            crate::coverage::snapshot_bases(&loaded.bases, snap, &state.config.coverage)
                .iter()
                .filter(|a| mission.is_none_or(|m| a.base.mission.eq_ignore_ascii_case(m)))
                .filter(|a| point_in(a.base.lat, a.base.lon, q.bbox))
                .map(|a| Matched::Built(features::base(a, &snap.date)))
                .collect()
        }
        Layer::IdpSites => IdpSite::known_on(&loaded.idp, snap.day())
            .into_iter()
            .filter(|s| point_in(s.lat, s.lon, q.bbox))
            .map(|s| Matched::Built(features::idp_site(s, &snap.date)))
            .collect(),
        Layer::Events => {
            let category = filter("category");
            let days = filter("days")
                .map(|v| {
                    v.parse::<i32>()
                        .ok()
                        .filter(|n| (1..=MAX_DAYS).contains(n))
                        .ok_or_else(|| {
                            ApiError::bad(
                                "days",
                                format!("`{v}`: a whole number of days, 1 to 36500"),
                            )
                        })
                })
                .transpose()?;
            let first = days.map(|n| snap.day() - n + 1);
            events_in(state, loaded, events_interval(state, loaded, q.datetime))
                .await?
                .iter()
                .filter(|e| category.is_none_or(|k| e.category.as_str() == k))
                .filter(|e| first.is_none_or(|f| e.date_end >= f))
                .filter(|e| point_in(e.lat, e.lon, q.bbox))
                .map(|e| Matched::Built(features::event(e)))
                .collect()
        }
        Layer::Areas => features::areas(
            snap,
            &loaded.areas,
            &loaded.area_cells,
            access.audience(),
            filter("level"),
        )
        .into_iter()
        .filter(|(_, g, _)| {
            q.bbox
                .is_none_or(|b| geometry_bbox(g).is_some_and(|gb| intersects(gb, b)))
        })
        .map(Matched::Built)
        .collect(),
    })
}

/// `GET /collections/{id}/items`
pub async fn items(
    State(state): State<Arc<AppState>>,
    Extension(access): Extension<Access>,
    Path(id): Path<String>,
    params: Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    Origin(base): Origin,
) -> Result<Response, ApiError> {
    let c = find(&id, &access)?;
    let Query(params) = params.map_err(|e| ApiError::bad("query", e.body_text()))?;
    negotiate(&headers)?;
    let q = items_query(&state, c, &params, &headers)?;
    filters_allowed(&q, &access)?;
    let raw_datetime = raw_param(&params, "datetime");
    // A large page is rendered and sent a few at a time (server.max_heavy_requests).
    let permit = match q.limit > HEAVY_PAGE {
        true => Some(state.heavy_permit().await?),
        false => None,
    };
    let loaded = snapshot_for(&state, c.layer, q.datetime).await?;
    let matched = match &loaded {
        Some(l) => features_of(&state, c, l, &q, &access).await?,
        None => Vec::new(),
    };
    let page = Page {
        id: &id,
        layer: c.layer,
        base: &base,
        q: &q,
        raw_datetime,
        pinned: pinned_datetime(&state, c.layer, loaded.as_deref(), &q, raw_datetime),
    };
    let (number_matched, returned) = page.counts(matched.len());
    let link = page.link_header(returned, number_matched);
    let body = page.render(matched, loaded.as_deref(), &access);
    let res = items_response(body, q.format, page.pinned.as_deref(), &link);
    Ok(super::hold(res, permit))
}

/// The items query of a request: its parameters, and the encoding `Accept` prefers when
/// `f` is absent.
fn items_query(
    state: &AppState,
    c: &CollectionDef,
    params: &[(String, String)],
    headers: &HeaderMap,
) -> Result<ItemsQuery, ApiError> {
    let cfg = &state.config.server;
    let limits = (cfg.default_limit, cfg.max_limit);
    let mut q = parse_items_query(params, limits, c.layer, c.filters)?;
    if raw_param(params, "f").is_none() {
        let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
        q.format = accept.map_or(ItemsFormat::GeoJson, ItemsFormat::from_accept);
    }
    Ok(q)
}

/// A page with its media type, the days it was drawn from (`Vigil-Datetime`) and, when
/// there are more pages, their `Link`s.
fn items_response(body: String, format: ItemsFormat, pinned: Option<&str>, link: &str) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.media_type()),
    );
    if let Some(v) = pinned.and_then(|p| HeaderValue::from_str(p).ok()) {
        h.insert("vigil-datetime", v);
    }
    if let Ok(v) = HeaderValue::from_str(link) {
        if !link.is_empty() {
            h.insert(header::LINK, v);
        }
    }
    r
}

/// The `datetime` of the next and previous pages, so that a snapshot published while a
/// client pages does not change the pages under it: the snapshot's date, or for events
/// the interval of days the page was drawn from.
fn pinned_datetime(
    state: &AppState,
    layer: Layer,
    loaded: Option<&Loaded>,
    q: &ItemsQuery,
    raw: Option<&str>,
) -> Option<String> {
    let loaded = loaded?;
    if layer != Layer::Events {
        return Some(loaded.snapshot.date.clone());
    }
    let day = |d: i32| match d {
        i32::MIN | i32::MAX => "..".to_owned(),
        d => format_date(d),
    };
    match raw {
        Some(r) => Some(r.to_owned()),
        None => {
            let (from, to) = events_interval(state, loaded, q.datetime);
            Some(format!("{}/{}", day(from), day(to)))
        }
    }
}

/// One page of items: the request it answers.
struct Page<'a> {
    id: &'a str,
    layer: Layer,
    base: &'a str,
    q: &'a ItemsQuery,
    raw_datetime: Option<&'a str>,
    /// The `datetime` of the next and previous pages (see [`pinned_datetime`]).
    pinned: Option<String>,
}

impl Page<'_> {
    /// `(numberMatched, numberReturned)` of a page over `matched` features.
    fn counts(&self, matched: usize) -> (usize, usize) {
        (
            matched,
            matched.saturating_sub(self.q.offset).min(self.q.limit),
        )
    }

    /// The page in its encoding: each feature rendered and written at once (only its text
    /// stays in memory); GeoJSON then adds the counts, snapshot, attribution and links.
    fn render(
        &self,
        matched: Vec<Matched<'_>>,
        loaded: Option<&Loaded>,
        access: &Access,
    ) -> String {
        let q = self.q;
        let number_matched = matched.len();
        let returned = number_matched.saturating_sub(q.offset).min(q.limit);
        let date = loaded.map_or("", |l| l.snapshot.date.as_str());
        let mut out = String::with_capacity(returned * 900 + 512);
        let page = matched.into_iter().skip(q.offset).take(q.limit);
        let features = page.map(|m| select(m.render(date, access), q.properties.as_deref()));
        match q.format {
            ItemsFormat::Csv => {
                write_csv(
                    &mut out,
                    self.layer,
                    access,
                    q.properties.as_deref(),
                    features,
                );
                return out;
            }
            ItemsFormat::GeoJsonSeq => {
                for (fid, geometry, props) in features {
                    out.push('\u{1e}');
                    push_feature(&mut out, Some(&fid), &geometry, &props);
                    out.push('\n');
                }
                return out;
            }
            ItemsFormat::GeoJson => {}
        }
        out.push_str("{\"type\":\"FeatureCollection\",\"features\":[");
        for (i, (fid, geometry, props)) in features.enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_feature(&mut out, Some(&fid), &geometry, &props);
        }
        out.push_str("],");
        let snapshot = loaded.map(|l| {
            json!({"date": l.snapshot.date, "version": l.snapshot.info.sha256, "exposure_neutral": l.snapshot.info.exposure_neutral})
        });
        let attribution = loaded.map_or_else(Vec::new, |l| l.snapshot.attribution.clone());
        let tail = json!({
            "numberMatched": number_matched,
            "numberReturned": returned,
            "timeStamp": rfc3339_now(),
            "datetime": self.pinned,
            "snapshot": snapshot,
            "attribution": attribution,
            "links": self.links(returned, number_matched),
        })
        .to_string();
        out.push_str(&tail[1..]);
        out
    }

    /// self, alternates (the other encodings), collection, and next / prev when there are
    /// more.
    fn links(&self, returned: usize, number_matched: usize) -> Vec<Value> {
        let (q, base, id) = (self.q, self.base, self.id);
        let href = |offset: usize, datetime: Option<&str>, format: ItemsFormat| {
            let q = ItemsQuery {
                format,
                ..q.clone()
            };
            format!(
                "{base}/collections/{id}/items?{}",
                encode_query(&q, offset, datetime)
            )
        };
        let this = |format| href(q.offset, self.raw_datetime, format);
        let pinned = |offset: usize| href(offset, self.pinned.as_deref(), q.format);
        let kind = q.format.media_type();
        let mut links = vec![
            json!({"href": this(q.format), "rel": "self", "type": kind, "title": "This page"}),
        ];
        for (f, title) in [
            (ItemsFormat::GeoJson, "This page as GeoJSON"),
            (
                ItemsFormat::GeoJsonSeq,
                "This page as a GeoJSON text sequence",
            ),
            (ItemsFormat::Csv, "This page as CSV (geometry as WKT)"),
        ] {
            if f != q.format {
                links.push(json!({"href": this(f), "rel": "alternate", "type": f.media_type(), "title": title}));
            }
        }
        links.push(json!({"href": format!("{base}/collections/{id}"), "rel": "collection", "type": "application/json"}));
        if q.offset + returned < number_matched {
            links.push(json!({"href": pinned(q.offset + returned), "rel": "next", "type": kind, "title": "Next page"}));
        }
        if q.offset > 0 {
            links.push(json!({"href": pinned(q.offset.saturating_sub(q.limit)), "rel": "prev", "type": kind, "title": "Previous page"}));
        }
        links
    }

    /// RFC 8288 `Link` header of the next and previous pages (CSV and sequences carry no
    /// links in their body).
    fn link_header(&self, returned: usize, number_matched: usize) -> String {
        self.links(returned, number_matched)
            .iter()
            .filter(|l| l["rel"] == "next" || l["rel"] == "prev")
            .map(|l| {
                format!(
                    "<{}>; rel=\"{}\"",
                    l["href"].as_str().unwrap_or_default(),
                    l["rel"].as_str().unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A feature with only the `properties=` selection kept.
fn select(mut f: Feature, selected: Option<&[&'static str]>) -> Feature {
    if let Some(keep) = selected {
        f.2.retain(|k, _| keep.contains(&k.as_str()));
    }
    f
}

/// Features as CSV: `id`, the properties the caller sees (or selected) in the layer's
/// order, and `wkt`.
fn write_csv(
    out: &mut String,
    layer: Layer,
    access: &Access,
    selected: Option<&[&'static str]>,
    features: impl Iterator<Item = Feature>,
) {
    let columns: Vec<&str> = crate::output::schema::names(layer)
        .into_iter()
        .filter(|n| access.audience().may_see(n))
        .filter(|n| selected.is_none_or(|s| s.contains(n)))
        .collect();
    let mut w = csv::Writer::from_writer(Vec::new());
    let header = std::iter::once("id")
        .chain(columns.iter().copied())
        .chain(["wkt"]);
    let _ = w.write_record(header);
    for (fid, geometry, props) in features {
        let cell = |v: Option<&Value>| match v {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        };
        let wkt = crate::output::shape::Shape::from_geojson(&geometry)
            .map(|s| s.wkt())
            .unwrap_or_default();
        let row = std::iter::once(fid)
            .chain(columns.iter().map(|c| cell(props.get(*c))))
            .chain([wkt]);
        let _ = w.write_record(row);
    }
    let bytes = w.into_inner().unwrap_or_default();
    out.push_str(&String::from_utf8_lossy(&bytes));
}

/// The media type of GeoJSON answers.
const GEOJSON: &str = "application/geo+json";

/// Pages with more features than this take a heavy-answer permit.
const HEAVY_PAGE: usize = 1_000;

fn geojson_response(body: String) -> Response {
    let mut r = body.into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(GEOJSON));
    r
}

/// `GET /collections/{id}/items/{feature}`
pub async fn item(
    State(state): State<Arc<AppState>>,
    Extension(access): Extension<Access>,
    Path((id, feature)): Path<(String, String)>,
    params: Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    Origin(base): Origin,
) -> Result<Response, ApiError> {
    let c = find(&id, &access)?;
    let Query(params) = params.map_err(|e| ApiError::bad("query", e.body_text()))?;
    negotiate(&headers)?;
    let range = item_params(&params)?;
    let missing = || ApiError::NotFound(format!("no feature `{feature}` in collection `{id}`"));
    let loaded = snapshot_for(&state, c.layer, range)
        .await?
        .ok_or_else(missing)?;
    let found = find_feature(&state, c, &loaded, &feature, &access).await?;
    let (fid, geometry, props) = found.ok_or_else(missing)?;
    let collection = format!("{base}/collections/{id}");
    let on = format!("datetime={}", loaded.snapshot.date);
    let links = json!([
        {"href": format!("{collection}/items/{fid}?{on}"), "rel": "self", "type": GEOJSON, "title": "This feature"},
        {"href": collection, "rel": "collection", "type": "application/json", "title": c.title},
    ]);
    let mut out = String::new();
    push_item(&mut out, &fid, &geometry, &props, &links);
    Ok(geojson_response(out))
}

/// The parameters of one item: `datetime` (a snapshot other than the served one) and `f`.
fn item_params(params: &[(String, String)]) -> Result<Option<DateRange>, ApiError> {
    let mut range = None;
    for (k, v) in params {
        match k.as_str() {
            "datetime" => range = Some(parse_datetime(v)?),
            "f" if v == "json" || v == "geojson" => {}
            other => {
                return Err(ApiError::bad(
                    other,
                    "unknown parameter; allowed: datetime, f",
                ))
            }
        }
    }
    Ok(range)
}

/// The feature `feature` of collection `c` in `loaded`, rendered for `access`.
async fn find_feature(
    state: &Arc<AppState>,
    c: &CollectionDef,
    loaded: &Loaded,
    feature: &str,
    access: &Access,
) -> Result<Option<Feature>, ApiError> {
    Ok(match c.layer {
        Layer::Risk | Layer::CoverageGaps => {
            let Ok(cell) = parse_cell(feature) else {
                return Ok(None);
            };
            let snap = &loaded.snapshot;
            snap.index
                .get(&u64::from(cell))
                .map(|i| &snap.cells[*i])
                .filter(|r| c.layer == Layer::Risk || r.flags.gap)
                .map(|r| features::cell(r, &snap.date, access.audience()))
        }
        _ => {
            let q = ItemsQuery {
                limit: usize::MAX,
                offset: 0,
                bbox: None,
                datetime: None,
                filters: Vec::new(),
                properties: None,
                format: ItemsFormat::GeoJson,
            };
            features_of(state, c, loaded, &q, access)
                .await?
                .into_iter()
                .map(|m| m.render(&loaded.snapshot.date, access))
                .find(|(fid, _, _)| *fid == feature)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Result<ItemsQuery, ApiError> {
        let v: Vec<(String, String)> = pairs
            .iter()
            .map(|(a, b)| ((*a).into(), (*b).into()))
            .collect();
        parse_items_query(&v, (100, 1000), Layer::Risk, &["tier", "gap"])
    }

    #[test]
    fn limits_are_clamped_and_validated() {
        assert_eq!(q(&[]).map(|x| x.limit).ok(), Some(100));
        assert_eq!(q(&[("limit", "999999")]).map(|x| x.limit).ok(), Some(1000));
        assert_eq!(
            q(&[("limit", "99999999999999999999")])
                .map(|x| x.limit)
                .ok(),
            None,
            "beyond u64 is not a number"
        );
        assert!(q(&[("limit", "0")]).is_err());
        assert!(q(&[("limit", "-1")]).is_err());
        assert!(q(&[("colour", "red")]).is_err());
        assert!(q(&[("limit", "1"), ("limit", "2")]).is_err());
        assert!(q(&[("tier", "purple")]).is_err());
        assert!(q(&[("gap", "yes")]).is_err());
        assert_eq!(
            q(&[("tier", "high")]).map(|x| x.filters).ok(),
            Some(vec![("tier".to_owned(), "high".to_owned())])
        );
        assert!(q(&[("f", "html")]).is_err());
    }

    #[test]
    fn bbox_is_validated_and_may_cross_the_antimeridian() {
        assert!(q(&[("bbox", "1,2,3")]).is_err());
        assert!(q(&[("bbox", "a,b,c,d")]).is_err());
        assert!(q(&[("bbox", "0,10,1,5")]).is_err());
        assert!(q(&[("bbox", "0,0,200,1")]).is_err());
        assert!(q(&[("bbox", "NaN,0,1,1")]).is_err());
        let b = q(&[("bbox", "170,-10,-170,10")]).ok().and_then(|x| x.bbox);
        assert_eq!(b, Some([170.0, -10.0, -170.0, 10.0]));
        assert!(intersects(
            [179.0, 0.0, 179.5, 1.0],
            [170.0, -10.0, -170.0, 10.0]
        ));
        assert!(intersects(
            [-179.5, 0.0, -179.0, 1.0],
            [170.0, -10.0, -170.0, 10.0]
        ));
        assert!(!intersects(
            [0.0, 0.0, 1.0, 1.0],
            [170.0, -10.0, -170.0, 10.0]
        ));
    }

    #[test]
    fn datetime_instants_and_intervals() {
        let d = |s: &str| crate::model::day::parse_iso_date(s);
        assert_eq!(
            parse_datetime("2024-12-31").ok(),
            Some(DateRange {
                from: d("2024-12-31"),
                to: d("2024-12-31")
            })
        );
        assert_eq!(
            parse_datetime("2024-12-31T10:00:00Z").ok(),
            Some(DateRange {
                from: d("2024-12-31"),
                to: d("2024-12-31")
            })
        );
        assert_eq!(
            parse_datetime("../2024-06-30").ok(),
            Some(DateRange {
                from: None,
                to: d("2024-06-30")
            })
        );
        assert_eq!(
            parse_datetime("2024-01-01/").ok(),
            Some(DateRange {
                from: d("2024-01-01"),
                to: None
            })
        );
        for bad in [
            "",
            "yesterday",
            "2024-13-01",
            "2024-12-31/2024-01-01",
            "/",
            "2024-12-31X",
        ] {
            assert!(parse_datetime(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn areas_are_summarised_by_id_even_when_names_repeat() {
        use crate::model::rows::{Area, AreaCell};
        let area = |id: &str| Area {
            area_id: id.into(),
            name: "all".into(),
            level: "ADM3".into(),
            parent: None,
            geometry: "null".into(),
        };
        let member = |id: &str, cell: u64| AreaCell {
            area_id: id.into(),
            level: "ADM3".into(),
            cell,
        };
        let cells: Vec<CellRecord> = (1..=3).map(|c| CellRecord::quiet(c, (0.0, 0.0))).collect();
        let snapshot = crate::store::snapshot::Snapshot {
            date: "2024-01-01".into(),
            info: crate::store::SnapshotInfo {
                file: String::new(),
                sha256: String::new(),
                cells: 3,
                tiers: [3, 0, 0, 0, 0],
                gaps: 0,
                exposure_neutral: true,
                normalisation: None,
                climate: None,
                reduced_bases: Vec::new(),
                calibration: None,
            },
            index: cells.iter().enumerate().map(|(i, c)| (c.cell, i)).collect(),
            cells,
            attribution: Vec::new(),
        };
        let loaded = Loaded::new(
            snapshot,
            Vec::new(),
            vec![area("A1"), area("A2")],
            vec![member("A1", 1), member("A2", 2), member("A2", 3)],
        );
        let got: Vec<(String, Value)> = features::areas(
            &loaded.snapshot,
            &loaded.areas,
            &loaded.area_cells,
            crate::model::visibility::Audience::WithDeployments,
            None,
        )
        .into_iter()
        .map(|(id, _, p)| (id, p["cells"].clone()))
        .collect();
        assert_eq!(got, vec![("A1".into(), json!(1)), ("A2".into(), json!(2))]);
    }

    #[test]
    fn accept_negotiation() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            if let Ok(v) = HeaderValue::from_str(v) {
                m.insert(header::ACCEPT, v);
            }
            m
        };
        assert!(negotiate(&HeaderMap::new()).is_ok());
        assert!(negotiate(&h("application/geo+json")).is_ok());
        assert!(negotiate(&h("text/html,application/json;q=0.9")).is_ok());
        assert!(negotiate(&h("*/*")).is_ok());
        assert!(negotiate(&h("text/html")).is_err());
        assert!(negotiate(&h("image/png")).is_err());
    }
}
