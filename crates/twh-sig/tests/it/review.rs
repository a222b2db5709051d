//! Hostile-input checks from the security review: no panic, no forgery,
//! accurate errors.

use http::{HeaderMap, HeaderName, HeaderValue};
use twh_sig::{
    FixedClock, KeyEncoding, KeyError, Message, Scheme, SignKey, Signer, Verifier, VerifyError,
    VerifyErrorKind, VerifyKey, WebhookSecret,
};

const NOW: u64 = 1_700_000_000;
const KEY: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn pair(scheme: Scheme) -> (Signer, Verifier) {
    let (sign, verify): (SignKey, VerifyKey) = if scheme.is_asymmetric() {
        let k = twh_sig::SigningKey::generate();
        (k.clone().into(), k.into())
    } else {
        let s = WebhookSecret::parse(KEY, KeyEncoding::Whsec).unwrap();
        (s.clone().into(), s.into())
    };
    (
        Signer::new(scheme, [sign]).unwrap(),
        Verifier::new(scheme, [verify])
            .unwrap()
            .with_clock(FixedClock::new(NOW)),
    )
}

fn with(headers: &HeaderMap, name: &str, value: &[u8]) -> HeaderMap {
    let mut h = headers.clone();
    h.insert(
        HeaderName::from_bytes(name.as_bytes()).unwrap(),
        HeaderValue::from_bytes(value).unwrap(),
    );
    h
}

/// Every byte a `HeaderValue` can hold, mutated into every header of every
/// scheme: verification never panics and never accepts a changed header
/// value (except the id/delivery headers of GitHub/Shopify, which are not
/// signed and only reported).
#[test]
fn mutated_headers_never_verify_or_panic() {
    let mut seed = 0x9E37_79B9_u32;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed
    };
    let alphabet: Vec<u8> = (0x20..=0x7E_u8)
        .chain([b'\t', 0x80, 0xC3, 0xA9, 0xFF])
        .collect();
    for scheme in Scheme::ALL {
        let (signer, verifier) = pair(scheme);
        let body = b"{\"hello\":1}";
        let headers = signer
            .sign(&Message::new("msg_1", NOW, body))
            .unwrap()
            .into_header_map();
        assert!(verifier.verify(&headers, body).is_ok(), "{scheme}");
        let names: Vec<String> = headers.keys().map(|k| k.as_str().to_owned()).collect();
        for name in &names {
            let unsigned = matches!(name.as_str(), "x-github-delivery" | "x-shopify-webhook-id");
            let original = headers[name.as_str()].as_bytes().to_vec();
            for _ in 0..400 {
                let mut v = original.clone();
                match next() % 4 {
                    0 if !v.is_empty() => {
                        let i = next() as usize % v.len();
                        v[i] = alphabet[next() as usize % alphabet.len()];
                    }
                    1 => {
                        let i = next() as usize % (v.len() + 1);
                        v.insert(i, alphabet[next() as usize % alphabet.len()]);
                    }
                    2 if !v.is_empty() => {
                        let i = next() as usize % v.len();
                        v.remove(i);
                    }
                    _ => {
                        let i = next() as usize % (v.len() + 1);
                        let extra: &[u8] = match next() % 6 {
                            0 => b",",
                            1 => b" ",
                            2 => b",v1=",
                            3 => b" v1,",
                            4 => b",t=1700000000",
                            _ => b"=",
                        };
                        v.splice(i..i, extra.iter().copied());
                    }
                }
                if v == original || unsigned {
                    continue;
                }
                let Ok(value) = HeaderValue::from_bytes(&v) else {
                    continue;
                };
                let mut h = headers.clone();
                h.insert(HeaderName::from_bytes(name.as_bytes()).unwrap(), value);
                if let Ok(ok) = verifier.verify(&h, body) {
                    // Only semantically identical spellings may pass: extra
                    // unknown/empty entries around the genuine signature.
                    let text = String::from_utf8_lossy(&v);
                    assert!(
                        text.contains(
                            std::str::from_utf8(&original)
                                .unwrap()
                                .rsplit([' ', ','])
                                .next()
                                .unwrap()
                        ),
                        "{scheme}: {name}: {text:?} verified as {ok:?}"
                    );
                }
            }
        }
    }
}

#[test]
fn hostile_timestamps_are_malformed_not_panics() {
    let (signer, verifier) = pair(Scheme::Standard);
    let headers = signer
        .sign(&Message::new("msg_1", NOW, b""))
        .unwrap()
        .into_header_map();
    for ts in [
        &b"+1700000000"[..],
        b"-1700000000",
        b"01700000000",
        b" 1700000000",
        b"1700000000 ",
        b"1700000000.0",
        b"1_700_000_000",
        b"0x6553f100",
        b"18446744073709551616",
        b"99999999999999999999999999",
        b"",
        b"\xef\xbc\x91",
    ] {
        let err = verifier
            .verify(&with(&headers, "webhook-timestamp", ts), b"")
            .unwrap_err();
        assert_eq!(
            err.kind(),
            VerifyErrorKind::Malformed,
            "{:?}: {err}",
            String::from_utf8_lossy(ts)
        );
    }
    let err = verifier
        .verify(&with(&headers, "webhook-timestamp", b"1700000000000"), b"")
        .unwrap_err();
    assert_eq!(err, VerifyError::TimestampInMilliseconds);
}

