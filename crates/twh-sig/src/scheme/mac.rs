//! HMAC-SHA256 with cached key midstates (RustCrypto `hmac`), and
//! constant-time tag matching (`subtle`).
//!
//! The key's two pad blocks are absorbed once per key ([`HmacKey::new`])
//! instead of once per message, which is what lets verification of small
//! bodies run at raw-HMAC speed. Caveat: `hmac` 0.12 does not zeroize its
//! keyed state on drop; the key bytes themselves live in a zeroizing buffer
//! in [`crate::WebhookSecret`].

use hmac::{Hmac, Mac as _};
use sha2::Sha256;
use subtle::{Choice, ConstantTimeEq as _};

use super::parse::Tags;
use crate::key::VerifyKey;
use crate::secret::KeyId;

/// An HMAC-SHA256 key with its two pad blocks already absorbed (the `hmac`
/// crate keeps the inner and outer SHA-256 midstates after `new_from_slice`).
/// Each message starts from a clone of that state, so the per-message cost
/// is the message's own compressions plus one 32-byte outer block.
#[derive(Clone)]
pub(crate) struct HmacKey {
    keyed: Hmac<Sha256>,
}

impl HmacKey {
    pub(crate) fn new(key: &[u8]) -> Self {
        // HMAC accepts keys of any length (longer ones are hashed first), so
        // this cannot fail; the fallback keeps the function total anyway.
        let keyed = Hmac::<Sha256>::new_from_slice(key)
            .unwrap_or_else(|_| Hmac::<Sha256>::new(&Default::default()));
        Self { keyed }
    }

    /// HMAC-SHA256 of the concatenation of `parts`, fed incrementally (no copy).
    pub(crate) fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = self.keyed.clone();
        for part in parts {
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
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
    use super::HmacKey;

    /// The cached keyed state must be reusable: the same `HmacKey` gives for
    /// every message exactly what a freshly keyed HMAC gives, whatever it
    /// computed before (correctness of HMAC itself is RFC 4231's job, in the
    /// known-answer vectors).
    #[test]
    fn reused_key_state_equals_fresh_key_state() {
        let data: Vec<u8> = (0..=255).cycle().take(300).collect();
        for key_len in [1, 32, 64, 65, 131] {
            let key = vec![0xA5_u8; key_len];
            let reused = HmacKey::new(&key);
            for len in [0, 1, 55, 56, 63, 64, 65, 128, 299] {
                let msg = &data[..len];
                let split = len / 2;
                assert_eq!(
                    reused.mac(&[&msg[..split], &msg[split..]]),
                    HmacKey::new(&key).mac(&[msg]),
                    "key {key_len} bytes, message {len} bytes"
                );
            }
        }
    }
}
