//! The counters the guard reports through the `metrics` facade, read back by
//! a small in-test recorder.
use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use metrics::{
    Counter, CounterFn, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit,
};
use tower::{Layer as _, ServiceExt as _};
use twh_webhook_guard::{Quota, WebhookGuard};

use crate::support::Sender;

#[derive(Clone, Default)]
struct Counts(Arc<Mutex<BTreeMap<String, u64>>>);

struct Handle {
    key: String,
    counts: Counts,
}

impl CounterFn for Handle {
    fn increment(&self, value: u64) {
        *self
            .counts
            .0
            .lock()
            .unwrap()
            .entry(self.key.clone())
            .or_default() += value;
    }
    fn absolute(&self, value: u64) {
        self.counts
            .0
            .lock()
            .unwrap()
            .insert(self.key.clone(), value);
    }
}

impl Recorder for Counts {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        let labels: Vec<String> = key
            .labels()
            .map(|l| format!("{}={}", l.key(), l.value()))
            .collect();
        let key = format!("{}{{{}}}", key.name(), labels.join(","));
        Counter::from_arc(Arc::new(Handle {
            key,
            counts: self.clone(),
        }))
    }
    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }
    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

#[test]
fn counters_by_outcome_and_reason() {
    let counts = Counts::default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let sender = Sender::new();
    let guard = WebhookGuard::builder()
        .key_resolver(sender.verifier())
        .rate_limit(
            Quota::with_interval(Duration::from_secs(60))
                .unwrap()
                .allow_burst(NonZeroU32::new(3).unwrap()),
        )
        .build();
    let handler = tower::service_fn(|_req: http::Request<Full<Bytes>>| async {
        Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(Bytes::from_static(b"ok"))))
    });
    let svc = guard.layer(handler);
    let send = |headers: http::HeaderMap| {
        let mut req = http::Request::post("/hook")
            .extension(std::net::SocketAddr::from(([192, 0, 2, 7], 1)))
            .body(Full::new(Bytes::from_static(b"{}")))
            .unwrap();
        *req.headers_mut() = headers;
        rt.block_on(svc.clone().oneshot(req))
            .unwrap()
            .status()
            .as_u16()
    };
    let signed = sender.sign(b"{}");
    let statuses = metrics::with_local_recorder(&counts, || {
        [
            send(signed.clone()),
            send(signed),
            send(Sender::new().sign(b"{}")),
            send(sender.sign(b"{}")),
        ]
    });
    assert_eq!(statuses, [200, 409, 401, 429]);
    let got = counts.0.lock().unwrap().clone();
    let want: BTreeMap<String, u64> = [
        ("twh_guard_accepted_total{scheme=standard}", 1),
        ("twh_guard_rejected_total{reason=replayed}", 1),
        ("twh_guard_replayed_total{}", 1),
        ("twh_guard_rejected_total{reason=invalid-signature}", 1),
        ("twh_guard_rejected_total{reason=rate-limited}", 1),
        ("twh_guard_rate_limited_total{}", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(got, want);
}