#[test]
fn stripe_list_tricks() {
    let (signer, verifier) = pair(Scheme::Stripe);
    let body = b"{}";
    let headers = signer
        .sign(&Message::new("", NOW, body))
        .unwrap()
        .into_header_map();
    let genuine = headers["stripe-signature"].to_str().unwrap().to_owned();
    let v1 = genuine.split(",v1=").nth(1).unwrap();
    // Stripe's own libraries accept extra schemes and entries in any order.
    for ok in [
        format!("v1={v1},t={NOW}"),
        format!("t={NOW},v0=00,v1={v1}"),
        format!("t={NOW},v1={},v1={v1}", "0".repeat(64)),
    ] {
        assert!(
            verifier
                .verify(&with(&headers, "stripe-signature", ok.as_bytes()), body)
                .is_ok(),
            "{ok}"
        );
    }
    for (bad, kind) in [
        (
            format!("t={NOW},t={NOW},v1={v1}"),
            VerifyErrorKind::Malformed,
        ),
        (format!("t={},v1={v1}", NOW + 1), VerifyErrorKind::Mismatch),
        (format!("t= {NOW},v1={v1}"), VerifyErrorKind::Malformed),
        (format!("t={NOW}, v1={v1}"), VerifyErrorKind::Mismatch),
        (
            format!("t={NOW},v1={}", v1.to_uppercase()),
            VerifyErrorKind::Mismatch,
        ),
        (
            format!("t={NOW},v1={}", &v1[..63]),
            VerifyErrorKind::Mismatch,
        ),
        (format!("t={NOW},v1={v1}0"), VerifyErrorKind::Mismatch),
        (format!("t={NOW},v1="), VerifyErrorKind::Mismatch),
        (format!("t={NOW}"), VerifyErrorKind::Mismatch),
        (format!("v1={v1}"), VerifyErrorKind::Malformed),
        (format!("t={NOW},,v1={v1}"), VerifyErrorKind::Malformed),
        (
            format!("t={NOW}{}", ",v1=00".repeat(40)),
            VerifyErrorKind::Malformed,
        ),
    ] {
        let err = verifier
            .verify(&with(&headers, "stripe-signature", bad.as_bytes()), body)
            .unwrap_err();
        assert_eq!(err.kind(), kind, "{bad}: {err}");
    }
}

#[test]
fn oversized_and_crowded_headers_are_refused() {
    let (signer, verifier) = pair(Scheme::Standard);
    let headers = signer
        .sign(&Message::new("msg_1", NOW, b"x"))
        .unwrap()
        .into_header_map();
    let genuine = headers["webhook-signature"].to_str().unwrap().to_owned();
    let huge = format!("{} {genuine}", "v9,x".repeat(3000));
    let err = verifier
        .verify(&with(&headers, "webhook-signature", huge.as_bytes()), b"x")
        .unwrap_err();
    assert_eq!(err.kind(), VerifyErrorKind::Malformed, "{err}");
    let crowded = format!("{}{genuine}", "v2,AAAA ".repeat(32));
    let err = verifier
        .verify(
            &with(&headers, "webhook-signature", crowded.as_bytes()),
            b"x",
        )
        .unwrap_err();
    assert!(err.to_string().contains("more than 32"), "{err}");
    // Exactly 32 entries with the genuine one last still verifies.
    let full = format!("{}{genuine}", "v2,AAAA ".repeat(31));
    assert!(
        verifier
            .verify(&with(&headers, "webhook-signature", full.as_bytes()), b"x")
            .is_ok()
    );
    // Many unrelated headers (hash lookup path) with a duplicate id.
    let mut many = headers.clone();
    for i in 0..100 {
        many.insert(
            HeaderName::from_bytes(format!("x-pad-{i}").as_bytes()).unwrap(),
            HeaderValue::from_static("1"),
        );
    }
    assert!(verifier.verify(&many, b"x").is_ok());
    many.append("webhook-id", HeaderValue::from_static("msg_2"));
    let err = verifier.verify(&many, b"x").unwrap_err();
    assert!(err.to_string().contains("more than once"), "{err}");
}

#[test]
fn key_length_edges() {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    for (len, ok) in [(23, false), (24, true), (64, true), (65, false)] {
        let text = format!("whsec_{}", b64.encode(vec![7_u8; len]));
        let r = WebhookSecret::parse(&text, KeyEncoding::Whsec);
        assert_eq!(r.is_ok(), ok, "{len}: {r:?}");
        if !ok {
            assert!(matches!(
                r.unwrap_err(),
                KeyError::InvalidLength { actual, .. } if actual == len
            ));
        }
        // Raw keys of any length work for the platform schemes.
        let raw = WebhookSecret::from_bytes(&vec![7_u8; len]).unwrap();
        assert!(Signer::new(Scheme::Stripe, [raw.clone()]).is_ok());
        assert_eq!(Signer::new(Scheme::Standard, [raw]).is_ok(), ok);
    }
}

/// URL-safe or unpadded base64 after `whsec_` (a common copy/convert slip)
/// gets an error that says what standard base64 requires.
#[test]
fn base64_errors_say_what_is_expected() {
    use base64::Engine as _;
    let bytes = [0xFB_u8; 32];
    let std = base64::engine::general_purpose::STANDARD.encode(bytes);
    let url = base64::engine::general_purpose::URL_SAFE.encode(bytes);
    assert!(url.contains('-') || url.contains('_'));
    for text in [
        format!("whsec_{url}"),
        format!("whsec_{}", std.trim_end_matches('=')),
        format!("whsec_{}", std.replacen('+', " ", 1)),
    ] {
        let err = WebhookSecret::parse(&text, KeyEncoding::Whsec).unwrap_err();
        assert!(matches!(err, KeyError::InvalidBase64 { .. }), "{err}");
        let msg = err.to_string();
        assert!(msg.contains("padded") && msg.contains("URL-safe"), "{msg}");
        assert!(
            !msg.contains(&std[..8]) && !msg.contains(&url[..8]),
            "{msg}"
        );
    }
}
