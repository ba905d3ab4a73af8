//! Delivering alert messages to webhooks: a signed POST over plain HTTP, retried with
//! exponential back-off and jitter inside a time budget, and the dead-letter file of
//! messages that could not be delivered (`vigil alerts redeliver` sends them again).
//!
//! The signature: `X-Vigil-Signature: sha256=<hex HMAC-SHA256(secret, "<t>.<body>")>` with
//! `X-Vigil-Timestamp: <t>` (Unix seconds); receivers recompute it and refuse timestamps
//! outside their replay window. `X-Vigil-Delivery` is the same for every attempt of one
//! episode version: the key a receiver deduplicates on (delivery is at least once).

mod dead_letter;
mod post;

pub use dead_letter::{DeadLetter, DeadLetters};
pub use post::{post, sign, Request};

use crate::model::http_url::HttpUrl;
use std::time::{Duration, Instant};

/// Why a delivery failed.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The receiver could not be reached or did not answer in time.
    #[error("{url}: {source}")]
    Io {
        /// The receiver.
        url: String,
        /// The network error.
        source: std::io::Error,
    },
    /// The receiver answered, but not with 2xx.
    #[error("{url}: answered {status}")]
    Status {
        /// The receiver.
        url: String,
        /// The HTTP status.
        status: u16,
    },
    /// The answer was not HTTP.
    #[error("{url}: not an HTTP answer")]
    Protocol {
        /// The receiver.
        url: String,
    },
    /// The dead-letter file could not be read or written.
    #[error("dead-letter file {path}: {message}")]
    DeadLetter {
        /// The file.
        path: String,
        /// What went wrong (with the line for a bad line).
        message: String,
    },
}

/// How hard to try (`[alerts]`).
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts before giving up.
    pub max_attempts: u32,
    /// Delay before the first retry; doubled each retry, plus jitter up to as much again.
    pub backoff: Duration,
    /// One attempt's connect / send / answer timeout.
    pub timeout: Duration,
}

/// What became of one message.
#[derive(Debug)]
pub enum Outcome {
    /// A 2xx answer, after this many attempts.
    Delivered(u32),
    /// Every attempt failed; the last error.
    Failed(u32, DeliveryError),
    /// The run's delivery time ran out first (the message waits for the next run).
    OutOfTime(u32, Option<DeliveryError>),
}

/// Sends `body` to `url` until it is accepted, the attempts are used up, or `deadline`
/// passes; `jitter_seed` makes the jitter differ between messages.
pub fn deliver(
    url: &HttpUrl,
    secret: &str,
    delivery_id: &str,
    body: &[u8],
    policy: RetryPolicy,
    deadline: Instant,
    jitter_seed: u64,
) -> Outcome {
    let mut last = None;
    let mut rng = crate::model::rand::SplitMix64::new(jitter_seed);
    for attempt in 1..=policy.max_attempts {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Outcome::OutOfTime(attempt - 1, last);
        }
        let request = Request {
            url,
            secret,
            delivery_id,
            body,
            timeout: policy.timeout.min(left),
        };
        match post(&request) {
            Ok(()) => return Outcome::Delivered(attempt),
            Err(e) => {
                tracing::warn!(delivery = delivery_id, attempt, error = %e, "delivery attempt failed");
                last = Some(e);
            }
        }
        if attempt == policy.max_attempts {
            break;
        }
        let base = policy.backoff.saturating_mul(1 << (attempt - 1).min(16));
        let jitter = base.mul_f64(rng.next_f64());
        let wait = base + jitter;
        if Instant::now() + wait >= deadline {
            return Outcome::OutOfTime(attempt, last);
        }
        std::thread::sleep(wait);
    }
    match last {
        Some(e) => Outcome::Failed(policy.max_attempts, e),
        None => Outcome::OutOfTime(0, None),
    }
}
