use http::HeaderName;
use twh_webhook_guard::{Hsts, SecureHeadersLayer, WebhookGuard};

use crate::support::*;

const EXPECTED: [(&str, &str); 7] = [
    (
        "strict-transport-security",
        "max-age=31536000; includeSubDomains",
    ),
    (
        "content-security-policy",
        "default-src 'none'; frame-ancestors 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    ("cache-control", "no-store"),
    ("cross-origin-resource-policy", "same-origin"),
];

#[tokio::test]
async fn secure_headers_on_2xx_4xx_5xx_and_429() {
    let sender = Sender::new();
    let guard = WebhookGuard::builder()
        .key_resolver(sender.verifier())
        .rate_limit(twh_webhook_guard::Quota::per_minute(
            std::num::NonZeroU32::new(4).unwrap(),
        ))
        .build();
    let addr = serve(routes().layer(guard)).await;
    let body = b"{}".to_vec();
    let ok = post(addr, "/hook", sender.sign(&body), body.clone()).await;
    let unauthorized = post(addr, "/hook", Sender::new().sign(&body), body.clone()).await;
    let failed = post(addr, "/boom", sender.sign(&body), body.clone()).await;
    let _ = post(addr, "/hook", sender.sign(&body), body.clone()).await;
    let limited = post(addr, "/hook", sender.sign(&body), body.clone()).await;
    for (res, status) in [
        (ok, 200),
        (unauthorized, 401),
        (failed, 500),
        (limited, 429),
    ] {
        assert_eq!(res.status(), status);
        for (name, value) in EXPECTED {
            assert_eq!(
                res.headers().get(name).map(|v| v.to_str().unwrap()),
                Some(value),
                "{name} on {status}"
            );
        }
    }
}

#[tokio::test]
async fn headers_are_configurable() {
    let sender = Sender::new();
    let headers = SecureHeadersLayer::overriding()
        .hsts(
            Hsts::new(std::time::Duration::from_secs(600))
                .include_subdomains(false)
                .preload(true),
        )
        .header(HeaderName::from_static("referrer-policy"), "same-origin")
        .unwrap()
        .without(&HeaderName::from_static("x-frame-options"));
    assert!(
        SecureHeadersLayer::overriding()
            .header(HeaderName::from_static("x-a"), "bad\nvalue")
            .is_err()
    );
    let guard = WebhookGuard::builder()
        .key_resolver(sender.verifier())
        .secure_headers(headers)
        .build();
    let addr = serve(routes().layer(guard)).await;
    let res = post(addr, "/hook", sender.sign(b"{}"), b"{}".to_vec()).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["strict-transport-security"],
        "max-age=600; preload"
    );
    assert_eq!(res.headers()["referrer-policy"], "same-origin");
    assert!(res.headers().get("x-frame-options").is_none());
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
}

#[tokio::test]
async fn overriding_versus_if_not_present() {
    use axum::routing::get;
    let app = || {
        axum::Router::new().route(
            "/",
            get(|| async {
                let mut h = http::HeaderMap::new();
                h.append("cache-control", "max-age=60".parse().unwrap());
                h.append("cache-control", "private".parse().unwrap());
                h.append("set-cookie", "a=1".parse().unwrap());
                h.append("set-cookie", "b=2".parse().unwrap());
                (h, "hi")
            }),
        )
    };
    let all = |res: &reqwest::Response, name: &str| -> Vec<String> {
        res.headers()
            .get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    };
    let addr = serve(app().layer(SecureHeadersLayer::overriding())).await;
    let res = client()
        .get(format!("http://{addr}/"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        all(&res, "cache-control"),
        ["no-store"],
        "ours replace every value"
    );
    assert_eq!(
        all(&res, "set-cookie"),
        ["a=1", "b=2"],
        "other headers keep every value"
    );
    assert_eq!(res.headers()["x-frame-options"], "DENY");
    let addr = serve(app().layer(SecureHeadersLayer::if_not_present())).await;
    let res = client()
        .get(format!("http://{addr}/"))
        .send()
        .await
        .unwrap();
    assert_eq!(all(&res, "cache-control"), ["max-age=60", "private"]);
    assert_eq!(all(&res, "set-cookie"), ["a=1", "b=2"]);
    assert_eq!(res.headers()["x-frame-options"], "DENY");
}
