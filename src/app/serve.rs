//! Serving: `vigil serve` (and the serving half of `vigil demo`), `vigil healthcheck`
//! and `vigil token`.

use super::{Context, Error};
use crate::config::Config;
use crate::server;
use std::net::SocketAddr;

/// `vigil serve --bind ADDR [--allow-anonymous]`: serves the store until Ctrl-C or
/// SIGTERM; `ready` is called with the address once the socket listens. Runs on the
/// caller's multi-threaded Tokio runtime.
pub async fn serve(
    ctx: &Context,
    bind: &str,
    allow_anonymous: bool,
    ready: impl FnOnce(SocketAddr),
) -> Result<(), Error> {
    let config = Config::load(ctx.config.as_deref())?;
    let state = server::load_state_at(&ctx.location(), config)?;
    server::serve(state, bind, allow_anonymous, ready).await?;
    Ok(())
}

/// `vigil healthcheck --url U`: a plain HTTP GET; Ok when the answer is 200.
pub fn healthcheck(url: &str) -> Result<(), Error> {
    use std::io::{Read, Write};
    let bad = |reason: &'static str| Error::Argument {
        parameter: "--url",
        value: url.to_owned(),
        reason,
    };
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| bad("expected http://HOST:PORT/PATH"))?;
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let addr = if host.contains(':') {
        host.to_owned()
    } else {
        format!("{host}:80")
    };
    let timeout = std::time::Duration::from_secs(5);
    let unhealthy = |e: std::io::Error| Error::Unhealthy(format!("{url}: {e}"));
    let addrs: Vec<std::net::SocketAddr> = std::net::ToSocketAddrs::to_socket_addrs(&addr)
        .map_err(unhealthy)?
        .collect();
    let first = addrs
        .first()
        .ok_or_else(|| bad("the host has no address"))?;
    let mut conn = std::net::TcpStream::connect_timeout(first, timeout).map_err(unhealthy)?;
    conn.set_read_timeout(Some(timeout)).map_err(unhealthy)?;
    write!(
        conn,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .map_err(unhealthy)?;
    let mut head = [0u8; 64];
    let n = conn.read(&mut head).map_err(unhealthy)?;
    let line = String::from_utf8_lossy(&head[..n]);
    if line.starts_with("HTTP/1.1 200") || line.starts_with("HTTP/1.0 200") {
        Ok(())
    } else {
        Err(Error::Unhealthy(format!(
            "{url} answered `{}`",
            line.lines().next().unwrap_or("")
        )))
    }
}

/// A new bearer token: given once to its holder, only its hash is configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// Who holds it.
    pub name: String,
    /// The token (64 hex digits).
    pub token: String,
    /// Its SHA-256, for `[[server.tokens]]`.
    pub sha256: String,
    /// The scopes granted.
    pub scopes: Vec<String>,
}

/// `vigil token --name N --scopes S,…`: a new random bearer token (32 bytes of the
/// system's randomness) and the hash the configuration stores.
pub fn token(name: &str, scopes: &[String]) -> Result<Token, Error> {
    if let Some(bad) = scopes
        .iter()
        .find(|s| crate::config::Scope::parse(s).is_none())
    {
        return Err(Error::Argument {
            parameter: "--scopes",
            value: bad.clone(),
            reason: "use risk:read, deployments:read or admin",
        });
    }
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes))
        .map_err(Error::Randomness)?;
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(Token {
        name: name.to_owned(),
        sha256: server::auth::token_hash(&token),
        token,
        scopes: scopes.to_vec(),
    })
}
