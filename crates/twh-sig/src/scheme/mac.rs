//! HMAC-SHA256 with cached key midstates, and constant-time tag matching.
//!
//! HMAC (RFC 2104) over SHA-256: `H((K ^ opad) || H((K ^ ipad) || m))`. The
//! two key blocks are compressed once per key ([`HmacKey::new`]) instead of
//! once per message, which is what lets verification of small bodies run at
//! raw-HMAC speed. The compression function is `sha2::compress256`; this file
//! only does the Merkle–Damgård buffering and padding, and is tested against
//! the `hmac` crate (differential property test) and RFC 4231.
//!
//! Unlike `hmac` 0.12, every key-derived value here (midstates, running
//! state, block buffer) is zeroized on drop.

use sha2::Digest as _;
use sha2::digest::generic_array::GenericArray;
use subtle::{Choice, ConstantTimeEq as _};
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::parse::Tags;
use crate::key::VerifyKey;
use crate::secret::KeyId;

/// SHA-256 initial hash value (FIPS 180-4, 5.3.3).
const IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];
const BLOCK: usize = 64;

fn compress(state: &mut [u32; 8], block: &[u8]) {
    sha2::compress256(
        state,
        core::slice::from_ref(GenericArray::from_slice(block)),
    );
}

/// An HMAC-SHA256 key as its two compressed pad blocks. Zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(crate) struct HmacKey {
    inner: [u32; 8],
    outer: [u32; 8],
}

impl HmacKey {
    pub(crate) fn new(key: &[u8]) -> Self {
        let mut block = [0_u8; BLOCK];
        if key.len() > BLOCK {
            let mut digest = sha2::Sha256::digest(key);
            block[..32].copy_from_slice(&digest);
            digest.as_mut_slice().zeroize();
        } else {
            block[..key.len()].copy_from_slice(key);
        }
        let mut pad = [0_u8; BLOCK];
        let mut this = Self {
            inner: IV,
            outer: IV,
        };
        for (p, k) in pad.iter_mut().zip(&block) {
            *p = k ^ 0x36;
        }
        compress(&mut this.inner, &pad);
        for (p, k) in pad.iter_mut().zip(&block) {
            *p = k ^ 0x5c;
        }
        compress(&mut this.outer, &pad);
        block.zeroize();
        pad.zeroize();
        this
    }

    /// HMAC-SHA256 of the concatenation of `parts`, fed incrementally (no copy).
    pub(crate) fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut inner = Stream::resume(self.inner);
        for part in parts {
            inner.update(part);
        }
        let inner_digest = inner.finish();
        let mut outer = Stream::resume(self.outer);
        outer.update(&inner_digest);
        outer.finish()
    }
}

/// SHA-256 resumed after one compressed block. Zeroized on drop.
#[derive(Zeroize, ZeroizeOnDrop)]
struct Stream {
    state: [u32; 8],
    buf: [u8; BLOCK],
    buf_len: usize,
    /// Bytes hashed so far, including the key block.
    len: u64,
}

impl Stream {
    const fn resume(midstate: [u32; 8]) -> Self {
        Self {
            state: midstate,
            buf: [0; BLOCK],
            buf_len: 0,
            len: BLOCK as u64,
        }
    }

    fn update(&mut self, mut data: &[u8]) {
        self.len += data.len() as u64;
        if self.buf_len > 0 {
            let take = (BLOCK - self.buf_len).min(data.len());
            self.buf[self.buf_len..self.buf_len + take].copy_from_slice(&data[..take]);
            self.buf_len += take;
            data = &data[take..];
            if self.buf_len < BLOCK {
                return;
            }
            compress(&mut self.state, &self.buf);
            self.buf_len = 0;
        }
        let mut blocks = data.chunks_exact(BLOCK);
        for block in &mut blocks {
            compress(&mut self.state, block);
        }
        let rest = blocks.remainder();
        self.buf[..rest.len()].copy_from_slice(rest);
        self.buf_len = rest.len();
    }

    /// Pad (0x80, zeros, 64-bit big-endian bit length) and output the digest.
    fn finish(mut self) -> [u8; 32] {
        let bit_len = self.len.wrapping_mul(8);
        let n = self.buf_len;
        self.buf[n] = 0x80;
        self.buf[n + 1..].fill(0);
        if n + 1 > BLOCK - 8 {
            compress(&mut self.state, &self.buf);
            self.buf.fill(0);
        }
        self.buf[BLOCK - 8..].copy_from_slice(&bit_len.to_be_bytes());
        compress(&mut self.state, &self.buf);
        let mut out = [0_u8; 32];
        for (chunk, word) in out.chunks_exact_mut(4).zip(self.state) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        out
    }
}

/// A 32-byte tag as four words, so `subtle` compares 4 words instead of 32 bytes.
fn words(tag: &[u8; 32]) -> [u64; 4] {
    let mut out = [0_u64; 4];
    for (word, chunk) in out.iter_mut().zip(tag.chunks_exact(8)) {
        let mut bytes = [0_u8; 8];
        bytes.copy_from_slice(chunk);
        *word = u64::from_ne_bytes(bytes);
    }
    out
}

/// Constant-time equality of two 32-byte tags (via `subtle`).
pub(crate) fn ct_eq32(a: &[u8; 32], b: &[u8; 32]) -> Choice {
    words(a)[..].ct_eq(&words(b)[..])
}

/// Whether `tag` equals any of `entries`, comparing every entry in constant
/// time with `subtle` (no early exit on the first match or mismatch).
pub(crate) fn any_eq(tag: &[u8; 32], entries: &[[u8; 32]]) -> bool {
    let mut hit = Choice::from(0);
    for entry in entries {
        hit |= ct_eq32(tag, entry);
    }
    hit.into()
}

/// For each HMAC key, compute the tag once and compare against every entry.
pub(crate) fn match_hmac(keys: &[VerifyKey], parts: &[&[u8]], entries: &Tags<32>) -> Option<KeyId> {
    if entries.is_empty() {
        return None;
    }
    keys.iter().find_map(|key| match key {
        VerifyKey::Hmac(secret) => {
            let tag = secret.mac(parts);
            any_eq(&tag, entries.as_slice()).then(|| secret.key_id())
        }
        VerifyKey::Ed25519(_) => None,
    })
}

#[cfg(test)]
mod tests {
    use hmac::{Hmac, Mac as _};
    use proptest::prelude::*;

    use super::HmacKey;

    fn reference(key: &[u8], parts: &[Vec<u8>]) -> [u8; 32] {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
        for part in parts {
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    #[test]
    fn every_length_around_block_boundaries() {
        let data: Vec<u8> = (0..=255).cycle().take(300).collect();
        for key_len in [1, 31, 32, 63, 64, 65, 131] {
            let key = vec![0xA5_u8; key_len];
            let ours = HmacKey::new(&key);
            for len in 0..300 {
                let msg = &data[..len];
                assert_eq!(
                    ours.mac(&[msg]),
                    reference(&key, &[msg.to_vec()]),
                    "{key_len}/{len}"
                );
            }
        }
    }

    proptest! {
        /// Differential test against the `hmac` crate, with arbitrary splits.
        #[test]
        fn matches_the_hmac_crate(
            key in prop::collection::vec(any::<u8>(), 1..200),
            parts in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..150), 0..6),
        ) {
            let slices: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
            prop_assert_eq!(HmacKey::new(&key).mac(&slices), reference(&key, &parts));
        }
    }
}
