//! XChaCha20-Poly1305 sealing of values, bound to name and version.

use std::sync::Arc;

use chacha20poly1305::aead::{Aead as _, KeyInit as _, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::{MasterKey, SecretError, SecretName, SecretValue, Version};

/// Nonce length of XChaCha20-Poly1305.
pub(super) const NONCE_LEN: usize = 24;

/// `nonce || ciphertext+tag`.
pub(crate) type Sealed = Arc<[u8]>;

#[derive(Clone)]
pub(crate) struct Sealer {
    cipher: Arc<XChaCha20Poly1305>,
    /// HMAC-SHA256 key authenticating the whole store document (states,
    /// metadata, names), derived from the master key.
    mac_key: Arc<zeroize::Zeroizing<[u8; 32]>>,
}

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// Associated data: domain, name, version. A ciphertext moved to another
/// name or version fails to open.
fn aad(name: &SecretName, version: Version) -> Vec<u8> {
    let mut a = Vec::with_capacity(16 + name.as_str().len() + 9);
    a.extend_from_slice(b"twh-secrets/v1\0");
    a.extend_from_slice(name.as_str().as_bytes());
    a.push(0);
    a.extend_from_slice(&version.get().to_be_bytes());
    a
}

const KEY_CHECK_AAD: &[u8] = b"twh-secrets/v1\0key-check";
const KEY_CHECK_MSG: &[u8] = b"twh-secrets master key check";

impl Sealer {
    pub(crate) fn new(key: &MasterKey) -> Self {
        use hmac::Mac as _;
        let mut mac_key = zeroize::Zeroizing::new([0u8; 32]);
        // HMAC with a 32-byte key cannot fail.
        if let Ok(mut m) = <HmacSha256 as hmac::Mac>::new_from_slice(key.bytes()) {
            m.update(b"twh-secrets/v1\0store-mac-key");
            mac_key.copy_from_slice(&m.finalize().into_bytes());
        }
        Self {
            cipher: Arc::new(XChaCha20Poly1305::new(key.bytes().into())),
            mac_key: Arc::new(mac_key),
        }
    }

    fn mac(&self) -> Result<HmacSha256, SecretError> {
        <HmacSha256 as hmac::Mac>::new_from_slice(&self.mac_key[..])
            .map_err(|_| SecretError::corrupt("store MAC key rejected"))
    }

    /// MAC over the serialized store content.
    pub(super) fn store_mac(&self, content: &[u8]) -> Result<Vec<u8>, SecretError> {
        use hmac::Mac as _;
        let mut m = self.mac()?;
        m.update(content);
        Ok(m.finalize().into_bytes().to_vec())
    }

    /// Constant-time check of [`Sealer::store_mac`].
    pub(super) fn verify_store_mac(&self, content: &[u8], tag: &[u8]) -> bool {
        use hmac::Mac as _;
        self.mac().is_ok_and(|mut m| {
            m.update(content);
            m.verify_slice(tag).is_ok()
        })
    }

    fn seal_raw(&self, msg: &[u8], aad: &[u8]) -> Result<Vec<u8>, SecretError> {
        let mut nonce = [0u8; NONCE_LEN];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut nonce);
        let ct = self
            .cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg, aad })
            .map_err(|_| SecretError::corrupt("encryption failed"))?;
        let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    fn open_raw(&self, sealed: &[u8], aad: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < NONCE_LEN + 16 {
            return None;
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        self.cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad })
            .ok()
    }

    /// A sealed constant proving which key sealed the store.
    pub(super) fn key_check(&self) -> Result<Vec<u8>, SecretError> {
        self.seal_raw(KEY_CHECK_MSG, KEY_CHECK_AAD)
    }

    pub(super) fn verify_key_check(&self, sealed: &[u8]) -> bool {
        self.open_raw(sealed, KEY_CHECK_AAD)
            .is_some_and(|m| m == KEY_CHECK_MSG)
    }
}

impl crate::state::Sealer for Sealer {
    type Payload = Sealed;

    fn seal(
        &self,
        name: &SecretName,
        version: Version,
        value: &SecretValue,
    ) -> Result<Sealed, SecretError> {
        Ok(Arc::from(
            self.seal_raw(value.expose_secret(), &aad(name, version))?,
        ))
    }

    fn open(
        &self,
        name: &SecretName,
        version: Version,
        payload: &Sealed,
    ) -> Result<SecretValue, SecretError> {
        self.open_raw(payload, &aad(name, version))
            .map(SecretValue::from_vec)
            .ok_or_else(|| {
                SecretError::corrupt(format!(
                    "secret {name} version {version} failed to decrypt (tampered or moved)"
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Sealer as _;

    #[test]
    fn aad_binds_name_and_version() {
        let s = Sealer::new(&MasterKey::generate());
        let a = SecretName::new("webhooks/a").unwrap();
        let b = SecretName::new("webhooks/b").unwrap();
        let v1 = Version::FIRST;
        let sealed = s.seal(&a, v1, &SecretValue::from_bytes(b"k")).unwrap();
        assert_eq!(s.open(&a, v1, &sealed).unwrap().expose_secret(), b"k");
        assert!(matches!(
            s.open(&b, v1, &sealed),
            Err(SecretError::Corrupt { .. })
        ));
        assert!(s.open(&a, v1.next(), &sealed).is_err());
        let other = Sealer::new(&MasterKey::generate());
        assert!(other.open(&a, v1, &sealed).is_err());
        // Fresh nonce each time.
        let again = s.seal(&a, v1, &SecretValue::from_bytes(b"k")).unwrap();
        assert_ne!(sealed, again);
        let mut flipped = sealed.to_vec();
        if let Some(last) = flipped.last_mut() {
            *last ^= 1;
        }
        assert!(s.open(&a, v1, &Arc::from(flipped)).is_err());
    }
}
