use std::task::{Context, Poll};

use http::{Request, Response, header};
use http_body_util::Limited;
use tower_service::Service;

use super::future::ResponseFuture;
use crate::body::GuardBody;
use crate::error::{GuardError, RejectionKind};
use crate::observe;

/// Service that limits request bodies. See the [module docs](crate::limit).
#[derive(Clone, Copy, Debug)]
pub struct SizeLimit<S> {
    pub(crate) inner: S,
    pub(crate) limit: usize,
}

crate::inner_accessors!(SizeLimit);

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for SizeLimit<S>
where
    S: Service<Request<Limited<ReqBody>>, Response = Response<ResBody>>,
{
    type Response = Response<GuardBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|len| len > self.limit as u64) {
            observe::rejected(
                RejectionKind::PayloadTooLarge,
                &"content-length over the limit",
            );
            return ResponseFuture::rejected(GuardError::new(RejectionKind::PayloadTooLarge));
        }
        let req = req.map(|body| Limited::new(body, self.limit));
        ResponseFuture::inner(self.inner.call(req))
    }
}
