use tower_layer::Layer;

use super::service::SizeLimit;

/// The default body limit: 1 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// Limits request bodies to a number of bytes. See the [module docs](crate::limit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SizeLimitLayer {
    limit: usize,
}

impl SizeLimitLayer {
    /// Allows bodies of at most `limit` bytes (a body of exactly `limit`
    /// bytes passes).
    #[must_use]
    pub const fn new(limit: usize) -> Self {
        Self { limit }
    }

    /// The limit in bytes.
    #[must_use]
    pub const fn limit(&self) -> usize {
        self.limit
    }
}

impl Default for SizeLimitLayer {
    /// [`DEFAULT_BODY_LIMIT`].
    fn default() -> Self {
        Self::new(DEFAULT_BODY_LIMIT)
    }
}

impl<S> Layer<S> for SizeLimitLayer {
    type Service = SizeLimit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SizeLimit {
            inner,
            limit: self.limit,
        }
    }
}
