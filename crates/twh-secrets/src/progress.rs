//! Progress reporting for long operations (backup, restore, migrate, rotate-due).

use crate::SecretName;

/// Receives progress of a long operation. All methods default to doing nothing.
pub trait Progress: Send + Sync {
    /// The operation will handle `total` secrets.
    fn begin(&self, total: usize) {
        let _ = total;
    }
    /// One secret was handled.
    fn advance(&self, name: &SecretName) {
        let _ = name;
    }
    /// The operation is over.
    fn finish(&self) {}
}

/// Reports nothing.
#[expect(clippy::exhaustive_structs, reason = "unit struct used as a value")]
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl NoProgress {
    /// The reporter.
    #[must_use]
    pub const fn new() -> Self {
        Self
    }
}

impl Progress for NoProgress {}
