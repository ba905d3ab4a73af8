//! The public root URL every link starts with: `[server] public_url` when set; else, when
//! `[server] trust_proxy` is on, what the proxy says (`Forwarded`, `X-Forwarded-Proto`,
//! `X-Forwarded-Host`, `X-Forwarded-Prefix`); else `http://` and the `Host` header.
//! Written once here; handlers take [`Origin`] as an extractor.

use super::AppState;
use crate::config::ServerConfig;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use std::convert::Infallible;
use std::sync::Arc;

/// The root URL of the server as the client sees it, without a trailing `/`
/// (`https://vigil.example.org/vigil`); empty when the request names no usable host, so
/// that links are then relative to the server's root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin(pub String);

impl FromRequestParts<Arc<AppState>> for Origin {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        Ok(Origin(public_root(&parts.headers, &state.config.server)))
    }
}

/// The public root for a request with `headers` under `server`'s settings.
pub fn public_root(headers: &HeaderMap, server: &ServerConfig) -> String {
    if !server.public_url.is_empty() {
        return server.public_url.trim_end_matches('/').to_owned();
    }
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let own_host = text(header::HOST.as_str()).filter(|h| is_host(h));
    if !server.trust_proxy {
        return own_host.map(|h| format!("http://{h}")).unwrap_or_default();
    }
    let forwarded = text(header::FORWARDED.as_str())
        .map(first_forwarded)
        .unwrap_or_default();
    let first = |name: &str| text(name).and_then(|v| v.split(',').next()).map(str::trim);
    let proto = forwarded
        .proto
        .or_else(|| first("x-forwarded-proto").map(str::to_ascii_lowercase))
        .filter(|p| p == "http" || p == "https")
        .unwrap_or_else(|| "http".to_owned());
    let host = forwarded
        .host
        .or_else(|| first("x-forwarded-host").map(str::to_owned))
        .filter(|h| is_host(h))
        .or_else(|| own_host.map(str::to_owned));
    let prefix = first("x-forwarded-prefix")
        .map(|p| p.trim_end_matches('/'))
        .filter(|p| is_prefix(p))
        .unwrap_or("");
    match host {
        Some(host) => format!("{proto}://{host}{prefix}"),
        None => prefix.to_owned(),
    }
}

/// `proto` and `host` of the first element of a `Forwarded` header (RFC 7239): the one the
/// proxy the client reached added.
#[derive(Debug, Default, PartialEq)]
struct Forwarded {
    proto: Option<String>,
    host: Option<String>,
}

fn first_forwarded(value: &str) -> Forwarded {
    let mut out = Forwarded::default();
    let element = value.split(',').next().unwrap_or("");
    for pair in element.split(';') {
        let Some((key, v)) = pair.split_once('=') else {
            continue;
        };
        let v = v.trim().trim_matches('"');
        match key.trim().to_ascii_lowercase().as_str() {
            "proto" => out.proto = Some(v.to_ascii_lowercase()),
            "host" => out.host = Some(v.to_owned()),
            _ => {}
        }
    }
    out
}

/// A host name or address with an optional port, nothing that could end a URL's authority.
fn is_host(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 255
        && h.chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
}

/// A path prefix: `/` then path characters, or empty.
fn is_prefix(p: &str) -> bool {
    p.is_empty()
        || (p.starts_with('/')
            && !p.starts_with("//")
            && p.len() <= 200
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || "/-._~".contains(c)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(pairs: &[(&str, &str)], public_url: &str, trust_proxy: bool) -> String {
        let mut headers = HeaderMap::new();
        for (k, v) in pairs {
            headers.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap_or(header::HOST),
                v.parse().unwrap_or_else(|e| panic!("{e}")),
            );
        }
        let server = ServerConfig {
            public_url: public_url.into(),
            trust_proxy,
            ..ServerConfig::default()
        };
        public_root(&headers, &server)
    }

    const PROXIED: &[(&str, &str)] = &[
        ("host", "127.0.0.1:8080"),
        ("x-forwarded-proto", "https"),
        ("x-forwarded-host", "vigil.example.org"),
        ("x-forwarded-prefix", "/vigil/"),
    ];

    #[test]
    fn without_trust_the_proxy_headers_are_ignored() {
        assert_eq!(root(PROXIED, "", false), "http://127.0.0.1:8080");
        assert_eq!(root(&[], "", false), "");
        assert_eq!(root(&[("host", "a b")], "", false), "");
    }

    #[test]
    fn a_trusted_proxy_names_scheme_host_and_prefix() {
        assert_eq!(root(PROXIED, "", true), "https://vigil.example.org/vigil");
        let forwarded = [
            ("host", "10.0.0.2"),
            (
                "forwarded",
                "for=192.0.2.60;proto=HTTPS;host=\"maps.example.org:8443\", for=10.0.0.1;proto=http",
            ),
            ("x-forwarded-proto", "http"),
        ];
        assert_eq!(root(&forwarded, "", true), "https://maps.example.org:8443");
        // A list from several proxies: the first (client-facing) one counts.
        let listed = [
            ("host", "10.0.0.2"),
            ("x-forwarded-proto", "https, http"),
            ("x-forwarded-host", "a.example.org, b.internal"),
        ];
        assert_eq!(root(&listed, "", true), "https://a.example.org");
    }

    #[test]
    fn hostile_proxy_values_fall_back() {
        let odd = [
            ("host", "vigil.test"),
            ("x-forwarded-proto", "javascript"),
            ("x-forwarded-host", "evil.example/path?"),
            ("x-forwarded-prefix", "//evil.example"),
        ];
        assert_eq!(root(&odd, "", true), "http://vigil.test");
    }

    #[test]
    fn the_public_url_wins() {
        assert_eq!(
            root(PROXIED, "https://ops.example.org/early-warning/", true),
            "https://ops.example.org/early-warning"
        );
    }
}
