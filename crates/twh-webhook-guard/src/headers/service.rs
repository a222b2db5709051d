use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;

use super::future::ResponseFuture;
use super::layer::SecureHeadersLayer;

/// Service that sets security headers on every response. See the
/// [module docs](crate::headers).
#[derive(Clone, Debug)]
pub struct SecureHeaders<S> {
    pub(crate) inner: S,
    pub(crate) layer: SecureHeadersLayer,
}

crate::inner_accessors!(SecureHeaders);

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for SecureHeaders<S>
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
        ResponseFuture::new(self.inner.call(req), self.layer.clone())
    }
}
