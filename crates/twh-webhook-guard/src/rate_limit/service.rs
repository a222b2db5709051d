use std::sync::Arc;
use std::task::{Context, Poll};

use http::{HeaderValue, Request, Response};
use tower_service::Service;

use super::key::KeyExtractor;
use super::layer::RateLimitLayer;
use super::{Quota, RateLimitDecision};
use crate::body::GuardBody;
use crate::boxed_future::ResponseFuture;
use crate::error::{GuardError, RejectionKind, ceil_secs};
use crate::observe;
use crate::store::{Chain, StoreError};

/// Service that rate-limits requests. See the [module docs](crate::rate_limit).
#[derive(Debug)]
pub struct RateLimit<S, K> {
    pub(crate) inner: S,
    pub(crate) config: Arc<RateLimitLayer<K>>,
}

impl<S: Clone, K> Clone for RateLimit<S, K> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            config: Arc::clone(&self.config),
        }
    }
}

crate::inner_accessors!(RateLimit, K);

impl<S, K, ReqBody, ResBody> Service<Request<ReqBody>> for RateLimit<S, K>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    K: KeyExtractor,
    ReqBody: Send + 'static,
    ResBody: Send + 'static,
{
    type Response = Response<GuardBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<Result<Self::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let (parts, body) = req.into_parts();
        let key = self
            .config
            .key
            .extract(&parts)
            .unwrap_or_else(|| String::from("unknown"));
        let req = Request::from_parts(parts, body);
        let config = Arc::clone(&self.config);
        // The clone that was driven to readiness serves this call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        ResponseFuture::new(async move {
            // One buffer for both bucket names: "f:<key>" then "r:<key>".
            let mut bucket = String::with_capacity(key.len() + 2);
            bucket.push_str("f:");
            bucket.push_str(&key);
            if let Some(quota) = config.failure_quota {
                match config.store.check(&bucket, quota, 0).await {
                    Ok(d) if !d.allowed => return Ok(limited(&key, quota, d, "failure quota")),
                    Ok(_) => {}
                    Err(e) => return Ok(unavailable(&e)),
                }
            }
            bucket.replace_range(..1, "r");
            match config.store.check(&bucket, config.quota, 1).await {
                Ok(d) if !d.allowed => return Ok(limited(&key, config.quota, d, "quota")),
                Ok(_) => {}
                Err(e) => return Ok(unavailable(&e)),
            }
            let res = inner.call(req).await?;
            if let Some(quota) = config.failure_quota {
                let failed = res
                    .extensions()
                    .get::<GuardError>()
                    .is_some_and(|e| e.kind().is_authentication_failure());
                if failed {
                    bucket.replace_range(..1, "f");
                    if let Err(e) = config.store.check(&bucket, quota, 1).await {
                        tracing::error!(error = %Chain(&e), "could not count a failed verification");
                    }
                }
            }
            Ok(res.map(GuardBody::inner))
        })
    }
}

fn limited<B>(
    key: &str,
    quota: Quota,
    d: RateLimitDecision,
    which: &str,
) -> Response<GuardBody<B>> {
    observe::rejected(
        RejectionKind::RateLimited,
        &format_args!("{which} exhausted for key {key}"),
    );
    let mut res = GuardError::new(RejectionKind::RateLimited)
        .retry_after(d.retry_after)
        .into_response();
    let h = res.headers_mut();
    h.insert("ratelimit-limit", HeaderValue::from(d.limit));
    h.insert("ratelimit-remaining", HeaderValue::from(d.remaining));
    h.insert("ratelimit-reset", HeaderValue::from(ceil_secs(d.reset)));
    if let Ok(policy) =
        HeaderValue::try_from(format!("{};w={}", quota.burst(), ceil_secs(quota.window())))
    {
        h.insert("ratelimit-policy", policy);
    }
    res
}

fn unavailable<B>(e: &StoreError) -> Response<GuardBody<B>> {
    observe::rejected(RejectionKind::Unavailable, &Chain(e));
    GuardError::new(RejectionKind::Unavailable).into_response()
}
