//! Backup → restore round trips, refusal to overwrite newer data, migration, env import, rotator.

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use twh_secrets::{
    BackupIdentity, BackupRecipient, EnvMapping, EnvSource, FakeClock, ImportMode, MemoryProvider,
    NoProgress, PutOptions, RevokeTarget, RotationPolicy, Rotator, SecretError, SecretProvider,
    SecretValue, Version, backup, decrypt_bundle, generate_backup_identity, import_env, migrate,
    restore,
};

use crate::common::{HOUR, T0, name, temp_store};

/// A store with every state: current, previous, revoked, destroyed, labels, policy.
async fn populate(p: &dyn SecretProvider) {
    let a = name("webhooks/acme");
    p.put(
        &a,
        SecretValue::from_bytes(b"whsec_one"),
        PutOptions::new()
            .label("team", "payments")
            .rotation(RotationPolicy::new(HOUR * 24, HOUR)),
    )
    .await
    .unwrap();
    p.rotate(&a, &|| Ok(SecretValue::from_bytes(b"whsec_two")), HOUR)
        .await
        .unwrap();
    p.rotate(&a, &|| Ok(SecretValue::from_bytes(b"whsec_three")), HOUR)
        .await
        .unwrap();
    p.revoke(&a, RevokeTarget::Version(Version::FIRST), "leak")
        .await
        .unwrap();
    p.rotate(&a, &|| Ok(SecretValue::from_bytes(b"whsec_four")), HOUR)
        .await
        .unwrap();
    p.destroy(&a, Version::new(2).unwrap()).await.unwrap();
    p.put(
        &name("db/password"),
        SecretValue::from_bytes(&[0, 159, 146, 150]),
        PutOptions::new(),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn backup_restore_backup_is_identical_x25519() {
    let src = temp_store();
    populate(&src.store).await;
    let (identity, recipient) = generate_backup_identity();
    let id_text = secrecy::ExposeSecret::expose_secret(&identity).to_owned();
    let r = BackupRecipient::x25519(&recipient).unwrap();
    let id = BackupIdentity::x25519(&id_text).unwrap();

    let mut first = Vec::new();
    let rep = backup(&src.store, &mut first, &r, &NoProgress)
        .await
        .unwrap();
    assert_eq!((rep.secrets, rep.versions), (2, 5));
    assert!(
        !first.windows(9).any(|w| w == b"whsec_one"),
        "plaintext in bundle"
    );

    let dst = temp_store();
    let rr = restore(
        &dst.store,
        &first[..],
        &id,
        ImportMode::IfNotNewer,
        &NoProgress,
    )
    .await
    .unwrap();
    assert_eq!((rr.created, rr.updated, rr.unchanged), (2, 0, 0));
    assert!(rr.refused.is_empty());

    let mut second = Vec::new();
    backup(&dst.store, &mut second, &r, &NoProgress)
        .await
        .unwrap();
    let p1 = decrypt_bundle(&first[..], &id).unwrap();
    let p2 = decrypt_bundle(&second[..], &id).unwrap();
    assert_eq!(*p1, *p2, "restore then backup must give identical content");

    // States survived: revoked v1 stays revoked, destroyed v2 has no value.
    let a = name("webhooks/acme");
    assert!(matches!(
        dst.store.get_version(&a, Version::FIRST).await,
        Err(SecretError::Revoked { .. })
    ));
    assert!(matches!(
        dst.store.get_version(&a, Version::new(2).unwrap()).await,
        Err(SecretError::Destroyed { .. })
    ));
    assert_eq!(
        dst.store.get(&a).await.unwrap().value().expose_secret(),
        b"whsec_four"
    );

    // Restoring again changes nothing.
    let rr = restore(
        &dst.store,
        &first[..],
        &id,
        ImportMode::IfNotNewer,
        &NoProgress,
    )
    .await
    .unwrap();
    assert_eq!(rr.unchanged, 2);

    // A wrong identity is refused.
    let (other, _) = generate_backup_identity();
    let other = BackupIdentity::x25519(secrecy::ExposeSecret::expose_secret(&other)).unwrap();
    assert!(matches!(
        restore(
            &dst.store,
            &first[..],
            &other,
            ImportMode::IfNotNewer,
            &NoProgress
        )
        .await,
        Err(SecretError::PermissionDenied { .. })
    ));
}

#[tokio::test]
async fn passphrase_backup_and_refusal_to_overwrite_newer_data() {
    let src = MemoryProvider::new();
    populate(&src).await;
    let pass = || SecretString::from("correct horse battery staple".to_owned());
    let r = BackupRecipient::passphrase(pass())
        .with_work_factor(10)
        .unwrap();
    let mut bundle = Vec::new();
    backup(&src, &mut bundle, &r, &NoProgress).await.unwrap();

    let dst = MemoryProvider::new();
    let id = BackupIdentity::passphrase(pass());
    restore(&dst, &bundle[..], &id, ImportMode::IfNotNewer, &NoProgress)
        .await
        .unwrap();
    // The target moves on: a newer version and a revocation.
    let a = name("webhooks/acme");
    dst.rotate(&a, &|| Ok(SecretValue::from_bytes(b"whsec_five")), HOUR)
        .await
        .unwrap();
    dst.revoke(&name("db/password"), RevokeTarget::All, "rotated out")
        .await
        .unwrap();
    let rr = restore(&dst, &bundle[..], &id, ImportMode::IfNotNewer, &NoProgress)
        .await
        .unwrap();
    assert_eq!(rr.refused.len(), 2, "{rr:?}");
    assert_eq!(
        dst.get(&a).await.unwrap().value().expose_secret(),
        b"whsec_five"
    );
    // Forced: the bundle wins.
    let rr = restore(&dst, &bundle[..], &id, ImportMode::Force, &NoProgress)
        .await
        .unwrap();
    assert_eq!(rr.updated, 2);
    assert_eq!(
        dst.get(&a).await.unwrap().value().expose_secret(),
        b"whsec_four"
    );

    // Wrong passphrase.
    let bad = BackupIdentity::passphrase(SecretString::from("nope".to_owned()));
    assert!(
        restore(&dst, &bundle[..], &bad, ImportMode::Force, &NoProgress)
            .await
            .is_err()
    );
    // Garbage input.
    assert!(matches!(
        restore(&dst, &b"garbage"[..], &id, ImportMode::Force, &NoProgress).await,
        Err(SecretError::Corrupt { .. })
    ));
}

#[tokio::test]
async fn migrate_is_idempotent_with_matching_hashes() {
    let src = temp_store();
    populate(&src.store).await;
    let dst = MemoryProvider::new();
    let first = migrate(&src.store, &dst, ImportMode::IfNotNewer, &NoProgress)
        .await
        .unwrap();
    assert_eq!(
        (first.created(), first.updated(), first.unchanged()),
        (2, 0, 0)
    );
    assert_eq!(first.versions(), 5);
    let second = migrate(&src.store, &dst, ImportMode::IfNotNewer, &NoProgress)
        .await
        .unwrap();
    assert_eq!(
        (second.created(), second.updated(), second.unchanged()),
        (0, 0, 2)
    );
    for (a, b) in first.secrets.iter().zip(&second.secrets) {
        assert_eq!(a.content_hash, b.content_hash);
        assert_eq!(a.content_hash.len(), 64);
    }
    // Source and target hash alike; a changed target hashes differently.
    let e = src.store.export(&name("db/password")).await.unwrap();
    let h_src = twh_secrets::content_hash(&e);
    assert!(first.secrets.iter().any(|s| s.content_hash == h_src));
    dst.put(
        &name("db/password"),
        SecretValue::from_bytes(b"x"),
        PutOptions::new(),
    )
    .await
    .unwrap();
    let e2 = dst.export(&name("db/password")).await.unwrap();
    assert_ne!(twh_secrets::content_hash(&e2), h_src);
    // ... and migrating again refuses to overwrite that newer data.
    assert!(matches!(
        migrate(&src.store, &dst, ImportMode::IfNotNewer, &NoProgress).await,
        Err(SecretError::Conflict { .. })
    ));
    // A file store as target: unchanged second run does not rewrite the file.
    let fdst = temp_store();
    migrate(&src.store, &fdst.store, ImportMode::IfNotNewer, &NoProgress)
        .await
        .unwrap();
    let before = std::fs::read(fdst.store.path()).unwrap();
    let again = migrate(&src.store, &fdst.store, ImportMode::IfNotNewer, &NoProgress)
        .await
        .unwrap();
    assert_eq!(again.unchanged(), 2);
    assert_eq!(std::fs::read(fdst.store.path()).unwrap(), before);
}

#[tokio::test]
async fn import_env_from_dotenv_file_maps_names_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join(".env");
    std::fs::write(
        &env,
        "WEBHOOK_SECRET_ACME=whsec_acme\nWEBHOOK_SECRET_GLOBEX_EU=\"whsec_globex\"\nDATABASE_URL=postgres://x\n# comment\n",
    )
    .unwrap();
    let p = MemoryProvider::new();
    let src = EnvSource::DotEnv(env.clone());
    let rep = import_env(&p, &src, &EnvMapping::default(), &NoProgress)
        .await
        .unwrap();
    let imported: Vec<String> = rep.imported.iter().map(ToString::to_string).collect();
    assert_eq!(imported, ["webhooks/acme", "webhooks/globex_eu"]);
    assert_eq!(
        p.get(&name("webhooks/acme"))
            .await
            .unwrap()
            .value()
            .expose_secret(),
        b"whsec_acme"
    );
    assert!(p.get(&name("database_url")).await.is_err());
    let again = import_env(&p, &src, &EnvMapping::default(), &NoProgress)
        .await
        .unwrap();
    assert!(again.imported.is_empty());
    assert_eq!(again.unchanged.len(), 2);
    // Custom mapping.
    let m = EnvMapping::empty().parse_rule("DATABASE_=db/").unwrap();
    let rep = import_env(&p, &src, &m, &NoProgress).await.unwrap();
    assert_eq!(rep.imported, vec![name("db/url")]);
    // A malformed file: error without the line's content.
    std::fs::write(&env, "WEBHOOK_SECRET_X='whsec_unterminated_SECRETVALUE\n").unwrap();
    let err = import_env(&p, &src, &EnvMapping::default(), &NoProgress)
        .await
        .unwrap_err()
        .to_string();
    assert!(!err.contains("SECRETVALUE"), "{err}");
}

#[tokio::test]
async fn import_env_from_process_environment() {
    // The edition-2024 `set_var` is unsafe (forbidden here), so map a variable
    // cargo sets for every test process: CARGO_PKG_NAME=twh-secrets.
    let value = std::env::var("CARGO_PKG_NAME").expect("run through `cargo test`");
    let p = MemoryProvider::new();
    let m = EnvMapping::empty().rule("CARGO_PKG_NAM", "build/");
    let rep = import_env(&p, &EnvSource::Process, &m, &NoProgress)
        .await
        .unwrap();
    assert_eq!(rep.imported, vec![name("build/e")]);
    assert_eq!(
        p.get(&name("build/e"))
            .await
            .unwrap()
            .value()
            .expose_secret(),
        value.as_bytes()
    );
}

#[tokio::test]
async fn rotator_rotates_only_what_is_due() {
    let clock = Arc::new(FakeClock::at_unix(T0));
    let p: Arc<dyn SecretProvider> = Arc::new(MemoryProvider::new().with_clock(clock.clone()));
    let day = Duration::from_secs(86_400);
    p.put(
        &name("webhooks/a"),
        SecretValue::from_bytes(b"a"),
        PutOptions::new(),
    )
    .await
    .unwrap();
    // Recorded policy wins over the prefix policy.
    p.put(
        &name("webhooks/fast"),
        SecretValue::from_bytes(b"f"),
        PutOptions::new().rotation(RotationPolicy::new(day, HOUR)),
    )
    .await
    .unwrap();
    p.put(
        &name("db/p"),
        SecretValue::from_bytes(b"p"),
        PutOptions::new(),
    )
    .await
    .unwrap();
    let rotator = Rotator::new(p.clone())
        .policy("webhooks/", RotationPolicy::new(day * 30, day))
        .with_clock(clock.clone());
    let r = rotator.rotate_due(&NoProgress).await.unwrap();
    assert!(r.rotated.is_empty());
    assert_eq!(r.not_due.len(), 2);

    clock.advance(day * 2);
    let r = rotator.rotate_due(&NoProgress).await.unwrap();
    assert_eq!(
        r.rotated,
        vec![(name("webhooks/fast"), Version::new(2).unwrap())]
    );
    // Old version stays valid for the policy's grace.
    let active = p.active(&name("webhooks/fast")).await.unwrap();
    assert_eq!(active.len(), 2);

    clock.advance(day * 29);
    let r = rotator.rotate_due(&NoProgress).await.unwrap();
    let names: Vec<_> = r.rotated.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(names, ["webhooks/a", "webhooks/fast"]);
    assert!(r.failed.is_empty());
    // db/p has no policy: untouched.
    assert_eq!(p.versions(&name("db/p")).await.unwrap().len(), 1);
    // Rotated values are whsec_ secrets.
    let v = p.get(&name("webhooks/a")).await.unwrap();
    assert!(v.value().expose_str().unwrap().starts_with("whsec_"));
}

#[tokio::test(start_paused = true)]
async fn rotator_background_task_runs_on_interval() {
    let clock = Arc::new(FakeClock::at_unix(T0));
    let p: Arc<dyn SecretProvider> = Arc::new(MemoryProvider::new().with_clock(clock.clone()));
    p.put(
        &name("webhooks/a"),
        SecretValue::from_bytes(b"a"),
        PutOptions::new().rotation(RotationPolicy::new(Duration::from_secs(60), Duration::ZERO)),
    )
    .await
    .unwrap();
    clock.advance(Duration::from_secs(61));
    let handle = Rotator::new(p.clone())
        .with_clock(clock.clone())
        .spawn(Duration::from_secs(10));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(p.versions(&name("webhooks/a")).await.unwrap().len(), 2);
    clock.advance(Duration::from_secs(61));
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(p.versions(&name("webhooks/a")).await.unwrap().len(), 3);
    handle.abort();
}
