use tower_layer::Layer;

use super::service::WebhookTrace;

/// Opens a `webhook` span per request. See the [module docs](crate::trace).
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct WebhookTraceLayer;

impl WebhookTraceLayer {
    /// The layer.
    #[must_use]
    pub const fn new() -> Self {
        Self
    }
}

impl<S> Layer<S> for WebhookTraceLayer {
    type Service = WebhookTrace<S>;

    fn layer(&self, inner: S) -> Self::Service {
        WebhookTrace { inner }
    }
}
