//! Standard Webhooks header parsing: versions, caps, duplicates, strict timestamps.

use twh_sig::http::{HeaderMap, HeaderName, HeaderValue};
use twh_sig::{
    MAX_SIGNATURES, Message, Scheme, Signer, Verifier, VerifyError, VerifyErrorKind, WebhookSecret,
};

use crate::support::{get, set};

const TS: u64 = 1_700_000_000;

fn setup() -> (Verifier, HeaderMap, String) {
    let secret = WebhookSecret::from_bytes(&[9; 32]).unwrap();
    let headers = Signer::new(Scheme::Standard, [secret.clone()])
        .unwrap()
        .sign(&Message::new("msg_std", TS, b"body"))
        .unwrap()
        .into_header_map();
    let valid = get(&headers, "webhook-signature");
    (
        Verifier::new(Scheme::Standard, [secret]).unwrap(),
        headers,
        valid,
    )
}

#[test]
fn unknown_versions_are_ignored() {
    let (verifier, mut headers, valid) = setup();
    set(
        &mut headers,
        "webhook-signature",
        &format!("v2,AAAA v9,whatever {valid}"),
    );
    assert!(verifier.verify_at(&headers, b"body", TS).is_ok());
    set(&mut headers, "webhook-signature", "v2,AAAA v1a,BBBB");
    assert_eq!(
        verifier.verify_at(&headers, b"body", TS),
        Err(VerifyError::NoMatchingSignature)
    );
    // Extra spaces between entries are tolerated.
    set(
        &mut headers,
        "webhook-signature",
        &format!("  v2,AAAA   {valid} "),
    );
    assert!(verifier.verify_at(&headers, b"body", TS).is_ok());
}

#[test]
fn malformed_signature_headers() {
    let (verifier, mut headers, _) = setup();
    for (value, reason_part) in [
        ("", "no signature entries"),
        ("   ", "no signature entries"),
        ("garbage", "version prefix"),
    ] {
        set(&mut headers, "webhook-signature", value);
        let err = verifier.verify_at(&headers, b"body", TS).unwrap_err();
        assert_eq!(err.kind(), VerifyErrorKind::Malformed, "{value:?}");
        assert!(err.to_string().contains(reason_part), "{err}");
    }
}

#[test]
fn signature_count_is_capped() {
    let (verifier, mut headers, valid) = setup();
    let filler = vec!["v1,AAAA"; MAX_SIGNATURES - 1].join(" ");
    set(
        &mut headers,
        "webhook-signature",
        &format!("{filler} {valid}"),
    );
    assert!(
        verifier.verify_at(&headers, b"body", TS).is_ok(),
        "32 entries are parsed"
    );
    set(
        &mut headers,
        "webhook-signature",
        &format!("v1,AAAA {filler} {valid}"),
    );
    assert_eq!(
        verifier.verify_at(&headers, b"body", TS),
        Err(VerifyError::MalformedHeader {
            name: "webhook-signature",
            reason: "more than 32 signatures"
        })
    );
}

#[test]
fn header_length_is_capped() {
    let (verifier, mut headers, valid) = setup();
    let padding = "x".repeat(8 * 1024);
    set(
        &mut headers,
        "webhook-signature",
        &format!("v2,{padding} {valid}"),
    );
    assert_eq!(
        verifier.verify_at(&headers, b"body", TS),
        Err(VerifyError::MalformedHeader {
            name: "webhook-signature",
            reason: "longer than 8 KiB"
        })
    );
}

#[test]
fn duplicate_headers_are_refused() {
    let (verifier, mut headers, _) = setup();
    headers.append("webhook-timestamp", HeaderValue::from(TS + 1));
    assert_eq!(
        verifier.verify_at(&headers, b"body", TS),
        Err(VerifyError::MalformedHeader {
            name: "webhook-timestamp",
            reason: "header appears more than once"
        })
    );
}

#[test]
fn header_names_are_case_insensitive() {
    let (verifier, headers, _) = setup();
    let mut shouted = HeaderMap::new();
    for (name, value) in &headers {
        let upper = name.as_str().to_ascii_uppercase();
        shouted.insert(
            HeaderName::from_bytes(upper.as_bytes()).unwrap(),
            value.clone(),
        );
    }
    assert!(verifier.verify_at(&shouted, b"body", TS).is_ok());
}

#[test]
fn timestamps_are_strict_unix_seconds() {
    let (verifier, mut headers, _) = setup();
    for bad in [
        "+1700000000",
        "01700000000",
        " 1700000000",
        "1700000000 ",
        "1.7e9",
        "-1",
        "",
        "17000000000",
        "0x6553f100",
    ] {
        set(&mut headers, "webhook-timestamp", bad);
        let err = verifier.verify_at(&headers, b"body", TS).unwrap_err();
        assert_eq!(err.kind(), VerifyErrorKind::Malformed, "{bad:?}: {err}");
    }
    set(&mut headers, "webhook-timestamp", "1700000000000");
    assert_eq!(
        verifier.verify_at(&headers, b"body", TS),
        Err(VerifyError::TimestampInMilliseconds)
    );
    assert_eq!(
        VerifyError::TimestampInMilliseconds.kind(),
        VerifyErrorKind::Expired
    );
}

#[test]
fn non_ascii_header_value_is_malformed() {
    let (verifier, mut headers, _) = setup();
    headers.insert("webhook-id", HeaderValue::from_bytes(b"msg_\xff").unwrap());
    assert_eq!(
        verifier
            .verify_at(&headers, b"body", TS)
            .unwrap_err()
            .kind(),
        VerifyErrorKind::Malformed
    );
}

#[test]
fn large_header_maps_use_the_hashed_path_with_the_same_rules() {
    let (verifier, mut headers, _) = setup();
    for i in 0..40 {
        headers.insert(
            HeaderName::from_bytes(format!("x-extra-{i}").as_bytes()).unwrap(),
            HeaderValue::from_static("filler"),
        );
    }
    assert!(headers.len() > 32);
    assert!(verifier.verify_at(&headers, b"body", TS).is_ok());
    let mut missing = headers.clone();
    missing.remove("webhook-id");
    assert_eq!(
        verifier.verify_at(&missing, b"body", TS),
        Err(VerifyError::MissingHeader { name: "webhook-id" })
    );
    headers.append("webhook-id", HeaderValue::from_static("msg_other"));
    assert_eq!(
        verifier.verify_at(&headers, b"body", TS),
        Err(VerifyError::MalformedHeader {
            name: "webhook-id",
            reason: "header appears more than once"
        })
    );
}
