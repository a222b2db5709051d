//! File-backend specifics: encryption at rest, key handling, reopening.

use std::sync::Arc;

use twh_secrets::{
    FileProvider, MasterKey, PutOptions, SecretError, SecretProvider, SecretValue, StoreUrl,
    open_store,
};

use crate::common::{HOUR, name, temp_store};

#[tokio::test]
async fn values_are_encrypted_at_rest_and_survive_reopen() {
    let t = temp_store();
    let n = name("webhooks/acme");
    let secret = "whsec_c2VjcmV0LXBsYWludGV4dC1tYXJrZXItMTIzNDU2Nzg=";
    t.store
        .put(
            &n,
            SecretValue::from_bytes(secret.as_bytes()),
            PutOptions::new(),
        )
        .await
        .unwrap();
    let raw = std::fs::read(t.store.path()).unwrap();
    let text = String::from_utf8_lossy(&raw);
    assert!(
        !text.contains("c2VjcmV0LXBsYWludGV4dC1tYXJrZXI"),
        "plaintext on disk"
    );
    assert!(text.contains("webhooks/acme"));

    let again = FileProvider::open(t.store.path(), t.key.clone()).unwrap();
    assert_eq!(
        again.get(&n).await.unwrap().value().expose_str().unwrap(),
        secret
    );
}

#[tokio::test]
async fn wrong_key_is_refused_clearly() {
    let t = temp_store();
    let err = FileProvider::open(t.store.path(), MasterKey::generate()).unwrap_err();
    assert!(matches!(err, SecretError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("master key"), "{err}");
}

#[tokio::test]
async fn missing_store_and_double_init() {
    let dir = tempfile::tempdir().unwrap();
    let err = FileProvider::open(dir.path().join("none"), MasterKey::generate()).unwrap_err();
    assert!(err.to_string().contains("twh secret init"), "{err}");
    let p = dir.path().join("s");
    FileProvider::init(&p, MasterKey::generate()).unwrap();
    assert!(FileProvider::init(&p, MasterKey::generate()).is_err());
}

#[tokio::test]
async fn ciphertext_moved_to_other_name_fails_to_decrypt() {
    let t = temp_store();
    let a = name("a");
    let b = name("b");
    t.store
        .put(&a, SecretValue::from_bytes(b"value-a"), PutOptions::new())
        .await
        .unwrap();
    t.store
        .put(&b, SecretValue::from_bytes(b"value-b"), PutOptions::new())
        .await
        .unwrap();
    // Swap the sealed blobs of a and b in the JSON.
    let mut doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(t.store.path()).unwrap()).unwrap();
    let sa = doc["secrets"]["a"]["versions"][0]["sealed"].clone();
    let sb = doc["secrets"]["b"]["versions"][0]["sealed"].clone();
    doc["secrets"]["a"]["versions"][0]["sealed"] = sb;
    doc["secrets"]["b"]["versions"][0]["sealed"] = sa;
    std::fs::write(t.store.path(), serde_json::to_vec(&doc).unwrap()).unwrap();
    let err = t.store.get(&a).await.unwrap_err();
    assert!(matches!(err, SecretError::Corrupt { .. }), "{err}");
    assert!(!err.is_transient());
}

#[tokio::test]
async fn garbage_store_is_corrupt_not_panic() {
    let t = temp_store();
    for junk in [&b""[..], b"{", b"[]", b"{\"format\":\"x\"}", &[0xff; 64]] {
        std::fs::write(t.store.path(), junk).unwrap();
        let err = t.store.list("").await.unwrap_err();
        assert!(matches!(err, SecretError::Corrupt { .. }), "{err}");
    }
}

#[cfg(unix)]
#[tokio::test]
async fn store_file_is_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let t = temp_store();
    t.store
        .put(&name("x"), SecretValue::from_bytes(b"v"), PutOptions::new())
        .await
        .unwrap();
    let mode = std::fs::metadata(t.store.path())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
}

#[tokio::test]
async fn open_store_from_url() {
    let t = temp_store();
    let url = format!("file://{}", t.store.path().display());
    assert_eq!(
        StoreUrl::parse(&url).unwrap(),
        StoreUrl::File(t.store.path().to_path_buf())
    );
    let p: Arc<dyn SecretProvider> = open_store(&url, &t.key).unwrap();
    let n = name("webhooks/u");
    p.put(&n, SecretValue::from_bytes(b"v"), PutOptions::new())
        .await
        .unwrap();
    assert_eq!(t.store.get(&n).await.unwrap().value().expose_secret(), b"v");
    let _ = HOUR;
}

