use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{Request, Response};
use tower_service::Service;

use super::Freshness;
use super::layer::ReplayLayer;
use crate::body::GuardBody;
use crate::boxed_future::ResponseFuture;
use crate::error::{GuardError, RejectionKind};
use crate::observe;
use crate::store::Chain;
use crate::verify::VerifiedWebhook;

/// Service that rejects replayed messages. See the [module docs](crate::replay).
#[derive(Clone, Debug)]
pub struct Replay<S> {
    pub(crate) inner: S,
    pub(crate) layer: ReplayLayer,
}

crate::inner_accessors!(Replay);

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Replay<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Send,
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
        let layer = self.layer.clone();
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        ResponseFuture::new(async move {
            let Some(verified) = req.extensions().get::<VerifiedWebhook>() else {
                observe::rejected(
                    RejectionKind::Misconfigured,
                    &"replay layer without a verification layer in front of it",
                );
                return Ok(GuardError::new(RejectionKind::Misconfigured).into_response());
            };
            let expires_at = expiry(verified.timestamp, layer.window, verified.tolerance);
            match layer
                .store
                .check_and_insert(verified.replay_key(), expires_at)
                .await
            {
                Ok(Freshness::Seen) => {
                    observe::rejected(
                        RejectionKind::Replayed,
                        &format_args!("message {} already accepted", verified.replay_key()),
                    );
                    return Ok(GuardError::new(RejectionKind::Replayed).into_response());
                }
                Ok(_) => {}
                Err(e) => {
                    observe::rejected(RejectionKind::Unavailable, &Chain(&e));
                    return Ok(
                        GuardError::with_source(RejectionKind::Unavailable, e).into_response()
                    );
                }
            }
            let key = verified.replay_key().to_owned();
            let result = inner.call(req).await;
            let failed = result
                .as_ref()
                .map_or(true, |res| res.status().is_server_error());
            if failed {
                // Let the sender's retry through: only a handled message counts as seen.
                if let Err(e) = layer.store.release(&key).await {
                    tracing::error!(error = %Chain(&e), "could not release a failed message id");
                }
            }
            Ok(result?.map(GuardBody::inner))
        })
    }
}

/// Until when a verified message must be remembered: as long as its timestamp
/// could still verify — `timestamp + max(window, tolerance)`, plus one second
/// because the verifier still accepts an age of exactly the tolerance while a
/// store forgets an id at its expiry. Schemes without a timestamp are
/// remembered for the window from now. Saturates instead of overflowing.
fn expiry(timestamp: Option<u64>, window: Duration, tolerance: Duration) -> SystemTime {
    let keep = window.max(tolerance).saturating_add(Duration::from_secs(1));
    let (from, keep) = match timestamp {
        Some(ts) => (UNIX_EPOCH.checked_add(Duration::from_secs(ts)), keep),
        None => (Some(SystemTime::now()), window),
    };
    from.and_then(|t| t.checked_add(keep))
        .unwrap_or_else(|| UNIX_EPOCH + Duration::from_secs(u64::from(u32::MAX) * 16))
}
