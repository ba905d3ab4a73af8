//! The query of an items request: `limit`, `offset`, `bbox`, `datetime` and the property
//! filters, parsed and checked, and written back for paging links.

use super::auth::Access;
use super::problem::ApiError;
use crate::model::cell::Tier;
use crate::model::day::parse_iso_date;
use crate::model::layer::Layer;

/// A `datetime` value: the snapshots dated within `from..=to` (open ends allowed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    /// First day (`None`: open).
    pub from: Option<i32>,
    /// Last day (`None`: open).
    pub to: Option<i32>,
}

/// The UTC day of an RFC 3339 `full-date` (`2024-12-31`) or `date-time`
/// (`2024-12-31T22:30:00-05:00`, offset required, converted to UTC), parsed strictly by
/// `chrono`.
pub(crate) fn parse_instant(s: &str) -> Option<i32> {
    if s.len() == 10 {
        // A full-date: RFC 3339's own grammar, checked by parsing it as that day's midnight.
        chrono::DateTime::parse_from_rfc3339(&format!("{s}T00:00:00Z")).ok()?;
        return parse_iso_date(s);
    }
    use chrono::Datelike;
    let utc = chrono::DateTime::parse_from_rfc3339(s)
        .ok()?
        .naive_utc()
        .date();
    crate::model::day::days_from_ymd(utc.year(), utc.month(), utc.day())
}

/// What `datetime` accepts, as a JSON Schema `pattern` (ECMA-262) for the OpenAPI
/// document: a Gregorian date (leap days included), optionally a time with seconds,
/// fraction and offset, alone or as an interval with `..` or an empty side for an open end.
/// It says what [`parse_datetime`] accepts, no more and no less, except the order of an
/// interval's ends (a pattern cannot compare them; an interval that ends before it starts
/// is a 400). The tests below hold the two to each other.
pub fn datetime_pattern() -> String {
    let day = "(?:0[1-9]|1[0-9]|2[0-8])";
    let date = format!(
        "(?:[0-9]{{4}}-(?:(?:0[1-9]|1[0-2])-{day}|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)\
         |(?:[0-9]{{2}}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)-02-29)"
    );
    // chrono's RFC 3339 reader: `T`, `t` or a space; a leap second; any number of
    // fraction digits; `Z`, `z` or an offset up to 23:59.
    let time = "(?:[Tt ](?:[01][0-9]|2[0-3]):[0-5][0-9]:(?:[0-5][0-9]|60)(?:\\.[0-9]+)?\
                (?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9]))";
    let at = format!("{date}{time}?");
    format!("^(?:{at}|{at}/(?:{at}|\\.\\.)?|(?:\\.\\.)?/(?:{at}|\\.\\.)|\\.\\./)$")
}

/// Parses `datetime` (RFC 3339 date or date-time, or an interval `a/b` with `..` or an
/// empty side for an open end).
pub fn parse_datetime(v: &str) -> Result<DateRange, ApiError> {
    let bad = || {
        ApiError::bad(
            "datetime",
            format!("`{v}` is not a date, a date-time or an interval such as 2024-01-01/2024-12-31 or ../2024-12-31"),
        )
    };
    let side = |s: &str| -> Result<Option<i32>, ApiError> {
        if s.is_empty() || s == ".." {
            Ok(None)
        } else {
            parse_instant(s).map(Some).ok_or_else(bad)
        }
    };
    let r = match v.split_once('/') {
        None => {
            let d = parse_instant(v).ok_or_else(bad)?;
            DateRange {
                from: Some(d),
                to: Some(d),
            }
        }
        Some((a, b)) => {
            let r = DateRange {
                from: side(a)?,
                to: side(b)?,
            };
            if r.from.is_none() && r.to.is_none() && !(a == ".." || b == "..") {
                return Err(bad());
            }
            r
        }
    };
    if let (Some(a), Some(b)) = (r.from, r.to) {
        if a > b {
            return Err(ApiError::bad(
                "datetime",
                format!("`{v}` ends before it starts"),
            ));
        }
    }
    Ok(r)
}

/// Parsed items query.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemsQuery {
    /// Page size (clamped to the maximum).
    pub limit: usize,
    /// Rows to skip.
    pub offset: usize,
    /// `[min_lon, min_lat, max_lon, max_lat]`; `min_lon > max_lon` crosses the antimeridian.
    pub bbox: Option<[f64; 4]>,
    /// Snapshot selection.
    pub datetime: Option<DateRange>,
    /// Property filters (name, value), validated against the collection's.
    pub filters: Vec<(String, String)>,
    /// `properties=`: the properties to return (all when `None`), in the layer's order.
    pub properties: Option<Vec<&'static str>>,
    /// The encoding asked for with `f`.
    pub format: ItemsFormat,
}