#[tokio::test]
async fn concurrent_tasks_in_one_process_never_lose_a_version() {
    let t = temp_store();
    let n = name("webhooks/c");
    t.store
        .put(&n, SecretValue::from_bytes(b"0"), PutOptions::new())
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..8u8 {
        let s = t.store.clone();
        let n = n.clone();
        tasks.push(tokio::spawn(async move {
            let mut done = 0;
            while done < 5 {
                match s
                    .rotate(&n, &move || Ok(SecretValue::from_bytes(&[i])), HOUR)
                    .await
                {
                    Ok(_) => done += 1,
                    Err(e) if e.is_transient() => {}
                    Err(e) => panic!("{e}"),
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let vs = t.store.versions(&n).await.unwrap();
    assert_eq!(vs.len(), 41);
    let currents = vs
        .iter()
        .filter(|v| v.state == twh_secrets::VersionState::Current)
        .count();
    assert_eq!(currents, 1);
}

#[tokio::test]
async fn editing_states_or_metadata_in_the_file_is_detected() {
    let t = temp_store();
    let n = name("webhooks/acme");
    t.store
        .put(&n, SecretValue::from_bytes(b"v1"), PutOptions::new())
        .await
        .unwrap();
    t.store
        .revoke(&n, twh_secrets::RevokeTarget::All, "compromised")
        .await
        .unwrap();
    let original = std::fs::read(t.store.path()).unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&original).unwrap();
    // Un-revoke by hand; relabel; rename a secret: each breaks the store MAC.
    let mut unrevoked = doc.clone();
    unrevoked["secrets"]["webhooks/acme"]["versions"][0]["state"] =
        serde_json::json!({"kind": "current"});
    let mut relabeled = doc.clone();
    relabeled["secrets"]["webhooks/acme"]["labels"] = serde_json::json!({"x": "y"});
    let mut renamed = doc.clone();
    let rec = renamed["secrets"]["webhooks/acme"].clone();
    renamed["secrets"] = serde_json::json!({ "webhooks/other": rec });
    for edited in [unrevoked, relabeled, renamed] {
        std::fs::write(t.store.path(), serde_json::to_vec_pretty(&edited).unwrap()).unwrap();
        let err = t.store.get(&n).await.unwrap_err();
        assert!(matches!(err, SecretError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains("integrity"), "{err}");
    }
    // Reformatting alone (whitespace) is fine: the MAC covers content, not layout.
    let compact = serde_json::to_vec(&doc).unwrap();
    std::fs::write(t.store.path(), compact).unwrap();
    assert!(matches!(
        t.store.get(&n).await,
        Err(SecretError::Revoked { .. })
    ));
}

#[tokio::test]
async fn a_second_handle_sees_every_write_of_the_first_at_once() {
    // Two handles on one store have separate decode caches, as two processes do.
    let t = temp_store();
    let other = FileProvider::open(t.store.path(), t.key.clone())
        .unwrap()
        .with_clock(t.clock.clone());
    let n = name("webhooks/acme");
    for round in 0..20_u8 {
        let value = SecretValue::from_bytes(format!("value-{round}").as_bytes());
        let v = t.store.put(&n, value, PutOptions::new()).await.unwrap();
        // Read right after the write, well inside one tick of a coarse file clock.
        let seen = other.get(&n).await.unwrap();
        assert_eq!(seen.version(), v, "round {round}");
        assert_eq!(
            seen.value().expose_secret(),
            format!("value-{round}").as_bytes()
        );
        let active: Vec<_> = other
            .active(&n)
            .await
            .unwrap()
            .iter()
            .map(|s| s.version())
            .collect();
        assert_eq!(active, [v], "a put without grace leaves one active version");
    }
    t.store
        .revoke(&n, twh_secrets::RevokeTarget::All, "leaked")
        .await
        .unwrap();
    assert!(matches!(
        other.get(&n).await,
        Err(SecretError::Revoked { .. })
    ));
}

#[tokio::test]
async fn an_edit_in_place_after_a_cached_read_is_still_detected() {
    let t = temp_store();
    let n = name("webhooks/acme");
    t.store
        .put(&n, SecretValue::from_bytes(b"v1"), PutOptions::new())
        .await
        .unwrap();
    assert!(t.store.get(&n).await.is_ok(), "decoded and cached");
    // Same length, same MAC line, one ciphertext character changed, in place.
    let mut bytes = std::fs::read(t.store.path()).unwrap();
    let at = bytes
        .windows(10)
        .position(|w| w == b"\"sealed\": ")
        .unwrap()
        + 11;
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    std::thread::sleep(std::time::Duration::from_millis(50)); // a later modification time
    std::fs::write(t.store.path(), &bytes).unwrap();
    let err = t.store.get(&n).await.unwrap_err();
    assert!(matches!(err, SecretError::Corrupt { .. }), "{err}");
}
