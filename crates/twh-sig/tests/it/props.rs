//! Property tests: round trips for any body/id/timestamp/key set, and any
//! single-bit change to body, id, timestamp or signature fails.

use proptest::prelude::*;
use twh_sig::http::{HeaderMap, HeaderValue};
use twh_sig::{MAX_TIMESTAMP, Message, Scheme, Signer, Verifier};

use crate::support::{sign_key, verify_key};

fn scheme() -> impl Strategy<Value = Scheme> {
    prop::sample::select(Scheme::ALL.to_vec())
}

fn id() -> impl Strategy<Value = String> {
    // Visible ASCII without '.', as the signer requires.
    "[A-Za-z0-9_~:;,=+/!-]{1,64}"
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..2048)
}

/// Key indices: a non-empty set, sized to what the scheme carries.
fn key_set(scheme: Scheme) -> impl Strategy<Value = Vec<u8>> {
    let max = scheme.max_signing_keys().min(4);
    prop::collection::btree_set(any::<u8>(), 1..=max).prop_map(|s| s.into_iter().collect())
}

fn signed(scheme: Scheme, keys: &[u8], id: &str, ts: u64, body: &[u8]) -> HeaderMap {
    let signer = Signer::new(scheme, keys.iter().map(|&i| sign_key(scheme, i))).unwrap();
    // GitHub/Shopify carry the id in an unsigned header; leave it out so every
    // header left is covered by the signature.
    let id = if scheme.uses_timestamp() { id } else { "" };
    signer
        .sign(&Message::new(id, ts, body))
        .unwrap()
        .into_header_map()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn round_trip_any_key_of_the_set(
        (scheme, keys) in scheme().prop_flat_map(|s| (Just(s), key_set(s))),
        id in id(),
        ts in 0..=MAX_TIMESTAMP,
        body in body(),
        pick in any::<prop::sample::Index>(),
    ) {
        let headers = signed(scheme, &keys, &id, ts, &body);
        // A verifier holding all keys, and one holding just any one of them, accepts.
        let all = Verifier::new(scheme, keys.iter().map(|&i| verify_key(scheme, i))).unwrap();
        let verified = all.verify_at(&headers, &body, ts).unwrap();
        prop_assert_eq!(verified.scheme, scheme);
        let one = keys[pick.index(keys.len())];
        let single = Verifier::new(scheme, [verify_key(scheme, one)]).unwrap();
        let verified = single.verify_at(&headers, &body, ts).unwrap();
        prop_assert_eq!(verified.key_id, verify_key(scheme, one).key_id());
        if scheme.uses_timestamp() {
            prop_assert_eq!(verified.timestamp, Some(ts));
        }
        if matches!(scheme, Scheme::Standard | Scheme::StandardV1a) {
            prop_assert_eq!(verified.id.as_deref(), Some(id.as_str()));
        }
        // A key outside the set is refused.
        let outsider = (0..=u8::MAX).find(|i| !keys.contains(i)).unwrap();
        let stranger = Verifier::new(scheme, [verify_key(scheme, outsider)]).unwrap();
        prop_assert!(stranger.verify_at(&headers, &body, ts).is_err());
    }

    #[test]
    fn any_bit_flip_in_body_fails(
        scheme in scheme(),
        id in id(),
        ts in 0..=MAX_TIMESTAMP,
        body in prop::collection::vec(any::<u8>(), 1..1024),
        at in any::<prop::sample::Index>(),
        bit in 0..8_u8,
    ) {
        let headers = signed(scheme, &[7], &id, ts, &body);
        let verifier = Verifier::new(scheme, [verify_key(scheme, 7)]).unwrap();
        prop_assert!(verifier.verify_at(&headers, &body, ts).is_ok());
        let mut flipped = body.clone();
        flipped[at.index(body.len())] ^= 1 << bit;
        prop_assert!(verifier.verify_at(&headers, &flipped, ts).is_err());
    }

    /// Flip one bit anywhere in any header we sent (id, timestamp, signature).
    #[test]
    fn any_bit_flip_in_headers_fails(
        scheme in scheme(),
        id in id(),
        ts in 0..=MAX_TIMESTAMP,
        body in body(),
        which in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        bit in 0..8_u8,
    ) {
        let headers = signed(scheme, &[3], &id, ts, &body);
        let verifier = Verifier::new(scheme, [verify_key(scheme, 3)]).unwrap();
        prop_assert!(verifier.verify_at(&headers, &body, ts).is_ok());

        let names: Vec<_> = headers.keys().cloned().collect();
        let name = &names[which.index(names.len())];
        let mut bytes = headers.get(name).unwrap().as_bytes().to_vec();
        let i = at.index(bytes.len());
        bytes[i] ^= 1 << bit;
        // A flip that makes the value unsendable cannot reach a verifier.
        let Ok(value) = HeaderValue::from_bytes(&bytes) else { return Ok(()); };
        let mut tampered = headers.clone();
        tampered.insert(name.clone(), value);
        prop_assert!(
            verifier.verify_ignoring_timestamp(&tampered, &body).is_err(),
            "flip of bit {} at byte {} of {} accepted", bit, i, name
        );
    }
}
