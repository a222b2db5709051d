use std::sync::Arc;
use std::time::Duration;

use tower_layer::Layer;

use super::ReplayStore;
use super::service::Replay;
use crate::error::{ConfigError, positive};

/// Rejects replayed messages. See the [module docs](crate::replay).
#[derive(Clone, Debug)]
pub struct ReplayLayer {
    pub(crate) store: Arc<dyn ReplayStore>,
    pub(crate) window: Duration,
}

impl ReplayLayer {
    /// Remembers accepted message ids in `store` for
    /// [`twh_sig::DEFAULT_TOLERANCE`] past their timestamp.
    #[must_use]
    pub fn new(store: impl ReplayStore) -> Self {
        Self::from_shared(Arc::new(store))
    }

    /// Like [`ReplayLayer::new`], with a shared store.
    #[must_use]
    pub fn from_shared(store: Arc<dyn ReplayStore>) -> Self {
        Self {
            store,
            window: twh_sig::DEFAULT_TOLERANCE,
        }
    }

    /// How long past its timestamp an id is remembered; at least the
    /// verifiers' tolerance.
    ///
    /// # Errors
    ///
    /// [`ConfigError::ZeroDuration`] for a zero window.
    pub fn window(mut self, window: Duration) -> Result<Self, ConfigError> {
        self.window = positive(window, "replay window")?;
        Ok(self)
    }
}

impl<S> Layer<S> for ReplayLayer {
    type Service = Replay<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Replay {
            inner,
            layer: self.clone(),
        }
    }
}
