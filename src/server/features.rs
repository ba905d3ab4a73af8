//! OGC API – Features Part 1 collections and items: `risk` and `coverage-gaps` (H3 cells of
//! a snapshot), `bases` (active on its date), `events` (its scoring window) and `areas`
//! (with their coverage summaries). `datetime` selects the snapshot.

use super::auth::Access;
use super::problem::ApiError;
use super::{AppState, Loaded};
use crate::grid::{cell_bbox, cell_from_u64, parse_cell};
use crate::model::cell::{CellRecord, Tier};
use crate::model::day::{format_date, rfc3339_now};
use crate::model::layer::Layer;
use crate::model::rows::{Event, IdpSite};
use crate::output::features::{self, Feature};
use crate::output::render::push_feature;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::sync::Arc;

use super::collections::*;
use super::query::*;

/// The snapshot a `datetime` selects: the latest stored one within the range (`Ok(None)`
/// when none is), the served one without `datetime`.
async fn snapshot_for(
    state: &Arc<AppState>,
    range: Option<DateRange>,
) -> Result<Option<Arc<Loaded>>, ApiError> {
    let cur = state.current();
    let Some(r) = range else {
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

/// The snapshot's events: last day within the scoring window, known by the date.
async fn window_events(state: &Arc<AppState>, loaded: &Loaded) -> Result<Vec<Event>, ApiError> {
    let d = loaded.snapshot.day();
    let from = d - state.config.score.window_days as i32 + 1;
    let st = state.clone();
    let events =
        tokio::task::spawn_blocking(move || st.read_store(|s| Ok(s.events_between(from, d)?)))
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
                    v.parse::<i32>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                        ApiError::bad("days", format!("`{v}`: a whole number of days, at least 1"))
                    })
                })
                .transpose()?;
            let first = days.map(|n| snap.day() - n + 1);
            window_events(state, loaded)
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
) -> Result<Response, ApiError> {
    let c = find(&id, &access)?;
    let Query(params) = params.map_err(|e| ApiError::bad("query", e.body_text()))?;
    negotiate(&headers)?;
    let cfg = &state.config.server;
    let q = parse_items_query(&params, cfg.default_limit, cfg.max_limit, c.filters)?;
    filters_allowed(&q, &access)?;
    let raw_datetime = raw_param(&params, "datetime");
    // A large page is rendered and sent a few at a time (server.max_heavy_requests).
    let permit = match q.limit > HEAVY_PAGE {
        true => Some(state.heavy_permit().await?),
        false => None,
    };
    let loaded = snapshot_for(&state, q.datetime).await?;
    let matched = match &loaded {
        Some(l) => features_of(&state, c, l, &q, &access).await?,
        None => Vec::new(),
    };
    let base = base_url(&headers);
    // The next and previous pages are pinned to the snapshot this one was drawn from: a
    // snapshot published while a client pages must not change the pages under it.
    let pinned = raw_datetime
        .map(str::to_owned)
        .or_else(|| loaded.as_ref().map(|l| l.snapshot.date.clone()));
    let page = Page {
        id: &id,
        base: &base,
        q: &q,
        raw_datetime,
        pinned: pinned.as_deref(),
    };
    let out = page.render(matched, loaded.as_deref(), &access);
    Ok(super::hold(geojson_response(out), permit))
}

/// One page of items: the request it answers.
struct Page<'a> {
    id: &'a str,
    base: &'a str,
    q: &'a ItemsQuery,
    raw_datetime: Option<&'a str>,
    /// The `datetime` of the next and previous pages.
    pinned: Option<&'a str>,
}

impl Page<'_> {
    /// The page as GeoJSON text: each feature rendered and written at once (only its text
    /// stays in memory), then the counts, snapshot, attribution and paging links.
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
        out.push_str("{\"type\":\"FeatureCollection\",\"features\":[");
        for (i, m) in matched.into_iter().skip(q.offset).take(q.limit).enumerate() {
            if i > 0 {
                out.push(',');
            }
            let (fid, geometry, props): Feature = m.render(date, access);
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
            "snapshot": snapshot,
            "attribution": attribution,
            "links": self.links(returned, number_matched),
        })
        .to_string();
        out.push_str(&tail[1..]);
        out
    }

    /// self, alternate, collection, and next / prev when there are more.
    fn links(&self, returned: usize, number_matched: usize) -> Vec<Value> {
        let (q, base, id) = (self.q, self.base, self.id);
        let href = |offset: usize, datetime: Option<&str>| {
            format!(
                "{base}/collections/{id}/items?{}",
                encode_query(q, offset, datetime)
            )
        };
        let this = |offset: usize| href(offset, self.raw_datetime);
        let pinned = |offset: usize| href(offset, self.pinned);
        let mut links = vec![
            json!({"href": this(q.offset), "rel": "self", "type": "application/geo+json", "title": "This page"}),
            json!({"href": format!("{}&f=json", this(q.offset)), "rel": "alternate", "type": "application/json", "title": "This page as JSON"}),
            json!({"href": format!("{base}/collections/{id}"), "rel": "collection", "type": "application/json"}),
        ];
        if q.offset + returned < number_matched {
            links.push(json!({"href": pinned(q.offset + returned), "rel": "next", "type": "application/geo+json", "title": "Next page"}));
        }
        if q.offset > 0 {
            links.push(json!({"href": pinned(q.offset.saturating_sub(q.limit)), "rel": "prev", "type": "application/geo+json", "title": "Previous page"}));
        }
        links
    }
}

/// Pages with more features than this take a heavy-answer permit.
const HEAVY_PAGE: usize = 1_000;

fn geojson_response(body: String) -> Response {
    let mut r = body.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/geo+json"),
    );
    r
}

/// `GET /collections/{id}/items/{feature}`
pub async fn item(
    State(state): State<Arc<AppState>>,
    Extension(access): Extension<Access>,
    Path((id, feature)): Path<(String, String)>,
    params: Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let c = find(&id, &access)?;
    let Query(params) = params.map_err(|e| ApiError::bad("query", e.body_text()))?;
    negotiate(&headers)?;
    let range = item_params(&params)?;
    let missing = || ApiError::NotFound(format!("no feature `{feature}` in collection `{id}`"));
    let loaded = snapshot_for(&state, range).await?.ok_or_else(missing)?;
    let found = find_feature(&state, c, &loaded, &feature, &access).await?;
    let (fid, geometry, props) = found.ok_or_else(missing)?;
    let mut out = String::new();
    push_feature(&mut out, Some(&fid), &geometry, &props);
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
        parse_items_query(&v, 100, 1000, &["tier", "gap"])
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
