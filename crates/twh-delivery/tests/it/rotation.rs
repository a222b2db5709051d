//! Rotation overlap: every active key signs, so partners on the old key keep verifying.

use std::time::Duration;

use twh_delivery::StaticKeys;
use twh_sig::WebhookSecret;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_keys_sign_during_grace_and_old_receivers_still_verify() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = outbox(&dir).await;
    let keys = StaticKeys::new();
    let old_rx = Receiver::start().await;
    let new_rx = Receiver::start().await;
    register(&outbox, &keys, "old", &old_rx.url()).await;
    register(&outbox, &keys, "new", &new_rx.url()).await;
    // Both endpoints share one secret here so that one receiver can hold only
    // the old key and the other only the new key.
    let shared = "webhooks/old";
    let mut ep = outbox.endpoint("new").await.unwrap().unwrap();
    ep = ep.with_secret_name(shared);
    outbox.upsert_endpoint(&ep).await.unwrap();
    let old_key = keys.get(shared).remove(0);
    old_rx.verify_with(vec![old_key.clone()]);

    let handle = dispatcher(&outbox, keys.clone(), fast_config(&[0, 10]))
        .build()
        .spawn();
    outbox.send("old", "t", "{\"n\":1}").await.unwrap();
    assert!(wait_settled(&outbox, Duration::from_secs(5)).await);
    assert_eq!(old_rx.received()[0].signature.split(' ').count(), 1);

    // Rotate with grace: current = new, previous = old; both active.
    let new_key = WebhookSecret::generate();
    keys.set(shared, vec![new_key.clone(), old_key.clone()]);
    new_rx.verify_with(vec![new_key.clone()]);
    outbox.send("old", "t", "{\"n\":2}").await.unwrap();
    outbox.send("new", "t", "{\"n\":3}").await.unwrap();
    assert!(wait_settled(&outbox, Duration::from_secs(5)).await);

    // Grace over: only the new key.
    keys.set(shared, vec![new_key.clone()]);
    outbox.send("old", "t", "{\"n\":4}").await.unwrap();
    assert!(wait_settled(&outbox, Duration::from_secs(5)).await);
    handle.shutdown().await;

    let old_got = old_rx.received();
    let new_got = new_rx.received();
    assert_eq!(new_got.len(), 1);
    assert_eq!(
        new_got[0].signature.split(' ').count(),
        2,
        "two signatures during grace"
    );
    assert_eq!(new_got[0].verified, Some(true), "new-key receiver verifies");
    // Old-key receiver: verified before and during grace, not after.
    let verified: Vec<_> = old_got.iter().map(|r| r.verified).collect();
    assert_eq!(verified[..2], [Some(true), Some(true)]);
    assert_eq!(old_got[1].signature.split(' ').count(), 2);
    // After grace the old-key receiver rejects; its 200 here is the test
    // receiver's, which only records the verification result.
    assert_eq!(verified[2], Some(false));
}

/// The real path: keys from a twh-secrets file store through `CachedProvider`;
/// `rotate` with grace keeps old-key receivers verifying, revoking the
/// previous version ends it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_store_rotation_with_grace_then_revocation() {
    use std::sync::Arc;
    use twh_delivery::SecretStoreKeys;
    use twh_secrets::{
        CachedProvider, FileProvider, MasterKey, RevokeTarget, SecretName, SecretProvider,
        WebhookSecretGenerator,
    };
    use twh_sig::KeyEncoding;

    let dir = tempfile::tempdir().unwrap();
    let outbox = outbox(&dir).await;
    let file = FileProvider::open_or_init(dir.path().join("store"), MasterKey::generate()).unwrap();
    let cached: Arc<dyn SecretProvider> =
        Arc::new(CachedProvider::new(Arc::new(file)).with_ttl(Duration::from_millis(20)));
    let keys = SecretStoreKeys::new(Arc::clone(&cached));
    let rx = Receiver::start().await;
    register(&outbox, &keys, "acme", &rx.url()).await;
    let name = SecretName::new("webhooks/acme").unwrap();
    let v1 = cached.get(&name).await.unwrap();
    let old = WebhookSecret::parse(v1.value().expose_str().unwrap(), KeyEncoding::Whsec).unwrap();
    rx.verify_with(vec![old]);
    // Registering again keeps the existing secret.
    register(&outbox, &keys, "acme", &rx.url()).await;
    assert_eq!(cached.versions(&name).await.unwrap().len(), 1);

    let handle = dispatcher(&outbox, keys.clone(), fast_config(&[0, 10]))
        .build()
        .spawn();
    outbox.send("acme", "t", "{\"n\":1}").await.unwrap();
    assert!(wait_settled(&outbox, Duration::from_secs(5)).await);

    cached
        .rotate(&name, &WebhookSecretGenerator, Duration::from_secs(3600))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    outbox.send("acme", "t", "{\"n\":2}").await.unwrap();
    assert!(wait_settled(&outbox, Duration::from_secs(5)).await);

    cached
        .revoke(
            &name,
            RevokeTarget::Version(v1.version()),
            "rotation finished",
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    outbox.send("acme", "t", "{\"n\":3}").await.unwrap();
    assert!(wait_settled(&outbox, Duration::from_secs(5)).await);
    handle.shutdown().await;

    let got = rx.received();
    let sigs: Vec<_> = got.iter().map(|r| r.signature.split(' ').count()).collect();
    let verified: Vec<_> = got.iter().map(|r| r.verified).collect();
    assert_eq!(sigs, [1, 2, 1]);
    assert_eq!(verified, [Some(true), Some(true), Some(false)]);
}
