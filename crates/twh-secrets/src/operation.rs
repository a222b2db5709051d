//! The operations of [`SecretProvider`](crate::SecretProvider), named for audit and policy.

use std::fmt;
use std::str::FromStr;

use crate::SecretError;

/// One provider operation.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operation {
    /// `get`
    Get,
    /// `get_version`
    GetVersion,
    /// `active`
    Active,
    /// `put`
    Put,
    /// `metadata`
    Metadata,
    /// `versions`
    Versions,
    /// `list`
    List,
    /// `rotate`
    Rotate,
    /// `rollback`
    Rollback,
    /// `revoke`
    Revoke,
    /// `destroy`
    Destroy,
    /// `export` (reads every value: backup, migration)
    Export,
    /// `import` (restore, migration)
    Import,
}

impl Operation {
    /// Every operation.
    pub const ALL: [Self; 13] = [
        Self::Get,
        Self::GetVersion,
        Self::Active,
        Self::Put,
        Self::Metadata,
        Self::Versions,
        Self::List,
        Self::Rotate,
        Self::Rollback,
        Self::Revoke,
        Self::Destroy,
        Self::Export,
        Self::Import,
    ];

    /// Operations that only read metadata or values.
    pub const READ: [Self; 6] = [
        Self::Get,
        Self::GetVersion,
        Self::Active,
        Self::Metadata,
        Self::Versions,
        Self::List,
    ];

    /// The snake_case name (`get_version`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::GetVersion => "get_version",
            Self::Active => "active",
            Self::Put => "put",
            Self::Metadata => "metadata",
            Self::Versions => "versions",
            Self::List => "list",
            Self::Rotate => "rotate",
            Self::Rollback => "rollback",
            Self::Revoke => "revoke",
            Self::Destroy => "destroy",
            Self::Export => "export",
            Self::Import => "import",
        }
    }

    pub(crate) const fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Operation {
    type Err = SecretError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|o| o.as_str() == s)
            .ok_or_else(|| SecretError::invalid(format!("unknown operation {s:?}")))
    }
}
