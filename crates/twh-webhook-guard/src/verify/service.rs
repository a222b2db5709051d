use std::error::Error;
use std::future::Future as _;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use http_body_util::{BodyExt as _, Full, LengthLimitError, Limited};
use tower_service::Service;
use twh_sig::{VerifyError, VerifyErrorKind};

use super::resolver::{KeyResolver, ResolveError, VerifiedWebhook};
use crate::body::GuardBody;
use crate::boxed_future::ResponseFuture;
use crate::error::{GuardError, RejectionKind};
use crate::observe;
use crate::store::Chain;

/// Service that verifies webhook signatures. See the [module docs](crate::verify).
#[derive(Clone, Debug)]
pub struct VerifyWebhook<S, R> {
    pub(crate) inner: S,
    pub(crate) resolver: R,
    pub(crate) limit: usize,
    pub(crate) body_timeout: Duration,
}

crate::inner_accessors!(VerifyWebhook, R);

type BoxError = Box<dyn Error + Send + Sync>;

impl<S, R, ReqBody, ResBody> Service<Request<ReqBody>> for VerifyWebhook<S, R>
where
    S: Service<Request<Full<Bytes>>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    R: KeyResolver,
    ReqBody: Body + Send + 'static,
    ReqBody::Data: Send,
    ReqBody::Error: Into<BoxError>,
    ResBody: Send + 'static,
{
    type Response = Response<GuardBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<Result<Self::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let (mut parts, body) = req.into_parts();
        let resolved = self.resolver.resolve(&parts);
        let limit = self.limit;
        let body_timeout = self.body_timeout;
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        ResponseFuture::new(async move {
            let verifier = match resolved.await {
                Ok(v) => v,
                Err(e) => return Ok(resolve_failed(&e)),
            };
            let collect = Limited::new(body, limit).collect();
            let mut collect = std::pin::pin!(collect);
            // Small webhooks usually arrive with their headers: try once
            // without arming a timer, and only then wait under the deadline.
            let first = std::future::poll_fn(|cx| Poll::Ready(collect.as_mut().poll(cx))).await;
            let collected = match first {
                Poll::Ready(result) => Ok(result),
                Poll::Pending => tokio::time::timeout(body_timeout, collect.as_mut()).await,
            };
            let bytes = match collected {
                Ok(Ok(collected)) => collected.to_bytes(),
                Ok(Err(e)) => return Ok(body_failed(&*e)),
                Err(_) => {
                    observe::rejected(RejectionKind::BodyTimeout, &"body not received in time");
                    return Ok(GuardError::new(RejectionKind::BodyTimeout).into_response());
                }
            };
            let verified = match verifier.verify(&parts.headers, &bytes) {
                Ok(v) => VerifiedWebhook::new(v, &bytes, verifier.tolerance()),
                Err(e) => return Ok(verify_failed(e)),
            };
            let span = tracing::Span::current();
            span.record("scheme", tracing::field::display(verified.scheme));
            if let Some(id) = &verified.message_id {
                span.record("message_id", id.as_str());
            }
            span.record("key_id", tracing::field::display(verified.key_id));
            let scheme = verified.scheme;
            parts.extensions.insert(verified);
            let res = inner
                .call(Request::from_parts(parts, Full::new(bytes)))
                .await?;
            if res.extensions().get::<GuardError>().is_none() {
                observe::accepted(scheme);
            }
            Ok(res.map(GuardBody::inner))
        })
    }
}

fn resolve_failed<B>(e: &ResolveError) -> Response<GuardBody<B>> {
    let kind = match e {
        ResolveError::UnknownEndpoint => RejectionKind::UnknownEndpoint,
        ResolveError::NoActiveKey => RejectionKind::InvalidSignature,
        _ => RejectionKind::Unavailable,
    };
    observe::rejected(kind, &Chain(e));
    GuardError::new(kind).into_response()
}

fn body_failed<B>(e: &(dyn Error + Send + Sync + 'static)) -> Response<GuardBody<B>> {
    let mut cause: Option<&(dyn Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if c.is::<LengthLimitError>() {
            observe::rejected(RejectionKind::PayloadTooLarge, &"body grew past the limit");
            return GuardError::new(RejectionKind::PayloadTooLarge).into_response();
        }
        cause = c.source();
    }
    observe::rejected(RejectionKind::BadBody, &Chain(e));
    GuardError::new(RejectionKind::BadBody).into_response()
}

fn verify_failed<B>(e: VerifyError) -> Response<GuardBody<B>> {
    let kind = match e.kind() {
        VerifyErrorKind::Missing => RejectionKind::MissingHeader,
        VerifyErrorKind::Malformed => RejectionKind::MalformedHeader,
        VerifyErrorKind::Expired => RejectionKind::Expired,
        _ => RejectionKind::InvalidSignature,
    };
    observe::rejected(kind, &e);
    GuardError::with_source(kind, e).into_response()
}
