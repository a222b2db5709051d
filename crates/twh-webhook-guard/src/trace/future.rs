use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use http::Response;
use pin_project_lite::pin_project;
use tracing::Span;

use crate::error::GuardError;

pin_project! {
    /// Response future of [`WebhookTrace`](super::WebhookTrace).
    #[derive(Debug)]
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        span: Span,
        start: Instant,
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) const fn new(inner: F, span: Span, start: Instant) -> Self {
        Self { inner, span, start }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let _entered = this.span.enter();
        let result = ready!(this.inner.poll(cx));
        let latency = u64::try_from(this.start.elapsed().as_micros()).unwrap_or(u64::MAX);
        this.span.record("latency_us", latency);
        match &result {
            Ok(res) => {
                this.span.record("status", res.status().as_u16());
                if let Some(err) = res.extensions().get::<GuardError>() {
                    this.span.record("outcome", "rejected");
                    this.span.record("reason", err.kind().as_str());
                } else {
                    this.span.record("outcome", "accepted");
                    tracing::debug!(
                        status = res.status().as_u16(),
                        latency_us = latency,
                        "webhook handled"
                    );
                }
            }
            Err(_) => {
                this.span.record("outcome", "error");
            }
        }
        Poll::Ready(result)
    }
}
