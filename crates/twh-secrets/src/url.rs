//! Building a provider from a store URL (`file://…`, `memory://`; `vault://`
//! and `awskms://` are reserved for later backends).

use std::path::PathBuf;
use std::sync::Arc;

use crate::{MasterKeySource, SecretError, SecretProvider};

/// A parsed store URL.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreUrl {
    /// `file:///abs/path` or `file://./relative/path`.
    File(PathBuf),
    /// `memory://` (process-local, for tests and dry runs).
    Memory,
}

/// The default store: `file://./.twh/store`.
pub const DEFAULT_STORE_URL: &str = "file://./.twh/store";

impl StoreUrl {
    /// Parses a store URL.
    ///
    /// # Errors
    /// [`SecretError::InvalidInput`] for unknown schemes and for backends not
    /// compiled in (`vault`, `aws-kms` features).
    pub fn parse(url: &str) -> Result<Self, SecretError> {
        if let Some(rest) = url.strip_prefix("file://") {
            if rest.is_empty() {
                return Err(SecretError::invalid("file:// URL without a path"));
            }
            // `file:///abs` → "/abs"; `file://./rel` → "./rel"; `file://localhost/abs` → "/abs".
            let path = rest.strip_prefix("localhost").unwrap_or(rest);
            return Ok(Self::File(PathBuf::from(path)));
        }
        if url == "memory://" || url == "memory:" {
            return Ok(Self::Memory);
        }
        for (scheme, feature) in [("vault://", "vault"), ("awskms://", "aws-kms")] {
            if url.starts_with(scheme) {
                return Err(SecretError::invalid(format!(
                    "the {scheme} backend is not available in this build (feature `{feature}` is reserved for a later release)"
                )));
            }
        }
        Err(SecretError::invalid(
            "unknown store URL scheme (expected file:///path/to/store, or memory:// inside one \
             process)",
        ))
    }

    /// The key file used by default for a file store: `<store>.key`.
    #[must_use]
    pub fn default_key_file(&self) -> Option<PathBuf> {
        match self {
            Self::File(p) => {
                let mut s = p.clone().into_os_string();
                s.push(".key");
                Some(PathBuf::from(s))
            }
            Self::Memory => None,
        }
    }
}

/// Opens the provider a URL names. `key` supplies the master key of file stores.
///
/// # Errors
/// As [`StoreUrl::parse`], plus opening failures of the backend.
pub fn open_store(
    url: &str,
    key: &dyn MasterKeySource,
) -> Result<Arc<dyn SecretProvider>, SecretError> {
    match StoreUrl::parse(url)? {
        #[cfg(feature = "file")]
        StoreUrl::File(path) => Ok(Arc::new(crate::FileProvider::open(path, key.load()?)?)),
        #[cfg(not(feature = "file"))]
        StoreUrl::File(_) => {
            let _ = key;
            Err(SecretError::invalid(
                "the file:// backend is not available in this build (feature `file`)",
            ))
        }
        StoreUrl::Memory => Ok(Arc::new(crate::MemoryProvider::new())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        assert_eq!(
            StoreUrl::parse("file:///var/lib/twh/store").unwrap(),
            StoreUrl::File(PathBuf::from("/var/lib/twh/store"))
        );
        assert_eq!(
            StoreUrl::parse(DEFAULT_STORE_URL).unwrap(),
            StoreUrl::File(PathBuf::from("./.twh/store"))
        );
        assert_eq!(StoreUrl::parse("memory://").unwrap(), StoreUrl::Memory);
        let e = StoreUrl::parse("vault://x").unwrap_err().to_string();
        assert!(e.contains("vault"), "{e}");
        assert!(StoreUrl::parse("http://x").is_err());
        assert_eq!(
            StoreUrl::parse("file:///a/s").unwrap().default_key_file(),
            Some(PathBuf::from("/a/s.key"))
        );
    }
}
