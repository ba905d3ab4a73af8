//! A plain-HTTP URL a webhook is POSTed to: host, port and path, checked once where the
//! configuration is read.

/// `http://host[:port][/path]`, split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    /// Host name or address (IPv6 in brackets).
    pub host: String,
    /// Port (80 when not given).
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
}

impl HttpUrl {
    /// Parses `url`, or `None` when it is not a plain-HTTP URL with a host (no user info,
    /// no fragment, no spaces or control characters).
    pub fn parse(url: &str) -> Option<HttpUrl> {
        let rest = url.strip_prefix("http://")?;
        if rest
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '#')
        {
            return None;
        }
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        if authority.is_empty() || authority.contains('@') {
            return None;
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.is_empty() && (!h.contains(':') || h.ends_with(']')) => {
                (h, p.parse::<u16>().ok().filter(|p| *p > 0)?)
            }
            _ if authority.starts_with('[') || !authority.contains(':') => (authority, 80),
            _ => return None,
        };
        Some(HttpUrl {
            host: host.to_owned(),
            port,
            path: if path.is_empty() {
                "/".into()
            } else {
                path.to_owned()
            },
        })
    }

    /// `host:port` to connect to.
    pub fn authority(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_urls_split_and_others_are_refused() {
        let u = HttpUrl::parse("http://127.0.0.1:9000/hooks/vigil?x=1");
        assert_eq!(
            u,
            Some(HttpUrl {
                host: "127.0.0.1".into(),
                port: 9000,
                path: "/hooks/vigil?x=1".into()
            })
        );
        assert_eq!(
            HttpUrl::parse("http://relay").map(|u| (u.port, u.path)),
            Some((80, "/".into()))
        );
        assert_eq!(
            HttpUrl::parse("http://[::1]:8081/a").map(|u| u.authority()),
            Some("[::1]:8081".into())
        );
        for bad in [
            "https://example.org/",
            "http://",
            "http://user@host/",
            "http://host:0/",
            "http://host:99999/",
            "http://host/a b",
            "ftp://host/",
        ] {
            assert_eq!(HttpUrl::parse(bad), None, "{bad}");
        }
    }
}
