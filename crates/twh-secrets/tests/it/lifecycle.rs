//! The state machine, run against every backend through `&dyn SecretProvider`.

use std::sync::Arc;
use std::time::Duration;

use twh_secrets::{
    FakeClock, MemoryProvider, Precondition, PutOptions, RevokeTarget, SecretError, SecretProvider,
    SecretValue, Version, VersionState,
};

use crate::common::{HOUR, T0, name, temp_store};

fn v(n: u64) -> Version {
    Version::new(n).unwrap()
}

fn val(s: &str) -> SecretValue {
    SecretValue::from_bytes(s.as_bytes())
}

pub async fn full_lifecycle(p: &dyn SecretProvider, clock: &FakeClock) {
    let n = name("webhooks/acme");
    assert!(matches!(p.get(&n).await, Err(SecretError::NotFound { .. })));
    assert!(matches!(
        p.active(&n).await,
        Err(SecretError::NotFound { .. })
    ));
    assert!(matches!(
        p.versions(&n).await,
        Err(SecretError::NotFound { .. })
    ));

    // put → v1 current
    let v1 = p
        .put(&n, val("one"), PutOptions::new().label("team", "payments"))
        .await
        .unwrap();
    assert_eq!(v1, v(1));
    let cur = p.get(&n).await.unwrap();
    assert_eq!(cur.version(), v1);
    assert_eq!(cur.value().expose_secret(), b"one");
    assert_eq!(*cur.state(), VersionState::Current);
    let meta = p.metadata(&n).await.unwrap();
    assert_eq!(
        meta.labels.get("team").map(String::as_str),
        Some("payments")
    );

    // rotate with grace → v2 current, v1 previous until now+1h
    let v2 = p.rotate(&n, &|| Ok(val("two")), HOUR).await.unwrap();
    assert_eq!(v2, v(2));
    let active = p.active(&n).await.unwrap();
    let got: Vec<_> = active
        .iter()
        .map(|s| (s.version(), s.value().expose_secret().to_vec()))
        .collect();
    assert_eq!(got, vec![(v2, b"two".to_vec()), (v1, b"one".to_vec())]);
    let vs = p.versions(&n).await.unwrap();
    assert_eq!(vs.len(), 2);
    assert!(matches!(vs[0].state, VersionState::Previous { .. }));
    assert_eq!(vs[1].state, VersionState::Current);

    // grace expires → only v2 active, v1 still readable by version
    clock.advance(HOUR + Duration::from_secs(1));
    let active = p.active(&n).await.unwrap();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0].version(), v2);
    assert_eq!(
        p.get_version(&n, v1).await.unwrap().value().expose_secret(),
        b"one"
    );
    assert!(matches!(
        p.get_version(&n, v(9)).await,
        Err(SecretError::VersionNotFound { .. })
    ));

    // compare-and-set
    let err = p
        .put(
            &n,
            val("x"),
            PutOptions::new().expect(Precondition::Current(v1)),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, SecretError::Conflict { .. }), "{err}");
    assert!(err.is_transient());
    let err = p
        .put(&n, val("x"), PutOptions::new().expect(Precondition::Absent))
        .await
        .unwrap_err();
    assert!(matches!(err, SecretError::Conflict { .. }));
    let v3 = p
        .put(
            &n,
            val("three"),
            PutOptions::new().expect(Precondition::Current(v2)),
        )
        .await
        .unwrap();
    assert_eq!(v3, v(3));
    // put without grace: v2 is no longer active
    assert_eq!(p.active(&n).await.unwrap().len(), 1);

    // rollback to v1 → v4 with v1's value, append-only
    let v4 = p.rollback(&n, v1).await.unwrap();
    assert_eq!(v4, v(4));
    assert_eq!(p.get(&n).await.unwrap().value().expose_secret(), b"one");
    assert_eq!(p.versions(&n).await.unwrap().len(), 4);

    // revoke one previous version
    let done = p
        .revoke(&n, RevokeTarget::Version(v3), "leaked in a log")
        .await
        .unwrap();
    assert_eq!(done, vec![v3]);
    assert!(matches!(
        p.get_version(&n, v3).await,
        Err(SecretError::Revoked { .. })
    ));
    // rolling back to a revoked value is refused
    assert!(matches!(
        p.rollback(&n, v3).await,
        Err(SecretError::Revoked { .. })
    ));
    // empty reason refused
    assert!(matches!(
        p.revoke(&n, RevokeTarget::All, "  ").await,
        Err(SecretError::InvalidInput { .. })
    ));

    // destroy: current refused, previous ok, metadata kept
    assert!(matches!(
        p.destroy(&n, v4).await,
        Err(SecretError::InvalidInput { .. })
    ));
    p.destroy(&n, v2).await.unwrap();
    assert!(matches!(
        p.get_version(&n, v2).await,
        Err(SecretError::Destroyed { .. })
    ));
    let vs = p.versions(&n).await.unwrap();
    assert_eq!(vs[1].state, VersionState::Destroyed);
    assert_eq!(vs[1].version, v2);

    // list by prefix
    p.put(&name("webhooks/zeta"), val("z"), PutOptions::new())
        .await
        .unwrap();
    p.put(&name("db/password"), val("p"), PutOptions::new())
        .await
        .unwrap();
    let all = p.list("").await.unwrap();
    assert_eq!(all.len(), 3);
    let hooks: Vec<String> = p
        .list("webhooks/")
        .await
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(hooks, ["webhooks/acme", "webhooks/zeta"]);

    // revoke all: nothing active, get says revoked
    let done = p
        .revoke(&n, RevokeTarget::All, "incident 42")
        .await
        .unwrap();
    assert_eq!(done, vec![v1, v4]);
    assert!(matches!(p.get(&n).await, Err(SecretError::Revoked { .. })));
    assert!(matches!(
        p.active(&n).await,
        Err(SecretError::Revoked { .. })
    ));
    // a revoked value cannot come back as current (put, .env import…)
    let err = p.put(&n, val("one"), PutOptions::new()).await.unwrap_err();
    assert!(
        matches!(err, SecretError::InvalidInput { .. }),
        "revoked value re-put: {err:?}"
    );
    assert!(err.to_string().contains("revoked as version 1"), "{err}");
    assert_eq!(p.versions(&n).await.unwrap().len(), 4, "nothing appended");
    // an empty value is never a secret
    assert!(matches!(
        p.put(&n, val(""), PutOptions::new()).await,
        Err(SecretError::InvalidInput { .. })
    ));
    // a new put after a full revocation makes a fresh current
    let v5 = p.put(&n, val("five"), PutOptions::new()).await.unwrap();
    assert_eq!(v5, v(5));
    assert_eq!(p.active(&n).await.unwrap().len(), 1);
}

