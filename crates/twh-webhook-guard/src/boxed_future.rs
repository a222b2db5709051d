//! The one boxed response future shared by the asynchronous guard services.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Response future of the asynchronous guard services (rate limit, verify,
/// replay): the checks involve a store or a body read, so the future is boxed.
pub struct ResponseFuture<T> {
    inner: Pin<Box<dyn Future<Output = T> + Send>>,
}

impl<T> ResponseFuture<T> {
    pub(crate) fn new(f: impl Future<Output = T> + Send + 'static) -> Self {
        Self { inner: Box::pin(f) }
    }
}

impl<T> Future for ResponseFuture<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        self.inner.as_mut().poll(cx)
    }
}

impl<T> fmt::Debug for ResponseFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
