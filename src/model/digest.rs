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

/// Bytes hashed between two kept states.
const STEP: usize = 256 << 10;

/// SHA-256 of successive files that share a beginning — a daily range's snapshots start
/// with the same cell, centre and area columns — without hashing that beginning again:
/// the states after every 256 KiB of the last file hashed, kept with its bytes, and a new
/// file hashed from the last state within the bytes it shares with that file. The same
/// hash as [`sha256_hex`] for any bytes.
#[derive(Default)]
pub struct Sha256Resume {
    bytes: Vec<u8>,
    /// `states[k]`: the state after the first `(k + 1) × STEP` bytes of `bytes`.
    states: Vec<Sha256>,
}

/// A copy starts empty: what is kept only saves work.
impl Clone for Sha256Resume {
    fn clone(&self) -> Self {
        Sha256Resume::default()
    }
}

impl std::fmt::Debug for Sha256Resume {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sha256Resume")
            .field("bytes", &self.bytes.len())
            .field("states", &self.states.len())
            .finish()
    }
}

/// The hash of one file, with the states to keep if it is kept ([`Sha256Resume::keep`]).
pub struct Hashed {
    /// Lower-case hexadecimal SHA-256.
    pub hex: String,
    states: Vec<Sha256>,
}

impl Sha256Resume {
    /// The hash of `bytes`; nothing kept changes.
    pub fn hash(&self, bytes: &[u8]) -> Hashed {
        let shared = shared_prefix(&self.bytes, bytes);
        let resume = (shared / STEP).min(self.states.len());
        let mut states: Vec<Sha256> = self.states[..resume].to_vec();
        let mut h = states.last().cloned().unwrap_or_default();
        for piece in bytes[resume * STEP..].chunks(STEP) {
            h.update(piece);
            if piece.len() == STEP {
                states.push(h.clone());
            }
        }
        let mut hex = String::with_capacity(64);
        for b in h.finalize() {
            let _ = write!(hex, "{b:02x}");
        }
        Hashed { hex, states }
    }

    /// Keeps `bytes`, hashed as `hashed`, for the next file.
    pub fn keep(&mut self, bytes: Vec<u8>, hashed: Hashed) {
        self.bytes = bytes;
        self.states = hashed.states;
    }
}

/// How many first bytes `a` and `b` share.
fn shared_prefix(a: &[u8], b: &[u8]) -> usize {
    const BLOCK: usize = 4096;
    let n = a.len().min(b.len());
    let whole = a[..n]
        .chunks(BLOCK)
        .zip(b[..n].chunks(BLOCK))
        .take_while(|(x, y)| x == y)
        .count()
        * BLOCK;
    let whole = whole.min(n);
    whole
        + a[whole..n]
            .iter()
            .zip(&b[whole..n])
            .take_while(|(x, y)| x == y)
            .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(len: usize, seed: u8) -> Vec<u8> {
        (0..len).map(|i| (i * 31 + i / 977) as u8 ^ seed).collect()
    }

    #[test]
    fn resumed_hashes_equal_hashes_from_the_start() {
        let a = bytes(3 * STEP + 1234, 0);
        let mut b = a.clone();
        b[2 * STEP + 17] ^= 1; // shares two whole steps and more
        let mut c = a.clone();
        c.truncate(STEP); // exactly one step, a prefix of a
        let mut d = a.clone();
        d.extend(bytes(STEP, 9)); // a, then more
        let mut e = a.clone();
        e[0] ^= 0xff; // shares nothing
        let f = Vec::new();
        let mut resume = Sha256Resume::default();
        for next in [a.clone(), b, a.clone(), c, d, a.clone(), e, f, a] {
            let hashed = resume.hash(&next);
            assert_eq!(hashed.hex, sha256_hex(&next));
            resume.keep(next, hashed);
        }
    }

    #[test]
    fn a_hash_not_kept_leaves_the_resume_point_as_it_was() {
        let a = bytes(2 * STEP + 5, 1);
        let mut resume = Sha256Resume::default();
        let hashed = resume.hash(&a);
        resume.keep(a.clone(), hashed);
        let mut b = a.clone();
        b[STEP + 3] ^= 1;
        let _not_kept = resume.hash(&b);
        let mut c = a.clone();
        c[2 * STEP] ^= 1;
        assert_eq!(resume.hash(&c).hex, sha256_hex(&c));
    }

    #[test]
    fn shared_prefixes() {
        let a = bytes(10_000, 3);
        let mut b = a.clone();
        assert_eq!(shared_prefix(&a, &b), 10_000);
        b[8191] ^= 1;
        assert_eq!(shared_prefix(&a, &b), 8191);
        assert_eq!(shared_prefix(&a, &a[..5000]), 5000);
        assert_eq!(shared_prefix(&[], &a), 0);
    }
}
