use std::task::{Context, Poll};
use std::time::Instant;

use http::{Request, Response};
use tower_service::Service;
use tracing::field::Empty;

use super::future::ResponseFuture;

/// Service that opens a `webhook` span per request. See the
/// [module docs](crate::trace).
#[derive(Clone, Copy, Debug)]
pub struct WebhookTrace<S> {
    pub(crate) inner: S,
}

crate::inner_accessors!(WebhookTrace);

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for WebhookTrace<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let span = tracing::info_span!(
            "webhook",
            method = %req.method(),
            outcome = Empty,
            reason = Empty,
            status = Empty,
            scheme = Empty,
            message_id = Empty,
            key_id = Empty,
            latency_us = Empty,
        );
        let start = Instant::now();
        let future = span.in_scope(|| self.inner.call(req));
        ResponseFuture::new(future, span, start)
    }
}
