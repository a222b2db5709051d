//! The negative checklist (STYLE.md rule 33) for every scheme: truncated
//! signature, a bare prefix, each header missing, timestamp changed after
//! signing, outside the window on both sides, a multi-signature set with one
//! or no valid entry, and an empty secret.

use twh_sig::http::HeaderMap;
use twh_sig::{
    KeyError, Message, Scheme, SignKey, Signer, Verifier, VerifyError, VerifyErrorKind, VerifyKey,
    WebhookSecret,
};

use crate::support::{get, set, sign_key, signature_header, verify_key};

const TS: u64 = 1_700_000_000;
const BODY: &[u8] = br#"{"type":"stock.low","sku":"A-1"}"#;

fn signed(scheme: Scheme, keys: &[u8]) -> HeaderMap {
    Signer::new(scheme, keys.iter().map(|&i| sign_key(scheme, i)))
        .unwrap()
        .sign(&Message::new("msg_negative", TS, BODY))
        .unwrap()
        .into_header_map()
}

fn verifier(scheme: Scheme) -> Verifier {
    Verifier::new(scheme, [verify_key(scheme, 1)]).unwrap()
}

/// The signature text inside the signature header, and how to rebuild the header around a new one.
fn split_signature(scheme: Scheme, value: &str) -> (String, String) {
    let prefix_end = match scheme {
        Scheme::Standard => 3,    // "v1,"
        Scheme::StandardV1a => 4, // "v1a,"
        Scheme::Stripe => value.find("v1=").unwrap() + 3,
        Scheme::GitHub => 7, // "sha256="
        Scheme::Shopify => 0,
        Scheme::Slack => 3, // "v0="
        _ => unreachable!(),
    };
    (
        value[..prefix_end].to_owned(),
        value[prefix_end..].to_owned(),
    )
}

fn check_truncated_signature(scheme: Scheme) {
    let verifier = verifier(scheme);
    let name = signature_header(scheme);
    let headers = signed(scheme, &[1]);
    assert!(verifier.verify_at(&headers, BODY, TS).is_ok());
    let (prefix, sig) = split_signature(scheme, &get(&headers, name));
    for keep in [sig.len() - 1, sig.len() / 2, 1] {
        let mut cut = headers.clone();
        set(&mut cut, name, &format!("{prefix}{}", &sig[..keep]));
        assert_eq!(
            verifier.verify_at(&cut, BODY, TS),
            Err(VerifyError::NoMatchingSignature),
            "{scheme}: signature truncated to {keep} chars"
        );
    }
}

fn check_bare_prefix(scheme: Scheme) {
    let verifier = verifier(scheme);
    let name = signature_header(scheme);
    let headers = signed(scheme, &[1]);
    let (prefix, _) = split_signature(scheme, &get(&headers, name));
    let mut bare = headers.clone();
    if prefix.is_empty() {
        // Shopify has no prefix: an empty header value is the bare case.
        set(&mut bare, name, "");
    } else {
        set(&mut bare, name, &prefix);
    }
    let err = verifier.verify_at(&bare, BODY, TS).unwrap_err();
    assert!(
        matches!(
            err.kind(),
            VerifyErrorKind::Mismatch | VerifyErrorKind::Malformed
        ),
        "{scheme}: bare `{prefix}` gave {err:?}"
    );
}

fn check_each_header_missing(scheme: Scheme) {
    let verifier = verifier(scheme);
    let headers = signed(scheme, &[1]);
    for name in headers.keys() {
        // Delivery ids of GitHub/Shopify are optional and unsigned.
        if matches!(name.as_str(), "x-github-delivery" | "x-shopify-webhook-id") {
            continue;
        }
        let mut missing = headers.clone();
        missing.remove(name);
        let err = verifier.verify_at(&missing, BODY, TS).unwrap_err();
        assert_eq!(
            err,
            VerifyError::MissingHeader {
                name: match name.as_str() {
                    "webhook-id" => "webhook-id",
                    "webhook-timestamp" => "webhook-timestamp",
                    "webhook-signature" => "webhook-signature",
                    "stripe-signature" => "stripe-signature",
                    "x-hub-signature-256" => "x-hub-signature-256",
                    "x-shopify-hmac-sha256" => "x-shopify-hmac-sha256",
                    "x-slack-signature" => "x-slack-signature",
                    "x-slack-request-timestamp" => "x-slack-request-timestamp",
                    other => panic!("unexpected header {other}"),
                }
            },
            "{scheme}: without {name}"
        );
        assert!(err.to_string().contains(name.as_str()));
    }
}

