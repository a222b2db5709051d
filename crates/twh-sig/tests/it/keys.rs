//! Key parsing, lints, key ids, generation, signer/verifier construction rules.

use std::time::Duration;

use twh_sig::secrecy::ExposeSecret as _;
use twh_sig::{
    ConfigError, DEFAULT_TOLERANCE, FixedClock, KeyEncoding, KeyError, MAX_TOLERANCE, Message,
    Scheme, SignError, SignKey, Signer, SigningKey, Verifier, VerifyKey, VerifyingKey,
    WebhookSecret, new_message_id,
};

const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

#[test]
fn whsec_parses_to_decoded_bytes_and_round_trips() {
    let secret = WebhookSecret::parse(WHSEC, KeyEncoding::Whsec).unwrap();
    assert_eq!(secret.len(), 24);
    assert_eq!(secret.to_whsec().expose_secret(), WHSEC);
    assert_eq!(
        secret.to_base64().expose_secret(),
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    );
    assert_eq!(
        secret.to_hex().expose_secret(),
        hex::encode(secret.expose_secret())
    );
}

#[test]
fn raw_encoding_takes_the_whole_string() {
    // The same text is 24 decoded bytes for Standard Webhooks but 38 raw bytes for Stripe.
    let raw = WebhookSecret::parse(WHSEC, KeyEncoding::Raw).unwrap();
    assert_eq!(raw.expose_secret(), WHSEC.as_bytes());
    assert_eq!(Scheme::Stripe.key_encoding(), KeyEncoding::Raw);
    assert_eq!(Scheme::Standard.key_encoding(), KeyEncoding::Whsec);
    let std_key = VerifyKey::parse(WHSEC, Scheme::Standard).unwrap();
    let stripe_key = VerifyKey::parse(WHSEC, Scheme::Stripe).unwrap();
    assert_ne!(std_key.key_id(), stripe_key.key_id());
}

#[test]
fn lints_on_load() {
    let cases: [(&str, KeyError); 9] = [
        ("", KeyError::Empty),
        (
            " whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            KeyError::SurroundingWhitespace,
        ),
        (
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n",
            KeyError::SurroundingWhitespace,
        ),
        (
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
            KeyError::LooksLikeSignature { prefix: "v1," },
        ),
        (
            "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            KeyError::MissingPrefix { expected: "whsec_" },
        ),
        (
            "whsec_not base64!",
            KeyError::InvalidBase64 { prefix: "whsec_" },
        ),
        (
            "whsec_AAAA",
            KeyError::InvalidLength {
                what: "Standard Webhooks",
                actual: 3,
                min: 24,
                max: 64,
            },
        ),
        (
            "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            KeyError::InvalidLength {
                what: "Standard Webhooks",
                actual: 66,
                min: 24,
                max: 64,
            },
        ),
        (
            "whsk_nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=",
            KeyError::WrongKind {
                expected: "an HMAC secret (whsec_)",
                found: "an ed25519 key",
            },
        ),
    ];
    for (text, want) in cases {
        assert_eq!(
            WebhookSecret::parse(text, KeyEncoding::Whsec).unwrap_err(),
            want,
            "{text:?}"
        );
    }
    // Raw secrets get the generic lints too.
    assert_eq!(
        WebhookSecret::parse("shpss_abc\t", KeyEncoding::Raw).unwrap_err(),
        KeyError::SurroundingWhitespace
    );
    assert_eq!(
        WebhookSecret::parse("sha256=757107ea", KeyEncoding::Raw).unwrap_err(),
        KeyError::LooksLikeSignature { prefix: "sha256=" }
    );
}

#[test]
fn standard_key_length_bounds_are_inclusive() {
    for (len, ok) in [(23, false), (24, true), (64, true), (65, false)] {
        let secret = WebhookSecret::from_bytes(&vec![7; len]).unwrap();
        let text = secret.to_whsec();
        assert_eq!(
            WebhookSecret::parse(text.expose_secret(), KeyEncoding::Whsec).is_ok(),
            ok,
            "{len}"
        );
        assert_eq!(
            Signer::new(Scheme::Standard, [secret.clone()]).is_ok(),
            ok,
            "{len}"
        );
        assert_eq!(
            Verifier::new(Scheme::Standard, [secret.clone()]).is_ok(),
            ok,
            "{len}"
        );
        // Platform schemes take the key as issued, whatever its length.
        assert!(Verifier::new(Scheme::GitHub, [secret]).is_ok());
    }
}

