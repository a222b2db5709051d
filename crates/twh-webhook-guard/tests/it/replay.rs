//! Replay protection at its edges: unsigned ids, the last second of the
//! window, a verifier tolerance longer than the guard's window.

use std::time::Duration;

use twh_webhook_guard::twh_sig::{self, FixedClock, Message, Scheme, Signer, Verifier};
use twh_webhook_guard::{ConfigError, InMemoryReplayStore, MAX_REPLAY_WINDOW, WebhookGuard};

use crate::support::{Sender, now, post, routes, serve};

const BODY: &[u8] = br#"{"type":"order.created","id":7}"#;

#[tokio::test]
async fn github_and_shopify_replays_are_caught_whatever_their_id_header() {
    let secret = twh_sig::WebhookSecret::from_bytes(b"a shared platform secret").unwrap();
    for (scheme, id_header) in [
        (Scheme::GitHub, "x-github-delivery"),
        (Scheme::Shopify, "x-shopify-webhook-id"),
    ] {
        let verifier = Verifier::new(scheme, [secret.clone()]).unwrap();
        let signer = Signer::new(scheme, [secret.clone()]).unwrap();
        let guard = WebhookGuard::builder().key_resolver(verifier).build();
        let addr = serve(routes().layer(guard)).await;
        let h = signer
            .sign(&Message::new("delivery-1", 0, BODY))
            .unwrap()
            .into_header_map();
        assert_eq!(
            post(addr, "/hook", h.clone(), BODY.to_vec()).await.status(),
            200
        );
        // The id header is not signed: a replayer changes it, or drops it.
        let mut changed = h.clone();
        changed.insert(id_header, "delivery-2".parse().unwrap());
        assert_eq!(
            post(addr, "/hook", changed, BODY.to_vec()).await.status(),
            409,
            "{scheme}: new id header, same signed body"
        );
        let mut dropped = h.clone();
        dropped.remove(id_header);
        assert_eq!(
            post(addr, "/hook", dropped, BODY.to_vec()).await.status(),
            409,
            "{scheme}: id header removed"
        );
    }
}

#[tokio::test]
async fn a_message_at_the_very_edge_of_the_window_is_accepted_once() {
    let sender = Sender::new();
    let ts = now() - 1_000;
    // Both clocks sit exactly `tolerance` after the timestamp: the verifier
    // still accepts (age == tolerance); the store must still remember.
    let at_edge = ts + 300;
    let guard = WebhookGuard::builder()
        .key_resolver(sender.verifier().with_clock(FixedClock::new(at_edge)))
        .replay_store(InMemoryReplayStore::new(1000).with_clock(FixedClock::new(at_edge)))
        .build();
    let addr = serve(routes().layer(guard)).await;
    let h = sender.sign_at("msg_edge", ts, BODY);
    let statuses = [
        post(addr, "/hook", h.clone(), BODY.to_vec()).await.status(),
        post(addr, "/hook", h.clone(), BODY.to_vec()).await.status(),
        post(addr, "/hook", h, BODY.to_vec()).await.status(),
    ];
    assert_eq!(statuses.map(|s| s.as_u16()), [200, 409, 409]);
}

#[tokio::test]
async fn a_verifier_tolerance_longer_than_the_window_is_honoured() {
    let sender = Sender::new();
    let ts = now() - 10_000;
    let hour = Duration::from_secs(3600);
    // The guard's replay window stays at its 5-minute default.
    for age in [0, 10, 400, 3_000] {
        let clock = FixedClock::new(ts + age);
        let guard = WebhookGuard::builder()
            .key_resolver(
                sender
                    .verifier()
                    .with_tolerance(hour)
                    .unwrap()
                    .with_clock(clock),
            )
            .replay_store(InMemoryReplayStore::new(1000).with_clock(clock))
            .build();
        let addr = serve(routes().layer(guard)).await;
        let h = sender.sign_at("msg_long", ts, BODY);
        assert_eq!(
            post(addr, "/hook", h.clone(), BODY.to_vec()).await.status(),
            200
        );
        assert_eq!(
            post(addr, "/hook", h, BODY.to_vec()).await.status(),
            409,
            "replayed {age} s after its timestamp"
        );
    }
}

#[test]
fn replay_windows_are_bounded() {
    assert!(matches!(
        WebhookGuard::builder().replay_window(Duration::MAX),
        Err(ConfigError::DurationTooLong { .. })
    ));
    assert!(
        WebhookGuard::builder()
            .replay_window(MAX_REPLAY_WINDOW)
            .is_ok()
    );
    assert!(matches!(
        WebhookGuard::builder().replay_window(Duration::ZERO),
        Err(ConfigError::ZeroDuration { .. })
    ));
}

#[tokio::test]
async fn a_message_signed_with_v1_and_v1a_is_accepted_once_whichever_part_verifies() {
    use twh_webhook_guard::ResolveError;
    use twh_webhook_guard::http::request::Parts;
    // A sender moving to ed25519 signs with both; the receiver picks the
    // verifier by what the header holds.
    let secret = twh_sig::WebhookSecret::generate();
    let ed = twh_sig::SigningKey::generate();
    let v1 = Verifier::new(Scheme::Standard, [secret.clone()]).unwrap();
    let v1a = Verifier::new(Scheme::StandardV1a, [ed.verifying_key()]).unwrap();
    let resolver = move |parts: &Parts| -> Result<Verifier, ResolveError> {
        let sig = parts.headers.get("webhook-signature").map(|v| v.as_bytes());
        let has_v1a = sig.is_some_and(|s| s.windows(4).any(|w| w == b"v1a,"));
        Ok(if has_v1a { v1a.clone() } else { v1.clone() })
    };
    let guard = WebhookGuard::builder().key_resolver(resolver).build();
    let addr = serve(routes().layer(guard)).await;
    let msg = Message::new("msg_both", now(), BODY);
    let hmac = Signer::new(Scheme::Standard, [secret])
        .unwrap()
        .sign(&msg)
        .unwrap();
    let sig = |h: &twh_sig::SignedHeaders| {
        h.clone().into_header_map()["webhook-signature"]
            .to_str()
            .unwrap()
            .to_owned()
    };
    let ed_sig = Signer::new(Scheme::StandardV1a, [ed])
        .unwrap()
        .sign(&msg)
        .unwrap();
    let (v1_part, v1a_part) = (sig(&hmac), sig(&ed_sig));
    let with = |value: String| {
        let mut h = hmac.clone().into_header_map();
        h.insert("webhook-signature", value.parse().unwrap());
        h
    };
    let mut statuses = Vec::new();
    for value in [
        format!("{v1_part} {v1a_part}"),
        format!("{v1_part} {v1a_part}"),
        v1_part.clone(),
        v1a_part.clone(),
    ] {
        statuses.push(
            post(addr, "/hook", with(value), BODY.to_vec())
                .await
                .status()
                .as_u16(),
        );
    }
    assert_eq!(
        statuses,
        [200, 409, 409, 409],
        "both, both again, v1 only, v1a only"
    );
}