/// How a page of items is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ItemsFormat {
    /// A GeoJSON FeatureCollection (`f=json`, `f=geojson`; the default).
    #[default]
    GeoJson,
    /// GeoJSON text sequence, RFC 8142 (`f=geojsonseq`): one feature per record, for
    /// streaming readers (`ogr2ogr`'s GeoJSONSeq driver, `jq --seq`).
    GeoJsonSeq,
    /// CSV (`f=csv`): `id`, the properties, and the geometry as WKT.
    Csv,
}

impl ItemsFormat {
    /// The value of `f`.
    pub fn parse(v: &str) -> Option<ItemsFormat> {
        match v {
            "json" | "geojson" => Some(ItemsFormat::GeoJson),
            "geojsonseq" => Some(ItemsFormat::GeoJsonSeq),
            "csv" => Some(ItemsFormat::Csv),
            _ => None,
        }
    }

    /// The value of `f` that asks for this encoding.
    pub fn name(self) -> &'static str {
        match self {
            ItemsFormat::GeoJson => "json",
            ItemsFormat::GeoJsonSeq => "geojsonseq",
            ItemsFormat::Csv => "csv",
        }
    }

    /// Its media type.
    pub fn media_type(self) -> &'static str {
        match self {
            ItemsFormat::GeoJson => "application/geo+json",
            ItemsFormat::GeoJsonSeq => "application/geo+json-seq",
            ItemsFormat::Csv => "text/csv; charset=utf-8",
        }
    }

    /// The encoding an `Accept` header prefers when `f` is absent: a sequence or CSV only
    /// when asked for by name ahead of JSON.
    pub fn from_accept(accept: &str) -> ItemsFormat {
        for m in accept.split(',') {
            match m.split(';').next().unwrap_or("").trim() {
                "application/geo+json-seq" => return ItemsFormat::GeoJsonSeq,
                "text/csv" => return ItemsFormat::Csv,
                "application/geo+json" | "application/json" => return ItemsFormat::GeoJson,
                _ => {}
            }
        }
        ItemsFormat::GeoJson
    }
}

/// Parses `properties=a,b`: names of `layer`'s properties, returned in the layer's order.
pub fn parse_properties(v: &str, layer: Layer) -> Result<Vec<&'static str>, ApiError> {
    let names = crate::output::schema::names(layer);
    let asked: Vec<&str> = v.split(',').collect();
    if let Some(bad) = asked.iter().find(|a| !names.contains(a)) {
        return Err(ApiError::bad(
            "properties",
            format!("no property `{bad}` (names are separated by commas, without spaces); see /collections/{}/queryables or the API definition; this collection has: {}", layer.id(), names.join(", ")),
        ));
    }
    Ok(names.into_iter().filter(|n| asked.contains(n)).collect())
}

/// The largest `offset` (as documented): far beyond any layer's features.
pub const MAX_OFFSET: usize = 1_000_000_000;

/// Parses and validates the items query parameters; `filters` are the property filters
/// the collection accepts.
pub fn parse_items_query(
    params: &[(String, String)],
    (default_limit, max_limit): (usize, usize),
    layer: Layer,
    filters: &[&str],
) -> Result<ItemsQuery, ApiError> {
    let mut q = ItemsQuery {
        limit: default_limit,
        offset: 0,
        bbox: None,
        datetime: None,
        filters: Vec::new(),
        properties: None,
        format: ItemsFormat::GeoJson,
    };
    let mut seen = std::collections::HashSet::new();
    for (k, v) in params {
        if !seen.insert(k.as_str()) {
            return Err(ApiError::bad(k, "given more than once"));
        }
        match k.as_str() {
            "limit" => {
                let n: u64 = v.parse().map_err(|_| {
                    ApiError::bad("limit", format!("`{v}` is not a positive integer"))
                })?;
                if n == 0 {
                    return Err(ApiError::bad("limit", "must be at least 1"));
                }
                q.limit = usize::try_from(n).unwrap_or(usize::MAX).min(max_limit);
            }
            "offset" => {
                q.offset = v.parse().ok().filter(|n| *n <= MAX_OFFSET).ok_or_else(|| {
                    ApiError::bad(
                        "offset",
                        format!("`{v}` is not an integer in 0..=1000000000"),
                    )
                })?;
            }
            "bbox" => q.bbox = Some(parse_bbox(v)?),
            "datetime" => q.datetime = Some(parse_datetime(v)?),
            "f" => {
                q.format = ItemsFormat::parse(v).ok_or_else(|| {
                    ApiError::bad("f", format!("`{v}`: use json, geojson, geojsonseq or csv"))
                })?;
            }
            "properties" => q.properties = Some(parse_properties(v, layer)?),
            other if filters.contains(&other) => {
                validate_filter(other, v)?;
                q.filters.push((other.to_owned(), v.clone()));
            }
            other => {
                let mut allowed = vec!["limit", "offset", "bbox", "datetime", "properties", "f"];
                allowed.extend_from_slice(filters);
                return Err(ApiError::bad(
                    other,
                    format!("unknown parameter; allowed: {}", allowed.join(", ")),
                ));
            }
        }
    }
    Ok(q)
}

