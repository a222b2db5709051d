use std::sync::Arc;
use std::time::Duration;

use tower_layer::Layer;

use super::ReplayStore;
use super::service::Replay;
use crate::error::{ConfigError, replay_window};

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

    /// How long past its timestamp an id is remembered. The verifier's own
    /// tolerance is applied when it is longer, so a message can never be
    /// forgotten while its timestamp would still verify.
    ///
    /// # Errors
    ///
    /// [`ConfigError::ZeroDuration`] for a zero window,
    /// [`ConfigError::DurationTooLong`] over
    /// [`MAX_REPLAY_WINDOW`](crate::MAX_REPLAY_WINDOW).
    pub fn window(mut self, window: Duration) -> Result<Self, ConfigError> {
        self.window = replay_window(window)?;
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
