use std::time::Duration;

use twh_webhook_guard::WebhookGuard;

use crate::support::*;

const LIMIT: usize = 4096;

async fn app(sender: &Sender) -> std::net::SocketAddr {
    let guard = WebhookGuard::builder()
        .key_resolver(sender.verifier())
        .body_limit(LIMIT)
        .body_timeout(Duration::from_secs(3))
        .unwrap()
        .build();
    serve(routes().layer(guard)).await
}

fn body(len: usize) -> Vec<u8> {
    (0..len).map(|i| b'a' + (i % 26) as u8).collect()
}

#[tokio::test]
async fn body_of_exactly_the_limit_passes_one_more_byte_does_not() {
    let sender = Sender::new();
    let addr = app(&sender).await;
    let exact = body(LIMIT);
    let res = post(addr, "/hook", sender.sign(&exact), exact.clone()).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.bytes().await.unwrap().as_ref(), exact.as_slice());
    let over = body(LIMIT + 1);
    let res = post(addr, "/hook", sender.sign(&over), over).await;
    assert_eq!(res.status(), 413);
}

#[tokio::test]
async fn chunked_bodies_pass_and_are_cut_off_past_the_limit() {
    let sender = Sender::new();
    let addr = app(&sender).await;

    // Within the limit, in several chunks, no Content-Length.
    let b = body(3000);
    let h = sender.sign(&b);
    let mut parts = vec![(
        Duration::ZERO,
        raw_head(&h, "transfer-encoding: chunked\r\n"),
    )];
    parts.extend(b.chunks(700).map(|c| (Duration::from_millis(5), chunk(c))));
    parts.push((Duration::ZERO, b"0\r\n\r\n".to_vec()));
    let res = raw(addr, parts).await;
    assert_eq!(res.status, 200, "{}", res.head);
    assert_eq!(res.body, b);

    // Growing past the limit: 413 although no Content-Length announced it.
    let b = body(LIMIT * 3);
    let h = sender.sign(&b);
    let mut parts = vec![(
        Duration::ZERO,
        raw_head(&h, "transfer-encoding: chunked\r\n"),
    )];
    parts.extend(b.chunks(1000).map(|c| (Duration::from_millis(2), chunk(c))));
    parts.push((Duration::ZERO, b"0\r\n\r\n".to_vec()));
    let res = raw(addr, parts).await;
    assert_eq!(res.status, 413, "{}", res.head);
    assert_eq!(res.problem_type(), "urn:twh:problem:payload-too-large");
}

#[tokio::test]
async fn oversized_content_length_is_refused_before_the_body_is_sent() {
    let sender = Sender::new();
    let addr = app(&sender).await;
    let h = sender.sign(b"{}");
    // Announce 10 MiB and send nothing: the answer must not wait for the body.
    let started = std::time::Instant::now();
    let res = raw(
        addr,
        vec![(Duration::ZERO, raw_head(&h, "content-length: 10485760\r\n"))],
    )
    .await;
    assert_eq!(res.status, 413, "{}", res.head);
    assert_eq!(res.problem_type(), "urn:twh:problem:payload-too-large");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "answered without reading the body"
    );
}

#[tokio::test]
async fn lying_and_missing_content_length() {
    let sender = Sender::new();
    let addr = app(&sender).await;

    // Claims more than it sends, then stops sending: never verified, never
    // reaches the handler; the body timeout ends the wait.
    let b = body(100);
    let h = sender.sign(&b);
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    stream
        .write_all(&raw_head(&h, "content-length: 200\r\n"))
        .await
        .unwrap();
    stream.write_all(&b).await.unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut buf)).await;
    let text = String::from_utf8_lossy(&buf);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("urn:twh:problem:body-timeout"), "{text}");

    // Claims less than it sends: only the announced bytes are the body; they
    // do not match the signature over the whole payload.
    let b = body(100);
    let h = sender.sign(&b);
    let mut request = raw_head(&h, "content-length: 50\r\n");
    request.extend_from_slice(&b);
    let res = raw(addr, vec![(Duration::ZERO, request)]).await;
    assert_eq!(res.status, 401, "{}", res.head);
    assert_eq!(res.problem_type(), "urn:twh:problem:invalid-signature");

    // No Content-Length and no body at all: verified as the empty body.
    let h = sender.sign(b"");
    let res = raw(addr, vec![(Duration::ZERO, raw_head(&h, ""))]).await;
    assert_eq!(res.status, 200, "{}", res.head);
    assert!(res.body.is_empty());
}

#[tokio::test]
async fn slow_sender_within_the_timeout_is_accepted() {
    let sender = Sender::new();
    let addr = app(&sender).await;
    let b = body(600);
    let h = sender.sign(&b);
    let mut parts = vec![(
        Duration::ZERO,
        raw_head(&h, "transfer-encoding: chunked\r\n"),
    )];
    parts.extend(
        b.chunks(100)
            .map(|c| (Duration::from_millis(150), chunk(c))),
    );
    parts.push((Duration::ZERO, b"0\r\n\r\n".to_vec()));
    let res = raw(addr, parts).await;
    assert_eq!(res.status, 200, "{}", res.head);
    assert_eq!(res.body, b);
}

/// In process, a body whose size hint lies (claims 10 bytes, streams more):
/// the size limit still cuts it off.
#[tokio::test]
async fn lying_size_hint_in_process() {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use bytes::Bytes;
    use http_body::{Body, Frame, SizeHint};
    use tower::ServiceExt as _;

    struct Liar(usize);
    impl Body for Liar {
        type Data = Bytes;
        type Error = std::convert::Infallible;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            if self.0 == 0 {
                return Poll::Ready(None);
            }
            self.0 -= 1;
            Poll::Ready(Some(Ok(Frame::data(Bytes::from(vec![b'x'; 1000])))))
        }
        fn size_hint(&self) -> SizeHint {
            SizeHint::with_exact(10)
        }
    }

    let sender = Sender::new();
    let guard = WebhookGuard::builder()
        .key_resolver(sender.verifier())
        .body_limit(LIMIT)
        .build();
    let handler = tower::service_fn(|_req: http::Request<http_body_util::Full<Bytes>>| async {
        Ok::<_, std::convert::Infallible>(http::Response::new(http_body_util::Full::new(
            Bytes::from_static(b"reached"),
        )))
    });
    let svc = tower::layer::Layer::layer(&guard, handler);
    let mut req =
        http::Request::post("/hook").extension(std::net::SocketAddr::from(([127, 0, 0, 1], 9)));
    for (k, v) in &sender.sign(b"whatever") {
        req = req.header(k, v);
    }
    let res = svc
        .oneshot(req.header("content-length", "10").body(Liar(10)).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
}