/// Refuses a filter on a field the caller may not see (`gap` without `deployments:read`).
pub(crate) fn filters_allowed(q: &ItemsQuery, access: &Access) -> Result<(), ApiError> {
    let audience = access.audience();
    if let Some((k, _)) = q.filters.iter().find(|(k, _)| !audience.may_see(k)) {
        return Err(ApiError::Forbidden(format!(
            "filtering on `{k}` needs the `deployments:read` scope"
        )));
    }
    let selected = q.properties.iter().flatten();
    match selected.into_iter().find(|k| !audience.may_see(k)) {
        Some(k) => Err(ApiError::Forbidden(format!(
            "the property `{k}` needs the `deployments:read` scope"
        ))),
        None => Ok(()),
    }
}

/// The raw value of a parameter, as given (for links that repeat it).
pub(crate) fn raw_param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

pub(crate) fn validate_filter(name: &str, v: &str) -> Result<(), ApiError> {
    let ok = match name {
        "tier" => Tier::parse(v).is_some(),
        "gap" => v == "true" || v == "false",
        "category" => crate::model::rows::Category::parse(v).is_some(),
        _ => !v.is_empty() && v.len() <= 200,
    };
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad(name, format!("`{v}` is not a valid value")))
    }
}

pub(crate) fn parse_bbox(v: &str) -> Result<[f64; 4], ApiError> {
    let parts: Vec<f64> = v
        .split(',')
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| {
            ApiError::bad(
                "bbox",
                format!("`{v}` is not four (or six) comma-separated numbers"),
            )
        })?;
    // Four numbers, or six with heights (ignored: the layers are flat).
    let (x1, y1, x2, y2) = match parts[..] {
        [x1, y1, x2, y2] | [x1, y1, _, x2, y2, _] => (x1, y1, x2, y2),
        _ => return Err(ApiError::bad(
            "bbox",
            "expected minLon,minLat,maxLon,maxLat (or six numbers with minHeight and maxHeight)",
        )),
    };
    // OpenAPI 3.0 cannot bound each position of the array: the ranges are said in the
    // document's description (heights, metres, are only required to be numbers).
    if !parts.iter().all(|p| p.is_finite()) {
        return Err(ApiError::bad(
            "bbox",
            format!("`{v}`: a number is not finite"),
        ));
    }
    if !(-180.0..=180.0).contains(&x1) || !(-180.0..=180.0).contains(&x2) {
        return Err(ApiError::bad(
            "bbox",
            format!("`{v}`: a longitude is outside -180..180 (the order is minLon,minLat,maxLon,maxLat)"),
        ));
    }
    if !(-90.0..=90.0).contains(&y1) || !(-90.0..=90.0).contains(&y2) {
        return Err(ApiError::bad(
            "bbox",
            format!(
                "`{v}`: a latitude is outside -90..90 (the order is minLon,minLat,maxLon,maxLat)"
            ),
        ));
    }
    if y1 > y2 {
        return Err(ApiError::bad(
            "bbox",
            format!("`{v}`: minLat {y1} > maxLat {y2}, the box ends before it starts"),
        ));
    }
    Ok([x1, y1, x2, y2])
}

/// Whether a bounding box intersects the query box (which may cross the antimeridian).
pub fn intersects(cell: [f64; 4], q: [f64; 4]) -> bool {
    let lat_ok = cell[1] <= q[3] && cell[3] >= q[1];
    let lon_ok = if q[0] <= q[2] {
        cell[0] <= q[2] && cell[2] >= q[0]
    } else {
        cell[0] <= q[2] || cell[2] >= q[0]
    };
    lat_ok && lon_ok
}

pub(crate) fn point_in(lat: f64, lon: f64, bbox: Option<[f64; 4]>) -> bool {
    bbox.is_none_or(|b| intersects([lon, lat, lon, lat], b))
}

