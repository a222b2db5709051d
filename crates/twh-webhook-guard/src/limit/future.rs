use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::Response;
use pin_project_lite::pin_project;

use crate::body::GuardBody;
use crate::error::{GuardError, RejectionKind};

pin_project! {
    /// Response future of [`SizeLimit`](super::SizeLimit).
    #[derive(Debug)]
    pub struct ResponseFuture<F> {
        #[pin]
        state: State<F>,
    }
}

pin_project! {
    #[project = StateProj]
    #[derive(Debug)]
    enum State<F> {
        Inner { #[pin] future: F },
        Rejected { error: Option<GuardError> },
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) const fn inner(future: F) -> Self {
        Self {
            state: State::Inner { future },
        }
    }

    pub(crate) const fn rejected(error: GuardError) -> Self {
        Self {
            state: State::Rejected { error: Some(error) },
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<GuardBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Inner { future } => {
                let res = ready!(future.poll(cx))?;
                Poll::Ready(Ok(res.map(GuardBody::inner)))
            }
            StateProj::Rejected { error } => {
                let error = error
                    .take()
                    .unwrap_or_else(|| GuardError::new(RejectionKind::Misconfigured));
                Poll::Ready(Ok(error.into_response()))
            }
        }
    }
}
