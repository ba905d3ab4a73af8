//! Access control (DESIGN §6): bearer tokens from the configuration, stored as SHA-256
//! hashes, with scopes. A token also arrives as the password of `Authorization: Basic`
//! (any user name), for GIS clients that can send a user and password but no custom header
//! (QGIS before 3.26, ArcGIS Pro's OGC API connections, GDAL's `GDAL_HTTP_USERPWD`). Every route needs one scope (or none); callers without
//! `deployments:read` never see where bases are, not even as fields of the risk grid.

use super::problem::ApiError;
use super::AppState;
pub use crate::config::Scope;
use crate::config::TokenConfig;
use crate::model::layer::Layer;
use crate::model::visibility::Audience;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// What the caller of a request may see (a request extension set by [`authenticate`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    /// May read the risk layers.
    pub risk: bool,
    /// May read deployments (bases, coverage, gaps).
    pub deployments: bool,
    /// Administrator.
    pub admin: bool,
    /// A token was presented and accepted (responses are then `Cache-Control: private`).
    pub authenticated: bool,
    /// Which configured token it was (its position in `[[server.tokens]]`), for the
    /// access log.
    pub token: Option<usize>,
}

/// The name of the token a request was answered for: a response extension the access log
/// reads (never the token itself).
#[derive(Debug, Clone)]
pub struct TokenName(pub String);

impl Access {
    /// No tokens configured: the server is loopback-only (or explicitly anonymous) and
    /// everything is readable.
    pub const OPEN: Access = Access {
        risk: true,
        deployments: true,
        admin: true,
        authenticated: false,
        token: None,
    };

    /// No valid token: only the public routes.
    pub const NONE: Access = Access {
        risk: false,
        deployments: false,
        admin: false,
        authenticated: false,
        token: None,
    };

    /// Whether the caller holds `scope` (admin holds all).
    pub fn allows(&self, scope: Scope) -> bool {
        self.admin
            || match scope {
                Scope::RiskRead => self.risk,
                Scope::DeploymentsRead => self.deployments,
                Scope::Admin => false,
            }
    }

    /// What this caller may see of deployments: the one test of `deployments:read`.
    pub fn audience(&self) -> Audience {
        Audience::of(self.allows(Scope::DeploymentsRead))
    }

    fn of(token: &TokenConfig, index: usize) -> Access {
        let has = |s: Scope| token.scopes.contains(&s);
        Access {
            risk: has(Scope::RiskRead),
            deployments: has(Scope::DeploymentsRead),
            admin: has(Scope::Admin),
            authenticated: true,
            token: Some(index),
        }
    }
}

