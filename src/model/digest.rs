//! Content digests: data files are named by, and verified against, their SHA-256.

use sha2::{Digest, Sha256};
use std::fmt::Write as _;

/// Lower-case hexadecimal SHA-256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest {
        let _ = write!(out, "{b:02x}");
    }
    out
}
