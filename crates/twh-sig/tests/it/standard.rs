use twh_sig::{FixedClock, KeyEncoding, Message, Scheme, Signer, Verifier, WebhookSecret};

/// The example from the Standard Webhooks reference libraries' test suites.
#[test]
fn standard_webhooks_reference_example() {
    let secret =
        WebhookSecret::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD", KeyEncoding::Whsec).unwrap();
    let signer = Signer::new(Scheme::Standard, [secret.clone()]).unwrap();
    let body = br#"{"email":"test@example.com","username":"test_user"}"#;
    let msg = Message::new("msg_27UH4WbU6Z5A5EzD8u03UvzRbpk", 1_649_367_553, body);
    let headers = signer.sign(&msg).unwrap();
    assert_eq!(
        headers.get("webhook-signature").unwrap(),
        "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
    );
    let verifier = Verifier::new(Scheme::Standard, [secret])
        .unwrap()
        .with_clock(FixedClock::new(1_649_367_553));
    let verified = verifier.verify(&headers.into_header_map(), body).unwrap();
    assert_eq!(verified.timestamp, Some(1_649_367_553));
}