#[test]
fn key_id_is_sha256_prefix() {
    // SHA-256("abc") = ba7816bf 8f01cfea … (FIPS 180-2 example).
    let secret = WebhookSecret::from_bytes(b"abc").unwrap();
    assert_eq!(secret.key_id().to_string(), "ba7816bf");
    assert_eq!(format!("{:?}", secret.key_id()), "KeyId(ba7816bf)");
    assert_eq!(secret.key_id().to_bytes(), [0xba, 0x78, 0x16, 0xbf]);
}

#[test]
fn generate_gives_fresh_32_byte_keys() {
    let a = WebhookSecret::generate();
    let b = WebhookSecret::generate();
    assert_eq!(a.len(), 32);
    assert_ne!(a.expose_secret(), b.expose_secret());
    let text = a.to_whsec();
    let back = WebhookSecret::parse(text.expose_secret(), KeyEncoding::Whsec).unwrap();
    assert_eq!(back.expose_secret(), a.expose_secret());
    assert_eq!(back.key_id(), a.key_id());
}

#[test]
fn ed25519_text_forms_round_trip() {
    let key = SigningKey::generate();
    let again = SigningKey::parse(key.to_whsk().expose_secret()).unwrap();
    assert_eq!(again.key_id(), key.key_id());
    let public = VerifyingKey::parse(&key.verifying_key().to_whpk()).unwrap();
    assert_eq!(public.key_id(), key.key_id());
    assert_eq!(public, key.verifying_key());
    // A verifier may be given the signing key text; it keeps only the public part.
    let from_whsk = VerifyKey::parse(key.to_whsk().expose_secret(), Scheme::StandardV1a).unwrap();
    assert_eq!(from_whsk.key_id(), key.key_id());
    // A public key cannot sign.
    assert!(matches!(
        SignKey::parse(&public.to_whpk(), Scheme::StandardV1a),
        Err(KeyError::WrongKind { .. })
    ));
    assert_eq!(
        VerifyingKey::parse("whpk_AAAA").unwrap_err(),
        KeyError::InvalidLength {
            what: "an ed25519 key",
            actual: 3,
            min: 32,
            max: 32
        }
    );
    // The all-zero point is small-order (weak): refused.
    assert_eq!(
        VerifyingKey::parse("whpk_AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=").unwrap_err(),
        KeyError::InvalidPublicKey
    );
    assert!(matches!(
        VerifyKey::parse(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            Scheme::StandardV1a
        ),
        Err(KeyError::MissingPrefix { expected: "whpk_" })
    ));
}

#[test]
fn key_kinds_must_fit_the_scheme() {
    let hmac = WebhookSecret::generate();
    let ed = SigningKey::generate();
    assert!(matches!(
        Signer::new(Scheme::StandardV1a, [hmac.clone()]),
        Err(KeyError::WrongKind { .. })
    ));
    assert!(matches!(
        Signer::new(Scheme::Standard, [ed.clone()]),
        Err(KeyError::WrongKind { .. })
    ));
    assert!(matches!(
        Verifier::new(Scheme::Stripe, [ed.verifying_key()]),
        Err(KeyError::WrongKind { .. })
    ));
    assert!(Verifier::new(Scheme::StandardV1a, [ed]).is_ok());
    assert_eq!(
        Signer::new(Scheme::Slack, [hmac.clone(), hmac]).unwrap_err(),
        KeyError::TooManyKeys {
            scheme: Scheme::Slack,
            count: 2,
            max: 1
        }
    );
}

#[test]
fn ambiguous_ids_refused_at_signing() {
    let signer = Signer::new(Scheme::Standard, [WebhookSecret::generate()]).unwrap();
    let long = "a".repeat(257);
    for id in [
        "",
        "msg.1",
        "msg 1",
        "msg\t1",
        "msg\n1",
        "msg\u{7f}",
        "msg_é",
        long.as_str(),
    ] {
        assert!(
            matches!(
                signer.sign(&Message::new(id, 1, b"x")),
                Err(SignError::InvalidId { .. })
            ),
            "{id:?}"
        );
    }
    assert!(
        signer
            .sign(&Message::new(&"a".repeat(256), 1, b"x"))
            .is_ok()
    );
    // GitHub/Shopify: an id goes into the delivery header and obeys the same rules.
    let github = Signer::new(Scheme::GitHub, [WebhookSecret::generate()]).unwrap();
    assert!(matches!(
        github.sign(&Message::new("a b", 1, b"x")),
        Err(SignError::InvalidId { .. })
    ));
    let signed = github.sign(&Message::new("d1", 1, b"x")).unwrap();
    assert_eq!(signed.get("x-github-delivery").unwrap(), "d1");
}