fn check_timestamp_changed(scheme: Scheme) {
    let verifier = verifier(scheme);
    let mut headers = signed(scheme, &[1]);
    let new_ts = (TS + 1).to_string();
    match scheme {
        Scheme::Standard | Scheme::StandardV1a => set(&mut headers, "webhook-timestamp", &new_ts),
        Scheme::Slack => set(&mut headers, "x-slack-request-timestamp", &new_ts),
        Scheme::Stripe => {
            let value = get(&headers, "stripe-signature")
                .replace(&format!("t={TS}"), &format!("t={new_ts}"));
            set(&mut headers, "stripe-signature", &value);
        }
        _ => {
            // No timestamp: the window does not apply, any "now" verifies.
            assert!(!scheme.uses_timestamp());
            assert!(verifier.verify_at(&headers, BODY, 0).is_ok());
            return;
        }
    }
    assert_eq!(
        verifier.verify_at(&headers, BODY, TS),
        Err(VerifyError::NoMatchingSignature),
        "{scheme}"
    );
}

fn check_outside_window(scheme: Scheme) {
    let verifier = verifier(scheme);
    let headers = signed(scheme, &[1]);
    if !scheme.uses_timestamp() {
        return;
    }
    // Edges are inclusive: exactly 300 s either way still verifies.
    assert!(verifier.verify_at(&headers, BODY, TS + 300).is_ok());
    assert!(verifier.verify_at(&headers, BODY, TS - 300).is_ok());
    assert_eq!(
        verifier.verify_at(&headers, BODY, TS + 301),
        Err(VerifyError::TimestampTooOld {
            age_secs: 301,
            tolerance_secs: 300
        }),
        "{scheme}"
    );
    assert_eq!(
        verifier.verify_at(&headers, BODY, TS - 301),
        Err(VerifyError::TimestampTooNew {
            ahead_secs: 301,
            tolerance_secs: 300
        }),
        "{scheme}"
    );
    // The default clock is the system clock: a 2023 message is far too old now.
    assert!(matches!(
        verifier.verify(&headers, BODY),
        Err(VerifyError::TimestampTooOld { .. })
    ));
    // ...but an audit tool may still check the signature.
    assert!(verifier.verify_ignoring_timestamp(&headers, BODY).is_ok());
}

fn check_multi_signature(scheme: Scheme) {
    if scheme.max_signing_keys() < 2 {
        // One signature per message: a second key is refused up front.
        let err = Signer::new(scheme, [sign_key(scheme, 1), sign_key(scheme, 2)]).unwrap_err();
        assert!(
            matches!(err, KeyError::TooManyKeys { max: 1, .. }),
            "{scheme}"
        );
        return;
    }
    let verifier = verifier(scheme); // holds key 1
    // One valid entry among others.
    let headers = signed(scheme, &[5, 1, 9]);
    let verified = verifier.verify_at(&headers, BODY, TS).unwrap();
    assert_eq!(verified.key_id, verify_key(scheme, 1).key_id());
    // No valid entry.
    let headers = signed(scheme, &[5, 6, 9]);
    assert_eq!(
        verifier.verify_at(&headers, BODY, TS),
        Err(VerifyError::NoMatchingSignature),
        "{scheme}"
    );
    // Rotation: a verifier holding old and new keys accepts either signature.
    let both = Verifier::new(scheme, [verify_key(scheme, 1), verify_key(scheme, 2)]).unwrap();
    for k in [1, 2] {
        let verified = both.verify_at(&signed(scheme, &[k]), BODY, TS).unwrap();
        assert_eq!(verified.key_id, verify_key(scheme, k).key_id());
    }
}

fn check_empty_secret(scheme: Scheme) {
    assert_eq!(
        SignKey::parse("", scheme).unwrap_err(),
        KeyError::Empty,
        "{scheme}"
    );
    assert_eq!(
        VerifyKey::parse("", scheme).unwrap_err(),
        KeyError::Empty,
        "{scheme}"
    );
    assert_eq!(WebhookSecret::from_bytes(&[]).unwrap_err(), KeyError::Empty);
    assert_eq!(
        Verifier::new(scheme, Vec::<VerifyKey>::new()).unwrap_err(),
        KeyError::NoKeys
    );
    assert_eq!(
        Signer::new(scheme, Vec::<SignKey>::new()).unwrap_err(),
        KeyError::NoKeys
    );
}

macro_rules! negative_suite {
    ($($module:ident => $scheme:expr;)*) => {
        $(
            mod $module {
                use super::*;
                #[test] fn truncated_signature() { check_truncated_signature($scheme); }
                #[test] fn bare_prefix() { check_bare_prefix($scheme); }
                #[test] fn each_header_missing() { check_each_header_missing($scheme); }
                #[test] fn timestamp_changed_after_signing() { check_timestamp_changed($scheme); }
                #[test] fn outside_window_both_sides() { check_outside_window($scheme); }
                #[test] fn multi_signature_one_or_no_valid() { check_multi_signature($scheme); }
                #[test] fn empty_secret() { check_empty_secret($scheme); }
            }
        )*
    };
}

negative_suite! {
    standard => Scheme::Standard;
    standard_v1a => Scheme::StandardV1a;
    stripe => Scheme::Stripe;
    github => Scheme::GitHub;
    shopify => Scheme::Shopify;
    slack => Scheme::Slack;
}
