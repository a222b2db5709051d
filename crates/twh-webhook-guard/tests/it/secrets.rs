//! Rotation and revocation end to end: keys live in a twh-secrets file store
//! that an operator changes while the receiver keeps running.
use std::sync::Arc;
use std::time::Duration;

use twh_secrets::{
    CachedProvider, FileProvider, MasterKey, PutOptions, RevokeTarget, SecretName,
    SecretProvider as _, WebhookSecretGenerator, generate_webhook_secret,
};
use twh_webhook_guard::twh_sig::{KeyEncoding, Scheme, WebhookSecret};
use twh_webhook_guard::{SecretsKeyResolver, WebhookGuard};

use crate::support::*;

const TTL: Duration = Duration::from_millis(300);

async fn current_sender(store: &FileProvider, name: &SecretName) -> Sender {
    let current = store.get(name).await.unwrap();
    let text = current.value().expose_str().unwrap();
    Sender::with_secret(WebhookSecret::parse(text, KeyEncoding::Whsec).unwrap())
}

async fn status(addr: std::net::SocketAddr, sender: &Sender) -> u16 {
    post(addr, "/hook", sender.sign(b"{}"), b"{}".to_vec())
        .await
        .status()
        .as_u16()
}

#[tokio::test]
async fn rotation_and_revocation_take_effect_without_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secrets.twh");
    let master = MasterKey::generate();
    // The operator (the CLI, another process) and the receiver open the same file.
    let admin = FileProvider::open_or_init(&path, master.clone()).unwrap();
    let name = SecretName::new("partners/acme").unwrap();
    let v1 = admin
        .put(&name, generate_webhook_secret(), PutOptions::new())
        .await
        .unwrap();
    let old = current_sender(&admin, &name).await;

    let served = FileProvider::open(&path, master).unwrap();
    let cached = Arc::new(CachedProvider::new(Arc::new(served)).with_ttl(TTL));
    let guard = WebhookGuard::builder()
        .key_resolver(SecretsKeyResolver::new(
            cached,
            Scheme::Standard,
            name.clone(),
        ))
        .build();
    let addr = serve(routes().layer(guard)).await;
    assert_eq!(status(addr, &old).await, 200);

    // Rotate with a grace period: after the cache TTL both keys verify.
    admin
        .rotate(&name, &WebhookSecretGenerator, Duration::from_secs(3600))
        .await
        .unwrap();
    let new = current_sender(&admin, &name).await;
    tokio::time::sleep(TTL + Duration::from_millis(100)).await;
    assert_eq!(
        status(addr, &new).await,
        200,
        "new key accepted after rotation"
    );
    assert_eq!(
        status(addr, &old).await,
        200,
        "old key accepted during grace"
    );

    // Revoke the old version: within the TTL it stops verifying.
    admin
        .revoke(&name, RevokeTarget::Version(v1), "leaked in a log")
        .await
        .unwrap();
    tokio::time::sleep(TTL + Duration::from_millis(100)).await;
    let res = post(addr, "/hook", old.sign(b"{}"), b"{}".to_vec()).await;
    assert_eq!(res.status(), 401);
    assert_eq!(problem_type(res).await, "urn:twh:problem:invalid-signature");
    assert_eq!(status(addr, &new).await, 200, "current key unaffected");

    // Revoke everything: nothing verifies, with the same 401 body.
    admin
        .revoke(&name, RevokeTarget::All, "incident")
        .await
        .unwrap();
    tokio::time::sleep(TTL + Duration::from_millis(100)).await;
    let res = post(addr, "/hook", new.sign(b"{}"), b"{}".to_vec()).await;
    assert_eq!(res.status(), 401);
    assert_eq!(problem_type(res).await, "urn:twh:problem:invalid-signature");
}

#[tokio::test]
async fn routed_secrets_and_unknown_endpoints() {
    let dir = tempfile::tempdir().unwrap();
    let store =
        FileProvider::open_or_init(dir.path().join("s.twh"), MasterKey::generate()).unwrap();
    let acme = SecretName::new("partners/acme").unwrap();
    let globex = SecretName::new("partners/globex").unwrap();
    store
        .put(&acme, generate_webhook_secret(), PutOptions::new())
        .await
        .unwrap();
    store
        .put(&globex, generate_webhook_secret(), PutOptions::new())
        .await
        .unwrap();
    let (acme_sender, globex_sender) = (
        current_sender(&store, &acme).await,
        current_sender(&store, &globex).await,
    );

    let cached = Arc::new(CachedProvider::new(Arc::new(store)));
    // /hook/<partner> → secret partners/<partner>
    let resolver =
        SecretsKeyResolver::routed(cached, Scheme::Standard, |parts: &http::request::Parts| {
            let partner = parts.uri.path().strip_prefix("/hook/")?;
            SecretName::new(&format!("partners/{partner}")).ok()
        });
    let guard = WebhookGuard::builder().key_resolver(resolver).build();
    let app = axum::Router::new()
        .route("/hook/{partner}", axum::routing::post(|| async { "ok" }))
        .layer(guard);
    let addr = serve(app).await;
    let send =
        |path: &'static str, sender: &Sender| post(addr, path, sender.sign(b"{}"), b"{}".to_vec());
    assert_eq!(send("/hook/acme", &acme_sender).await.status(), 200);
    assert_eq!(send("/hook/globex", &globex_sender).await.status(), 200);
    assert_eq!(
        send("/hook/acme", &globex_sender).await.status(),
        401,
        "one partner's key does not open another's endpoint"
    );
    let res = send("/hook/initech", &acme_sender).await;
    assert_eq!(res.status(), 404);
    assert_eq!(problem_type(res).await, "urn:twh:problem:unknown-endpoint");
}