#[test]
fn message_ids_are_fresh_and_signable() {
    let a = new_message_id();
    let b = new_message_id();
    assert_ne!(a, b);
    assert!(a.starts_with("msg_") && a.len() == 26, "{a}");
    let signer = Signer::new(Scheme::Standard, [WebhookSecret::generate()]).unwrap();
    assert!(signer.sign(&Message::new(&a, 1, b"x")).is_ok());
}

#[test]
fn timestamp_range_at_signing() {
    let signer = Signer::new(Scheme::Stripe, [WebhookSecret::generate()]).unwrap();
    assert!(signer.sign(&Message::new("m", 9_999_999_999, b"")).is_ok());
    assert_eq!(
        signer
            .sign(&Message::new("m", 1_700_000_000_000, b""))
            .unwrap_err(),
        SignError::TimestampOutOfRange {
            timestamp: 1_700_000_000_000,
            max: 9_999_999_999
        }
    );
    // Schemes without a timestamp ignore it.
    let github = Signer::new(Scheme::GitHub, [WebhookSecret::generate()]).unwrap();
    assert!(github.sign(&Message::new("", u64::MAX, b"")).is_ok());
}

#[test]
fn tolerance_configuration() {
    let verifier = Verifier::new(Scheme::Standard, [WebhookSecret::generate()]).unwrap();
    assert_eq!(verifier.tolerance(), DEFAULT_TOLERANCE);
    assert_eq!(DEFAULT_TOLERANCE, Duration::from_secs(300));
    assert_eq!(
        verifier.clone().with_tolerance(Duration::ZERO).unwrap_err(),
        ConfigError::ZeroTolerance
    );
    assert_eq!(
        verifier
            .clone()
            .with_tolerance(Duration::from_millis(999))
            .unwrap_err(),
        ConfigError::ZeroTolerance
    );
    let wide = verifier
        .clone()
        .with_tolerance(Duration::from_secs(3600))
        .unwrap();
    assert_eq!(wide.tolerance(), Duration::from_secs(3600));
    // A huge tolerance would switch the window off without saying so.
    assert_eq!(
        verifier
            .clone()
            .with_tolerance(MAX_TOLERANCE)
            .unwrap()
            .tolerance(),
        MAX_TOLERANCE
    );
    assert_eq!(
        verifier.clone().with_tolerance(Duration::MAX).unwrap_err(),
        ConfigError::ToleranceTooLong { secs: u64::MAX }
    );
    assert!(
        verifier
            .clone()
            .with_tolerance(MAX_TOLERANCE + Duration::from_secs(1))
            .is_err()
    );
    // Timestamps are whole seconds: 1.5 s is refused, not cut to 1 s.
    assert_eq!(
        verifier
            .clone()
            .with_tolerance(Duration::from_millis(1500))
            .unwrap_err(),
        ConfigError::FractionalTolerance
    );
    // The original is untouched (copy-on-write through the Arc).
    assert_eq!(verifier.tolerance(), DEFAULT_TOLERANCE);
}

#[test]
fn clock_is_injected() {
    let secret = WebhookSecret::generate();
    let headers = Signer::new(Scheme::Slack, [secret.clone()])
        .unwrap()
        .sign(&Message::new("", 1_000_000, b"payload"))
        .unwrap()
        .into_header_map();
    let at = |now| {
        Verifier::new(Scheme::Slack, [secret.clone()])
            .unwrap()
            .with_clock(FixedClock::new(now))
            .verify(&headers, b"payload")
    };
    assert!(at(1_000_100).is_ok());
    assert!(at(1_000_400).is_err());
    assert!(at(999_600).is_err());
}

#[test]
fn scheme_names_round_trip() {
    for scheme in Scheme::ALL {
        assert_eq!(scheme.to_string().parse::<Scheme>().unwrap(), scheme);
    }
    assert_eq!("GitHub".parse::<Scheme>().unwrap(), Scheme::GitHub);
    let err = "svix".parse::<Scheme>().unwrap_err();
    assert!(err.to_string().contains("unknown scheme `svix`"));
    assert_eq!(Scheme::ALL.iter().filter(|s| s.uses_timestamp()).count(), 4);
}

#[test]
fn only_standard_webhooks_signs_the_message_id() {
    let signed: Vec<Scheme> = Scheme::ALL
        .into_iter()
        .filter(|s| s.signs_message_id())
        .collect();
    assert_eq!(signed, [Scheme::Standard, Scheme::StandardV1a]);
}
