//! Versions, states, principals and metadata.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::{SecretError, SecretValue};

/// A version number: 1 for the first value of a name, +1 for each new value.
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct Version(u64);

impl Version {
    /// The first version of every secret.
    pub const FIRST: Self = Self(1);

    /// Wraps a version number.
    ///
    /// # Errors
    /// [`SecretError::InvalidInput`] for 0.
    pub fn new(v: u64) -> Result<Self, SecretError> {
        if v == 0 {
            return Err(SecretError::invalid("versions start at 1"));
        }
        Ok(Self(v))
    }

    /// The number.
    #[must_use]
    pub const fn get(self) -> u64 {
        self.0
    }

    /// The version after this one.
    #[must_use]
    pub const fn next(self) -> Self {
        Self(self.0.saturating_add(1))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Debug for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.0)
    }
}

impl std::str::FromStr for Version {
    type Err = SecretError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.strip_prefix('v').unwrap_or(s);
        let n = s
            .parse::<u64>()
            .map_err(|_| SecretError::invalid("a version is a positive integer"))?;
        Self::new(n)
    }
}

/// Where a version is in its life. See the crate docs for the state machine.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionState {
    /// The value signers use now. At most one version per name is current.
    Current,
    /// A replaced value that verifiers still accept until `valid_until`.
    Previous {
        /// End of the grace period (exclusive).
        valid_until: SystemTime,
    },
    /// Withdrawn at once: never served again, never accepted.
    Revoked {
        /// When it was revoked.
        at: SystemTime,
        /// Why (free text from the operator; not secret).
        reason: String,
    },
    /// Key material erased; only metadata remains.
    Destroyed,
}

impl VersionState {
    /// True when a verifier must accept this version at `now`.
    #[must_use]
    pub fn is_active_at(&self, now: SystemTime) -> bool {
        match self {
            Self::Current => true,
            Self::Previous { valid_until } => now < *valid_until,
            Self::Revoked { .. } | Self::Destroyed => false,
        }
    }

    /// Short state name: `current`, `previous`, `revoked`, `destroyed`.
    #[must_use]
    pub fn label(&self) -> &'static str {
        match self {
            Self::Current => "current",
            Self::Previous { .. } => "previous",
            Self::Revoked { .. } => "revoked",
            Self::Destroyed => "destroyed",
        }
    }
}

/// Who performs an operation (a service or an operator). Cheap to clone.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Principal(Arc<str>);

impl Principal {
    /// A principal by name (`dispatcher`, `ops:alice`…). Control characters are replaced by `?`.
    #[must_use]
    pub fn new(name: &str) -> Self {
        let clean: String = name
            .chars()
            .take(200)
            .map(|c| if c.is_control() { '?' } else { c })
            .collect();
        Self(Arc::from(clean))
    }

    /// The principal used when nobody was named: `local`.
    #[must_use]
    pub fn local() -> Self {
        Self::new("local")
    }

    /// The name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Principal {
    fn default() -> Self {
        Self::local()
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Principal({:?})", &*self.0)
    }
}

/// When a secret is due for rotation and how long the old value stays valid.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationPolicy {
    /// Rotate once the current version is this old.
    pub max_age: Duration,
    /// Grace period given to the replaced version.
    pub grace: Duration,
}

impl RotationPolicy {
    /// A policy.
    #[must_use]
    pub const fn new(max_age: Duration, grace: Duration) -> Self {
        Self { max_age, grace }
    }
}

/// Facts about a secret as a whole (not one version).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretMetadata {
    /// When version 1 was written.
    pub created_at: SystemTime,
    /// Who wrote version 1.
    pub created_by: Principal,
    /// Free-form labels (`team=payments`); never secret.
    pub labels: BTreeMap<String, String>,
    /// The rotation policy recorded with the secret, if any.
    pub rotation: Option<RotationPolicy>,
}