#[tokio::test]
async fn memory_backend_lifecycle() {
    let clock = Arc::new(FakeClock::at_unix(T0));
    let p = MemoryProvider::new().with_clock(clock.clone());
    full_lifecycle(&p, &clock).await;
}

#[tokio::test]
async fn file_backend_lifecycle() {
    let t = temp_store();
    full_lifecycle(&t.store, &t.clock).await;
}

#[tokio::test]
async fn file_backend_lifecycle_as_arc_dyn() {
    let t = temp_store();
    let p: Arc<dyn SecretProvider> = Arc::new(t.store.clone());
    full_lifecycle(p.as_ref(), &t.clock).await;
}

#[tokio::test]
async fn rotate_of_missing_secret_is_not_found() {
    let t = temp_store();
    let err = t
        .store
        .rotate(&name("nope"), &twh_secrets::WebhookSecretGenerator, HOUR)
        .await
        .unwrap_err();
    assert!(matches!(err, SecretError::NotFound { .. }), "{err}");
    assert!(err.to_string().contains("nope"));
}

#[tokio::test]
async fn webhook_secret_generator_makes_whsec() {
    let a = twh_secrets::generate_webhook_secret();
    let b = twh_secrets::generate_webhook_secret();
    let text = a.expose_str().unwrap();
    assert!(text.starts_with("whsec_"), "format");
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(&text[6..])
        .unwrap();
    assert_eq!(raw.len(), 32);
    assert!(!a.ct_eq(&b));
}

#[tokio::test]
async fn generated_secret_parses_as_twh_sig_key() {
    let v = twh_secrets::generate_webhook_secret();
    let key =
        twh_sig::VerifyKey::parse(v.expose_str().unwrap(), twh_sig::Scheme::Standard).unwrap();
    let direct =
        twh_sig::WebhookSecret::parse(v.expose_str().unwrap(), twh_sig::KeyEncoding::Whsec)
            .unwrap();
    assert_eq!(key.key_id(), direct.key_id());
    assert_eq!(direct.len(), 32);
}
