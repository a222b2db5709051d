use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::Response;
use pin_project_lite::pin_project;

use super::layer::{Mode, SecureHeadersLayer};

pin_project! {
    /// Response future of [`SecureHeaders`](super::SecureHeaders).
    #[derive(Debug)]
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        layer: SecureHeadersLayer,
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) const fn new(inner: F, layer: SecureHeadersLayer) -> Self {
        Self { inner, layer }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut res = ready!(this.inner.poll(cx))?;
        let headers = res.headers_mut();
        headers.reserve(this.layer.headers.len());
        for (name, value) in this.layer.headers.iter() {
            match this.layer.mode {
                Mode::Override => {
                    headers.insert(name.clone(), value.clone());
                }
                Mode::IfNotPresent => {
                    if !headers.contains_key(name) {
                        headers.insert(name.clone(), value.clone());
                    }
                }
            }
        }
        Poll::Ready(Ok(res))
    }
}