pub(crate) fn encode_query(q: &ItemsQuery, offset: usize, raw_datetime: Option<&str>) -> String {
    let mut s = format!("limit={}&offset={offset}", q.limit);
    if let Some(b) = q.bbox {
        s.push_str(&format!("&bbox={},{},{},{}", b[0], b[1], b[2], b[3]));
    }
    if let Some(d) = raw_datetime {
        s.push_str(&format!("&datetime={}", d.replace('+', "%2B")));
    }
    for (k, v) in &q.filters {
        s.push_str(&format!(
            "&{k}={}",
            v.replace('&', "%26").replace(' ', "%20")
        ));
    }
    if let Some(p) = &q.properties {
        s.push_str(&format!("&properties={}", p.join(",")));
    }
    if q.format != ItemsFormat::GeoJson {
        s.push_str(&format!("&f={}", q.format.name()));
    }
    s
}

/// A `date` parameter naming a stored snapshot (tiles, TileJSON, explanations, scenarios,
/// plans): a calendar date, written back as `YYYY-MM-DD`.
pub fn snapshot_date(v: &str) -> Result<String, ApiError> {
    parse_iso_date(v)
        .map(crate::model::day::format_date)
        .ok_or_else(|| ApiError::bad("date", format!("`{v}` is not a date (YYYY-MM-DD)")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn documented(v: &str) -> bool {
        regex::Regex::new(&datetime_pattern())
            .map(|re| re.is_match(v))
            .unwrap_or(false)
    }

    fn reversed(v: &str) -> bool {
        parse_datetime(v).is_err_and(|e| e.to_string().contains("ends before it starts"))
    }

    #[test]
    fn the_pattern_says_what_the_parser_accepts() {
        for v in [
            "2024-12-31",
            "2024-02-29",
            "2000-02-29",
            "0000-02-29",
            "2024-12-31T22:00:00Z",
            "2024-12-31t22:00:00z",
            "2024-12-31 22:00:00+05:00",
            "2024-12-31T23:59:60.123456789012Z",
            "0000-01-01T00:00:00+05:00",
            "2024-01-01/2024-12-31",
            "../2024-12-31",
            "2024-12-31/..",
            "/2024-12-31",
            "2024-12-31/",
            "../..",
            "../",
            "/..",
        ] {
            assert!(documented(v), "{v} should match the pattern");
            assert!(parse_datetime(v).is_ok(), "{v} should parse");
        }
        for v in [
            "",
            "0",
            "00",
            "/",
            "..",
            "2023-02-29",
            "1900-02-29",
            "2024-04-31",
            "2024-13-01",
            "2024-00-10",
            "2024-1-31",
            "2024-12-31Tgarbage",
            "2024-12-31T25:00:00Z",
            "2024-12-31T12:00Z",
            "2024-12-31T12:00:00",
            "2024-12-31T12:00:00+24:00",
            "2024-12-31T12:00:00+0500",
            "2024-12-31T12:00:00.Z",
            "2024-12-31T12:00:00,5Z",
            "+2024-12-31",
            "2024-12-31 ",
            "2024-12-31/2025-01-01/2025-02-01",
            ".../2024-12-31",
        ] {
            assert!(!documented(v), "{v:?} should not match the pattern");
            assert!(parse_datetime(v).is_err(), "{v:?} should be refused");
        }
        assert!(reversed("2024-12-31/2024-01-01"));
    }

    proptest! {
        // Everything the pattern documents is accepted (or refused only for its order).
        #[test]
        fn every_documented_datetime_is_accepted(
            v in proptest::string::string_regex(
                datetime_pattern().trim_start_matches('^').trim_end_matches('$'),
            ).unwrap_or_else(|e| panic!("{e}"))
        ) {
            prop_assert!(documented(&v), "{v}");
            prop_assert!(parse_datetime(&v).is_ok() || reversed(&v), "{v}");
        }

        // Near misses: the pattern and the parser agree on strings that look like dates.
        #[test]
        fn pattern_and_parser_agree_on_near_misses(
            v in "(\\.\\.|[0-9]{2}(00|[0-9]{2})-(0[0-9]|1[0-3])-([0-2][0-9]|3[0-2])([Tt _]([01][0-9]|2[0-5]):[0-6][0-9]:[0-6][0-9](\\.[0-9]{0,3})?([Zz]|[+-]([01][0-9]|2[0-5]):?[0-6][0-9])?)?)?(/(\\.\\.|[0-9]{4}-(0[0-9]|1[0-3])-([0-2][0-9]|3[0-2]))?)?"
        ) {
            prop_assert_eq!(documented(&v), parse_datetime(&v).is_ok() || reversed(&v), "{}", v);
        }
    }
}
