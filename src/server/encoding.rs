//! Content coding: whether a client takes gzip (`Accept-Encoding` with q-values), the
//! response compression of JSON, GeoJSON and CSV answers, and ETags that differ by coding.

use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use std::io::Write;

/// Whether `Accept-Encoding` admits gzip: `gzip` or `*` with a q-value above 0, and not
/// refused by name (`gzip;q=0`).
pub fn accepts_gzip(headers: &HeaderMap) -> bool {
    let Some(v) = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let mut named = None;
    let mut star = None;
    for item in v.split(',') {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .or_else(|| p.trim().strip_prefix("Q="))
            })
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        match coding.as_str() {
            "gzip" | "x-gzip" => named = Some(q > 0.0),
            "*" => star = Some(q > 0.0),
            _ => {}
        }
    }
    named.or(star).unwrap_or(false)
}

/// gzip of `bytes` (level 6: the grids are compressed once and kept).
pub fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes)?;
    enc.finish()
}

/// The suffix that marks the ETag of a gzip-coded representation.
const GZIP_TAG: &str = "-gzip\"";

/// Middleware outside the compression layer: a gzip-coded answer gets an ETag of its own
/// (`"…-gzip"`), since its bytes differ from the identity answer's, and every answer that
/// could be coded says `Vary: Accept-Encoding`. A 304 to a client that holds the gzip
/// representation names that one.
pub async fn coding_etag(req: Request, next: Next) -> Response {
    let asked_gzip_tag = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains(GZIP_TAG));
    let mut res = next.run(req).await;
    let gzipped = res
        .headers()
        .get(header::CONTENT_ENCODING)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
    let retag = gzipped || (res.status() == StatusCode::NOT_MODIFIED && asked_gzip_tag);
    let h = res.headers_mut();
    if retag {
        let tagged = h
            .get(header::ETAG)
            .and_then(|t| t.to_str().ok())
            .filter(|t| t.ends_with('"') && !t.ends_with(GZIP_TAG))
            .and_then(|t| HeaderValue::from_str(&format!("{}{GZIP_TAG}", &t[..t.len() - 1])).ok());
        if let Some(t) = tagged {
            h.insert(header::ETAG, t);
        }
    }
    if h.contains_key(header::ETAG) && !h.contains_key(header::VARY) {
        h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    }
    res
}

/// An `If-None-Match` entity tag with the gzip mark taken off, so that the snapshot ETag
/// check matches either representation.
pub fn identity_tag(tag: &str) -> std::borrow::Cow<'_, str> {
    match tag.strip_suffix(GZIP_TAG) {
        Some(stem) => format!("{stem}\"").into(),
        None => tag.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(v: &str) -> HeaderMap {
        let mut m = HeaderMap::new();
        m.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(v).unwrap_or(HeaderValue::from_static("")),
        );
        m
    }

    #[test]
    fn q_values_are_honoured() {
        assert!(accepts_gzip(&h("gzip, deflate, br")));
        assert!(accepts_gzip(&h("br;q=1.0, gzip;q=0.5")));
        assert!(accepts_gzip(&h("*")));
        assert!(!accepts_gzip(&h("gzip;q=0")));
        assert!(!accepts_gzip(&h("gzip; q=0.000, *")));
        assert!(!accepts_gzip(&h("identity")));
        assert!(!accepts_gzip(&h("*;q=0")));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn the_gzip_mark_comes_off() {
        assert_eq!(identity_tag("\"abc-01\""), "\"abc-01\"");
        assert_eq!(identity_tag("\"abc-01-gzip\""), "\"abc-01\"");
    }
}