impl SecretMetadata {
    /// Metadata with no labels and no policy.
    #[must_use]
    pub fn new(created_at: SystemTime, created_by: Principal) -> Self {
        Self {
            created_at,
            created_by,
            labels: BTreeMap::new(),
            rotation: None,
        }
    }
}

/// One version without its value (what [`SecretProvider::versions`](crate::SecretProvider::versions) lists).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionInfo {
    /// The version number.
    pub version: Version,
    /// Its state.
    pub state: VersionState,
    /// When it was written.
    pub created_at: SystemTime,
    /// Who wrote it.
    pub created_by: Principal,
}

impl VersionInfo {
    /// Builds an entry (for backends).
    #[must_use]
    pub fn new(
        version: Version,
        state: VersionState,
        created_at: SystemTime,
        created_by: Principal,
    ) -> Self {
        Self {
            version,
            state,
            created_at,
            created_by,
        }
    }
}

/// One version with its value. `Debug` redacts the value. Cheap to clone.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct VersionedSecret {
    info: VersionInfo,
    value: SecretValue,
}

impl VersionedSecret {
    /// Builds one (for backends).
    #[must_use]
    pub fn new(info: VersionInfo, value: SecretValue) -> Self {
        Self { info, value }
    }

    /// The version number.
    #[must_use]
    pub fn version(&self) -> Version {
        self.info.version
    }

    /// The state when it was read.
    #[must_use]
    pub fn state(&self) -> &VersionState {
        &self.info.state
    }

    /// The key material.
    #[must_use]
    pub fn value(&self) -> &SecretValue {
        &self.value
    }

    /// When it was written.
    #[must_use]
    pub fn created_at(&self) -> SystemTime {
        self.info.created_at
    }

    /// Who wrote it.
    #[must_use]
    pub fn created_by(&self) -> &Principal {
        &self.info.created_by
    }

    /// The metadata part.
    #[must_use]
    pub fn info(&self) -> &VersionInfo {
        &self.info
    }

    /// Splits into metadata and value.
    #[must_use]
    pub fn into_parts(self) -> (VersionInfo, SecretValue) {
        (self.info, self.value)
    }
}

/// What [`SecretProvider::revoke`](crate::SecretProvider::revoke) withdraws.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeTarget {
    /// One version.
    Version(Version),
    /// Every version that still has key material.
    All,
}

/// What a write expects to find (compare-and-set on the current version).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precondition {
    /// Write whatever is there.
    #[default]
    Any,
    /// The name must not exist yet.
    Absent,
    /// The current version must be exactly this one.
    Current(Version),
}

/// Options of [`SecretProvider::put`](crate::SecretProvider::put).
#[non_exhaustive]
#[derive(Debug, Clone, Default)]
pub struct PutOptions {
    /// Labels to record (replace the secret's labels when `Some`).
    pub labels: Option<BTreeMap<String, String>>,
    /// Rotation policy to record (replaces the secret's policy when `Some`).
    pub rotation: Option<RotationPolicy>,
    /// Grace period for the version being replaced (default: none, it stops
    /// being accepted at once; use [`SecretProvider::rotate`](crate::SecretProvider::rotate) for graceful rotation).
    pub grace: Duration,
    /// Compare-and-set: what the current version must be.
    pub expect: Precondition,
}

impl PutOptions {
    /// Default options.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets one label.
    #[must_use]
    pub fn label(mut self, key: &str, value: &str) -> Self {
        self.labels
            .get_or_insert_with(BTreeMap::new)
            .insert(key.to_owned(), value.to_owned());
        self
    }

    /// Records a rotation policy.
    #[must_use]
    pub fn rotation(mut self, policy: RotationPolicy) -> Self {
        self.rotation = Some(policy);
        self
    }

    /// Grace period for the replaced version.
    #[must_use]
    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Compare-and-set precondition.
    #[must_use]
    pub fn expect(mut self, expect: Precondition) -> Self {
        self.expect = expect;
        self
    }
}