/// Decodes `%XX` escapes, as the router does before handlers see path segments (so that
/// `/collections/%62ases` is judged as `/collections/bases`).
fn percent_decoded(path: &str) -> String {
    let b = path.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The scope a request needs (`None`: public).
pub fn required(method: &Method, path: &str) -> Option<Scope> {
    let path = percent_decoded(path);
    let mut parts = path.trim_start_matches('/').split('/');
    let first = parts.next().unwrap_or_default();
    let layer_scope = |layer: Option<&str>| {
        if layer
            .and_then(Layer::from_id)
            .is_some_and(Layer::shows_deployments)
        {
            Scope::DeploymentsRead
        } else {
            Scope::RiskRead
        }
    };
    match first {
        "" | "conformance" | "api" | "healthz" | "map" => None,
        _ if method == Method::OPTIONS => None,
        "metrics" => Some(Scope::Admin),
        "collections" | "tiles" => Some(layer_scope(parts.next())),
        "scenarios" | "plan" => Some(Scope::DeploymentsRead),
        _ => Some(Scope::RiskRead),
    }
}

/// The SHA-256 of a token, lower-case hex (as stored in the configuration).
pub fn token_hash(token: &str) -> String {
    crate::model::digest::sha256_hex(token.as_bytes())
}

/// Compares in time independent of where the strings differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The password of Basic credentials (`base64(user:password)`, RFC 7617): the token.
fn basic_password(credentials: &str) -> Option<String> {
    use base64::Engine;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(credentials)
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    text.split_once(':')
        .map(|(_, password)| password.to_owned())
}

/// The access of a request's `Authorization` header: `Ok(None)` without one.
fn access_of(tokens: &[TokenConfig], auth: Option<&HeaderValue>) -> Result<Option<Access>, ()> {
    let Some(value) = auth else {
        return Ok(None);
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| {
            // The scheme is case-insensitive (RFC 9110 §11.1).
            let (scheme, credentials) = v.trim_start().split_once(' ')?;
            if scheme.eq_ignore_ascii_case("bearer") {
                Some(credentials.trim().to_owned())
            } else if scheme.eq_ignore_ascii_case("basic") {
                basic_password(credentials.trim())
            } else {
                None
            }
        })
        .filter(|t| !t.is_empty())
        .ok_or(())?;
    let hash = token_hash(&token);
    // Every stored hash is compared, so the time does not say which one matched.
    let mut found = None;
    for (i, t) in tokens.iter().enumerate() {
        if same(&hash, &t.sha256) {
            found = Some((i, t));
        }
    }
    found.map(|(i, t)| Some(Access::of(t, i))).ok_or(())
}

/// The caller's access on a server with `tokens`: open without tokens; none on a public
/// route without a token; 401 for a missing token where one is needed or an unknown one.
fn caller(
    tokens: &[TokenConfig],
    auth: Option<&HeaderValue>,
    need: Option<Scope>,
) -> Result<Access, ApiError> {
    if tokens.is_empty() {
        return Ok(Access::OPEN);
    }
    match access_of(tokens, auth) {
        Ok(Some(a)) => Ok(a),
        Ok(None) if need.is_none() => Ok(Access::NONE),
        Ok(None) => Err(ApiError::Unauthorized("a bearer token is required".into())),
        Err(()) => Err(ApiError::Unauthorized(
            "the bearer token is not valid".into(),
        )),
    }
}

/// Middleware: resolves the caller's access, refuses what it does not cover (401 without a
/// valid token, 403 for a missing scope), marks authenticated answers private.
pub async fn authenticate(
    State(state): State<Arc<AppState>>,
    mut req: Request,
    next: Next,
) -> Response {
    let tokens = &state.config.server.tokens;
    let need = required(req.method(), req.uri().path());
    let access = match caller(tokens, req.headers().get(header::AUTHORIZATION), need) {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    if let Some(scope) = need {
        if !access.allows(scope) {
            return ApiError::Forbidden(format!("this needs the `{}` scope", scope.as_str()))
                .into_response();
        }
    }
    req.extensions_mut().insert(access);
    let mut res = next.run(req).await;
    if let Some(t) = access.token.and_then(|i| tokens.get(i)) {
        res.extensions_mut().insert(TokenName(t.name.clone()));
    }
    if access.authenticated {
        res.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-cache"),
        );
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_and_scopes() {
        let get = Method::GET;
        assert_eq!(required(&get, "/"), None);
        assert_eq!(required(&get, "/conformance"), None);
        assert_eq!(required(&get, "/map"), None);
        assert_eq!(required(&get, "/map/js/main.js"), None);
        assert_eq!(required(&get, "/snapshots"), Some(Scope::RiskRead));
        assert_eq!(required(&get, "/collections"), Some(Scope::RiskRead));
        assert_eq!(
            required(&get, "/collections/risk/items"),
            Some(Scope::RiskRead)
        );
        assert_eq!(
            required(&get, "/collections/coverage-gaps/items"),
            Some(Scope::DeploymentsRead)
        );
        assert_eq!(
            required(&get, "/collections/bases"),
            Some(Scope::DeploymentsRead)
        );
        assert_eq!(
            required(&get, "/tiles/bases/1/2/3.mvt"),
            Some(Scope::DeploymentsRead)
        );
        assert_eq!(
            required(&Method::POST, "/scenarios"),
            Some(Scope::DeploymentsRead)
        );
        assert_eq!(required(&get, "/metrics"), Some(Scope::Admin));
        assert_eq!(required(&get, "/grids/latest.csv"), Some(Scope::RiskRead));
        assert_eq!(required(&get, "/anything/else"), Some(Scope::RiskRead));
        assert_eq!(
            required(&get, "/tiles/%62ases/5/17/15.mvt"),
            Some(Scope::DeploymentsRead),
            "escaped names are judged decoded"
        );
        assert_eq!(
            required(&get, "/collections/coverage%2Dgaps/items"),
            Some(Scope::DeploymentsRead)
        );
        assert_eq!(percent_decoded("/a%2"), "/a%2");
        assert_eq!(percent_decoded("/%zz"), "/%zz");
    }

    #[test]
    fn tokens_are_matched_by_hash() {
        let tokens = vec![TokenConfig {
            name: "analyst".into(),
            sha256: token_hash("s3cret"),
            scopes: vec![Scope::RiskRead],
        }];
        let h = |v: &str| HeaderValue::from_str(v).ok();
        let a = access_of(&tokens, h("Bearer s3cret").as_ref());
        assert_eq!(
            a.map(|a| a.map(|a| (a.risk, a.deployments))),
            Ok(Some((true, false)))
        );
        assert_eq!(access_of(&tokens, h("Bearer nope").as_ref()), Err(()));
        // Basic: the password is the token, whatever the user name.
        assert_eq!(access_of(&tokens, h("Basic s3cret").as_ref()), Err(()));
        for (user_pass, ok) in [
            ("analyst:s3cret", true),
            ("anyone:s3cret", true),
            (":s3cret", true),
            ("analyst:nope", false),
            ("s3cret", false),
            ("analyst:", false),
        ] {
            use base64::Engine;
            let b64 = base64::engine::general_purpose::STANDARD.encode(user_pass);
            let a = access_of(&tokens, h(&format!("basic {b64}")).as_ref());
            assert_eq!(a.is_ok_and(|a| a.is_some()), ok, "{user_pass}");
        }
        for scheme in ["BEARER", "bEaReR", "bearer"] {
            assert!(
                access_of(&tokens, h(&format!("{scheme} s3cret")).as_ref())
                    .is_ok_and(|a| a.is_some()),
                "{scheme}"
            );
        }
        assert_eq!(access_of(&tokens, h("Bearer ").as_ref()), Err(()));
        assert_eq!(access_of(&tokens, None), Ok(None));
        assert!(Access::OPEN.allows(Scope::Admin) && !Access::NONE.allows(Scope::RiskRead));
    }
}
