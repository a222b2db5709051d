//! Validated secret names.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use crate::SecretError;

/// Longest accepted name, in bytes.
pub const MAX_NAME_LEN: usize = 201;

/// The name of a secret: `[a-z0-9][a-z0-9._/-]{0,200}`, without `..`,
/// a leading `/`, a trailing `/` or an empty path segment (`//`).
///
/// Slashes group names (`webhooks/acme`); [`SecretProvider::list`](crate::SecretProvider::list)
/// filters by prefix. Cheap to clone.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SecretName(Arc<str>);

impl SecretName {
    /// Validates and wraps a name.
    ///
    /// # Errors
    /// [`SecretError::InvalidInput`] naming the rule that was broken.
    pub fn new(name: &str) -> Result<Self, SecretError> {
        validate(name).map_err(|reason| {
            // The rejected text is shown only when it is short and printable;
            // a value pasted by mistake in place of a name must not reach a log.
            SecretError::invalid(format!("secret name {}: {reason}", shown(name)))
        })?;
        Ok(Self(Arc::from(name)))
    }

    /// The name as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn shown(name: &str) -> String {
    if name.len() <= 64 && name.chars().all(|c| c.is_ascii_graphic()) {
        format!("{name:?}")
    } else {
        format!("({} bytes)", name.len())
    }
}

fn validate(name: &str) -> Result<(), &'static str> {
    let bytes = name.as_bytes();
    let Some(&first) = bytes.first() else {
        return Err("is empty");
    };
    if bytes.len() > MAX_NAME_LEN {
        return Err("is longer than 201 bytes");
    }
    if first == b'/' {
        return Err("starts with '/'");
    }
    if !(first.is_ascii_lowercase() || first.is_ascii_digit()) {
        return Err("must start with a lowercase letter or a digit");
    }
    if !bytes.iter().all(|&b| {
        b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'/' | b'-')
    }) {
        return Err("may only contain a-z 0-9 . _ / -");
    }
    if name.contains("..") {
        return Err("contains '..'");
    }
    if name.contains("//") {
        return Err("contains an empty segment '//'");
    }
    if name.ends_with('/') {
        return Err("ends with '/'");
    }
    Ok(())
}

impl fmt::Display for SecretName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for SecretName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretName({:?})", &*self.0)
    }
}

impl FromStr for SecretName {
    type Err = SecretError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<&str> for SecretName {
    type Error = SecretError;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl AsRef<str> for SecretName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl serde::Serialize for SecretName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for SecretName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::new(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_good_names() {
        for n in ["a", "webhooks/acme", "0.x_y-z/q", "db/password.v2"] {
            assert_eq!(SecretName::new(n).unwrap().as_str(), n);
        }
        let long = "a".repeat(201);
        assert!(SecretName::new(&long).is_ok());
    }

    #[test]
    fn rejects_bad_names() {
        let long = "a".repeat(202);
        for n in [
            "",
            "/a",
            "A",
            "a b",
            "a/../b",
            "..",
            "a..b",
            "_a",
            ".a",
            "-a",
            "a//b",
            "a/",
            "é",
            long.as_str(),
            "a\0",
        ] {
            let err = SecretName::new(n).unwrap_err();
            assert!(
                matches!(err, SecretError::InvalidInput { .. }),
                "{n:?}: {err}"
            );
        }
    }

    #[test]
    fn long_rejected_names_are_not_echoed() {
        let text = format!("whsec_{}", "Q".repeat(80));
        let err = SecretName::new(&text).unwrap_err().to_string();
        assert!(!err.contains("QQQQ"), "{err}");
    }
}
