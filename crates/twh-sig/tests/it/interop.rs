//! Byte-for-byte interop with the reference Rust library `standardwebhooks`.

use std::time::{SystemTime, UNIX_EPOCH};

use standardwebhooks::Webhook;
use twh_sig::http::{HeaderMap, HeaderValue};
use twh_sig::secrecy::ExposeSecret as _;
use twh_sig::{KeyEncoding, Message, Scheme, Signer, Verifier, VerifyError, WebhookSecret};

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn bodies() -> Vec<Vec<u8>> {
    vec![
        Vec::new(),
        b"{}".to_vec(),
        br#"{"type":"order.shipped","data":{"id":42,"lines":[1,2,3]}}"#.to_vec(),
        "Grüße aus dem Lager 📦 — ünïcödé".as_bytes().to_vec(),
        b"line one\r\nline two\n\ttabbed . dotted . body".to_vec(),
        "x".repeat(64 * 1024).into_bytes(),
    ]
}

fn secrets() -> Vec<WebhookSecret> {
    vec![
        // 24 bytes: the reference library's own test secret.
        WebhookSecret::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD", KeyEncoding::Whsec).unwrap(),
        WebhookSecret::from_bytes(&[0x5a; 32]).unwrap(),
        WebhookSecret::from_bytes(&(0..64).collect::<Vec<u8>>()).unwrap(),
    ]
}

#[test]
fn ours_signs_theirs_verifies() {
    let ts = now();
    for secret in secrets() {
        let theirs = Webhook::new(secret.to_whsec().expose_secret()).unwrap();
        let signer = Signer::new(Scheme::Standard, [secret.clone()]).unwrap();
        for (i, body) in bodies().iter().enumerate() {
            let id = format!("msg_interop{i}");
            let headers = signer
                .sign(&Message::new(&id, ts, body))
                .unwrap()
                .into_header_map();
            theirs
                .verify(body, &headers)
                .unwrap_or_else(|e| panic!("body #{i}: {e}"));
        }
    }
}

#[test]
fn theirs_signs_ours_verifies() {
    let ts = now();
    for secret in secrets() {
        let theirs = Webhook::new(secret.to_whsec().expose_secret()).unwrap();
        let verifier = Verifier::new(Scheme::Standard, [secret.clone()]).unwrap();
        for (i, body) in bodies().iter().enumerate() {
            let id = format!("msg_interop{i}");
            let signature = theirs.sign(&id, i64::try_from(ts).unwrap(), body).unwrap();
            let mut headers = HeaderMap::new();
            headers.insert("webhook-id", HeaderValue::from_str(&id).unwrap());
            headers.insert("webhook-timestamp", HeaderValue::from(ts));
            headers.insert(
                "webhook-signature",
                HeaderValue::from_str(&signature).unwrap(),
            );
            let verified = verifier
                .verify(&headers, body)
                .unwrap_or_else(|e| panic!("body #{i}: {e}"));
            assert_eq!(verified.key_id, secret.key_id());
            assert_eq!(verified.id.as_deref(), Some(id.as_str()));

            // and both agree on the exact signature text
            let ours = Signer::new(Scheme::Standard, [secret.clone()])
                .unwrap()
                .sign(&Message::new(&id, ts, body))
                .unwrap();
            assert_eq!(ours.get("webhook-signature").unwrap(), signature.as_str());
        }
    }
}

/// During rotation we send two signatures; the reference verifier holding
/// either key accepts the space-separated header.
#[test]
fn rotation_header_accepted_by_reference_verifier() {
    let [old, new, ..] = &secrets()[..] else {
        unreachable!()
    };
    let signer = Signer::new(Scheme::Standard, [new.clone(), old.clone()]).unwrap();
    let body = br#"{"rotating":true}"#;
    let headers = signer
        .sign(&Message::new("msg_rot", now(), body))
        .unwrap()
        .into_header_map();
    assert_eq!(
        headers
            .get("webhook-signature")
            .unwrap()
            .to_str()
            .unwrap()
            .split(' ')
            .count(),
        2
    );
    for key in [old, new] {
        Webhook::new(key.to_whsec().expose_secret())
            .unwrap()
            .verify(body, &headers)
            .unwrap();
    }
    let stranger = WebhookSecret::generate();
    assert!(
        Webhook::new(stranger.to_whsec().expose_secret())
            .unwrap()
            .verify(body, &headers)
            .is_err()
    );
}

/// The reference library only signs UTF-8 payloads; ours signs any bytes and
/// agrees with it wherever both can sign (checked above), and still
/// round-trips non-UTF-8 bodies on its own.
#[test]
fn non_utf8_body() {
    let secret = &secrets()[1];
    let body = [0xff, 0xfe, 0x00, b'.', 0x80, 0x0a];
    let theirs = Webhook::new(secret.to_whsec().expose_secret()).unwrap();
    assert!(theirs.sign("msg_bin", 1_700_000_000, &body).is_err());

    let ts = now();
    let headers = Signer::new(Scheme::Standard, [secret.clone()])
        .unwrap()
        .sign(&Message::new("msg_bin", ts, &body))
        .unwrap()
        .into_header_map();
    let verifier = Verifier::new(Scheme::Standard, [secret.clone()]).unwrap();
    assert!(verifier.verify(&headers, &body).is_ok());
    let mut changed = body;
    changed[0] ^= 1;
    assert_eq!(
        verifier.verify(&headers, &changed),
        Err(VerifyError::NoMatchingSignature)
    );
}
