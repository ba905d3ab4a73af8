//! One signed HTTP/1.1 POST and its answer's status, with a timeout on every step.

use super::DeliveryError;
use crate::model::http_url::HttpUrl;
use hmac::{Hmac, Mac};
use std::io::{Read, Write};
use std::time::Duration;

/// A message to POST.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The receiver.
    pub url: &'a HttpUrl,
    /// The shared secret.
    pub secret: &'a str,
    /// `X-Vigil-Delivery`.
    pub delivery_id: &'a str,
    /// The JSON body.
    pub body: &'a [u8],
    /// Connect, send and answer timeout.
    pub timeout: Duration,
}

/// `sha256=<hex>`: HMAC-SHA256 with `secret` over `"<timestamp>.<body>"`.
pub fn sign(secret: &str, timestamp: u64, body: &[u8]) -> String {
    // HMAC accepts keys of any length: `new_from_slice` cannot fail for it.
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let tag = mac.finalize().into_bytes();
    let mut out = String::with_capacity(71);
    out.push_str("sha256=");
    for b in tag {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// POSTs the request; `Ok` on a 2xx answer.
pub fn post(r: &Request<'_>) -> Result<(), DeliveryError> {
    let full = format!("http://{}{}", r.url.authority(), r.url.path);
    let io = |source| DeliveryError::Io {
        url: full.clone(),
        source,
    };
    let addrs: Vec<std::net::SocketAddr> =
        std::net::ToSocketAddrs::to_socket_addrs(&r.url.authority())
            .map_err(io)?
            .collect();
    let mut conn = None;
    let mut last = None;
    for a in &addrs {
        match std::net::TcpStream::connect_timeout(a, r.timeout) {
            Ok(c) => {
                conn = Some(c);
                break;
            }
            Err(e) => last = Some(e),
        }
    }
    let mut conn = conn.ok_or_else(|| {
        io(last.unwrap_or_else(|| std::io::Error::other("the host has no address")))
    })?;
    conn.set_read_timeout(Some(r.timeout)).map_err(io)?;
    conn.set_write_timeout(Some(r.timeout)).map_err(io)?;
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: vigil/{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nX-Vigil-Delivery: {}\r\nX-Vigil-Timestamp: {timestamp}\r\nX-Vigil-Signature: {}\r\nConnection: close\r\n\r\n",
        r.url.path,
        r.url.authority(),
        env!("CARGO_PKG_VERSION"),
        r.body.len(),
        r.delivery_id,
        sign(r.secret, timestamp, r.body),
    );
    conn.write_all(head.as_bytes()).map_err(io)?;
    conn.write_all(r.body).map_err(io)?;
    conn.flush().map_err(io)?;
    // The status line is all that is needed; read at most 1 KiB of the answer, within the
    // attempt's timeout overall (a receiver trickling a byte at a time cannot hold the run).
    let deadline = std::time::Instant::now() + r.timeout;
    let mut buf = [0u8; 1024];
    let mut n = 0;
    while n < buf.len() {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Err(io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "no status line within the timeout",
            )));
        }
        conn.set_read_timeout(Some(left)).map_err(io)?;
        let got = conn.read(&mut buf[n..]).map_err(io)?;
        if got == 0 || buf[..n + got].contains(&b'\n') {
            n += got;
            break;
        }
        n += got;
    }
    let line = String::from_utf8_lossy(&buf[..n]);
    let status = line
        .strip_prefix("HTTP/1.")
        .and_then(|rest| rest.get(2..5))
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or(DeliveryError::Protocol { url: full.clone() })?;
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(DeliveryError::Status { url: full, status })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body() {
        // Independent value: Python's `hmac.new(b"key", b"1700000000.{}", "sha256")`.
        assert_eq!(
            sign("key", 1_700_000_000, b"{}"),
            "sha256=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae"
        );
        // A different body, timestamp or secret gives another signature.
        assert_ne!(
            sign("key", 1_700_000_000, b"{ }"),
            sign("key", 1_700_000_000, b"{}")
        );
        assert_ne!(
            sign("key", 1_700_000_001, b"{}"),
            sign("key", 1_700_000_000, b"{}")
        );
        assert_ne!(
            sign("kez", 1_700_000_000, b"{}"),
            sign("key", 1_700_000_000, b"{}")
        );
    }

    #[test]
    fn a_receiver_trickling_its_answer_cannot_hold_an_attempt_past_its_timeout() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        std::thread::spawn(move || {
            if let Ok((mut c, _)) = listener.accept() {
                let mut buf = [0u8; 4096];
                let _ = c.read(&mut buf);
                // One byte every 300 ms, never a whole status line.
                for _ in 0..40 {
                    if c.write_all(b"H").is_err() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(300));
                }
            }
        });
        let url = HttpUrl::parse(&format!("http://{addr}/x")).unwrap_or_else(|| panic!("url"));
        let t = std::time::Instant::now();
        let r = post(&Request {
            url: &url,
            secret: "0123456789abcdef",
            delivery_id: "risk-1.v1",
            body: b"{}",
            timeout: Duration::from_secs(1),
        });
        assert!(r.is_err());
        assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    }
}
