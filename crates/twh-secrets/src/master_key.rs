//! The master key that seals the file store, and where it comes from.

use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use sha2::Digest as _;

use crate::SecretError;

/// Environment variable holding the base64 master key.
pub const MASTER_KEY_ENV: &str = "TWH_MASTER_KEY";

/// A 256-bit key-encryption key. Zeroized on drop, `Debug` shows only its id.
///
/// Today it comes from [`MASTER_KEY_ENV`] or a `0600` key file
/// ([`DefaultKeySource`]); a later backend can supply it through
/// [`MasterKeySource`] after unwrapping it with Vault transit or KMS.
pub struct MasterKey(SecretBox<[u8; 32]>);

impl Clone for MasterKey {
    fn clone(&self) -> Self {
        Self::from_bytes(*self.0.expose_secret())
    }
}

impl MasterKey {
    /// A fresh key from the OS CSPRNG.
    #[must_use]
    pub fn generate() -> Self {
        let mut k = Box::new([0u8; 32]);
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut *k);
        Self(SecretBox::new(k))
    }

    /// Wraps 32 key bytes.
    #[must_use]
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(SecretBox::new(Box::new(bytes)))
    }

    /// Parses standard base64 of exactly 32 bytes (surrounding whitespace ignored).
    ///
    /// # Errors
    /// [`SecretError::InvalidInput`] (the text is not echoed).
    pub fn from_base64(text: &str) -> Result<Self, SecretError> {
        let mut bytes = zeroize::Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .map_err(|_| SecretError::invalid("master key is not valid base64"))?,
        );
        let arr: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
            SecretError::invalid(format!("master key must be 32 bytes, got {}", bytes.len()))
        })?;
        zeroize::Zeroize::zeroize(&mut *bytes);
        Ok(Self::from_bytes(arr))
    }

    /// The key as standard base64 (to store it elsewhere).
    #[must_use]
    pub fn to_base64(&self) -> SecretString {
        SecretString::from(base64::engine::general_purpose::STANDARD.encode(self.0.expose_secret()))
    }

    /// Reads [`MASTER_KEY_ENV`]; `Ok(None)` when unset.
    ///
    /// # Errors
    /// [`SecretError::InvalidInput`] when set but malformed.
    pub fn from_env() -> Result<Option<Self>, SecretError> {
        match std::env::var(MASTER_KEY_ENV) {
            Ok(v) => Self::from_base64(&v).map(Some),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => {
                Err(SecretError::invalid("TWH_MASTER_KEY is not valid UTF-8"))
            }
        }
    }

    /// Reads a key file (base64 text). On Unix the file must not be readable
    /// by group or others (`0600`/`0400`).
    ///
    /// # Errors
    /// [`SecretError::Backend`] for a group/world-accessible file or one that
    /// cannot be read, `InvalidInput` when malformed.
    pub fn from_key_file(path: &Path) -> Result<Self, SecretError> {
        let meta = std::fs::metadata(path).map_err(|e| {
            SecretError::io(format!("reading master key file {}", path.display()), e)
        })?;
        if !meta.is_file() {
            return Err(SecretError::invalid(format!(
                "master key file {} is not a regular file",
                path.display()
            )));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(SecretError::backend(
                    format!(
                        "master key file {} is group/world accessible (mode {mode:04o}); \
                         run `chmod 600 {}`",
                        path.display(),
                        path.display()
                    ),
                    std::io::Error::new(
                        std::io::ErrorKind::PermissionDenied,
                        "refusing a master key others can read",
                    ),
                ));
            }
        }
        let text = zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
            SecretError::io(format!("reading master key file {}", path.display()), e)
        })?);
        Self::from_base64(&text).map_err(|_| {
            SecretError::invalid(format!(
                "master key file {} must hold base64 of 32 bytes",
                path.display()
            ))
        })
    }

    /// Writes the key to a new file with mode `0600` (fails if it exists).
    ///
    /// # Errors
    /// [`SecretError::Backend`] on I/O failure (including an existing file).
    pub fn write_key_file(&self, path: &Path) -> Result<(), SecretError> {
        use std::io::Write as _;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            opts.mode(0o600);
        }
        let ctx = || format!("writing master key file {}", path.display());
        let mut f = opts.open(path).map_err(|e| SecretError::io(ctx(), e))?;
        let mut text = self.to_base64().expose_secret().to_owned();
        text.push('\n');
        let r = f.write_all(text.as_bytes()).and_then(|()| f.sync_all());
        zeroize::Zeroize::zeroize(&mut text);
        r.map_err(|e| SecretError::io(ctx(), e))
    }

    /// A non-reversible id (first 4 bytes of SHA-256, hex) to tell keys apart.
    #[must_use]
    pub fn key_id(&self) -> String {
        let d = sha2::Sha256::digest(self.0.expose_secret());
        hex::encode(d.get(..4).unwrap_or_default())
    }

    #[cfg(any(feature = "file", test))]
    pub(crate) fn bytes(&self) -> &[u8; 32] {
        self.0.expose_secret()
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKey(redacted, id {})", self.key_id())
    }
}

/// Where a master key comes from. Later backends wrap this (Vault transit,
/// KMS decrypt of a wrapped data key).
pub trait MasterKeySource: Send + Sync + fmt::Debug {
    /// Loads (or unwraps) the key.
    ///
    /// # Errors
    /// Whatever prevents getting the key.
    fn load(&self) -> Result<MasterKey, SecretError>;
}

impl MasterKeySource for MasterKey {
    fn load(&self) -> Result<MasterKey, SecretError> {
        Ok(self.clone())
    }
}

/// `TWH_MASTER_KEY` if set, else the key file.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct DefaultKeySource {
    /// The key file used when the environment variable is unset.
    pub key_file: PathBuf,
}

impl DefaultKeySource {
    /// Environment first, then `key_file`.
    #[must_use]
    pub fn new(key_file: impl Into<PathBuf>) -> Self {
        Self {
            key_file: key_file.into(),
        }
    }
}

impl MasterKeySource for DefaultKeySource {
    fn load(&self) -> Result<MasterKey, SecretError> {
        match MasterKey::from_env()? {
            Some(k) => Ok(k),
            None => MasterKey::from_key_file(&self.key_file),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trip_and_debug() {
        let k = MasterKey::generate();
        let b = k.to_base64();
        let k2 = MasterKey::from_base64(b.expose_secret()).unwrap();
        assert_eq!(k.bytes(), k2.bytes());
        let d = format!("{k:?}");
        assert!(!d.contains(b.expose_secret()), "{d}");
        assert!(MasterKey::from_base64("AAAA").is_err());
        assert!(MasterKey::from_base64("not base64!").is_err());
    }

    #[cfg(unix)]
    #[test]
    fn key_file_must_be_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k");
        let k = MasterKey::generate();
        k.write_key_file(&p).unwrap();
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(MasterKey::from_key_file(&p).unwrap().bytes(), k.bytes());
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = MasterKey::from_key_file(&p).unwrap_err();
        assert!(matches!(err, SecretError::Backend { .. }), "{err}");
        assert!(
            err.to_string()
                .contains("is group/world accessible (mode 0644); run `chmod 600"),
            "{err}"
        );
        // Refuses to overwrite.
        assert!(k.write_key_file(&p).is_err());
    }
}
