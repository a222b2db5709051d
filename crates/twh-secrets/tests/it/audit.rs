//! AuditedProvider, the hash-chained file sink and its verifier; PolicyProvider denials.

use std::sync::Arc;
use std::time::Duration;

use twh_secrets::{
    AuditLogError, AuditedProvider, JsonFileSink, MemoryProvider, Operation, Policy,
    PolicyProvider, Principal, PutOptions, RevokeTarget, SecretError, SecretProvider, SecretValue,
    Version, verify_audit_log, verify_audit_log_with_head, with_request_id,
};

use crate::common::name;

const MARKER: &str = "whsec_QVVESVQtTUFSS0VSLXZhbHVlLW5ldmVyLWxvZ2dlZA==";

/// Runs every operation through `p` (some fail on purpose).
async fn every_operation(p: &dyn SecretProvider) {
    let n = name("webhooks/acme");
    let marker = || SecretValue::from_bytes(MARKER.as_bytes());
    let _ = p.put(&n, marker(), PutOptions::new()).await;
    let _ = p.get(&n).await;
    let _ = p.get_version(&n, Version::FIRST).await;
    let _ = p.active(&n).await;
    let _ = p.metadata(&n).await;
    let _ = p.versions(&n).await;
    let _ = p.list("webhooks/").await;
    let _ = p
        .rotate(&n, &move || Ok(marker()), Duration::from_secs(60))
        .await;
    let _ = p.rollback(&n, Version::FIRST).await;
    let _ = p
        .revoke(&n, RevokeTarget::Version(Version::new(2).unwrap()), "test")
        .await;
    let _ = p.destroy(&n, Version::new(2).unwrap()).await;
    if let Ok(e) = p.export(&n).await {
        let _ = p.import(e, twh_secrets::ImportMode::Force).await;
    }
    let _ = p.get(&name("missing")).await;
}

#[tokio::test]
async fn every_operation_is_audited_without_values_and_chain_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let p = AuditedProvider::new(
        Arc::new(MemoryProvider::new()),
        Arc::new(JsonFileSink::open(&log).unwrap()),
        Principal::new("ops:alice"),
    );
    with_request_id("req-42", every_operation(&p)).await;
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains("QVVESVQtTUFSS0VS"), "value in audit log");
    let ops: Vec<String> = text
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["operation"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    for op in Operation::ALL {
        assert!(ops.iter().any(|o| o == op.as_str()), "{op} not audited");
    }
    assert!(text.contains("\"request_id\":\"req-42\""));
    assert!(text.contains("\"principal\":\"ops:alice\""));
    assert!(text.contains("\"outcome\":\"not_found\""));
    let report = verify_audit_log(&log).unwrap();
    assert_eq!(report.records, ops.len() as u64);
    verify_audit_log_with_head(&log, &report.head).unwrap();
}

fn write_log(lines: &[String], path: &std::path::Path) {
    let mut s = lines.join("\n");
    s.push('\n');
    std::fs::write(path, s).unwrap();
}

#[tokio::test]
async fn tampering_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let p = AuditedProvider::new(
        Arc::new(MemoryProvider::new()),
        Arc::new(JsonFileSink::open(&log).unwrap()),
        Principal::new("svc"),
    );
    every_operation(&p).await;
    let good = verify_audit_log(&log).unwrap();
    let lines: Vec<String> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert!(lines.len() > 5);
    let t = dir.path().join("t.jsonl");

    // Edited line (principal changed).
    let mut edited = lines.clone();
    edited[2] = edited[2].replace("\"svc\"", "\"eve\"");
    write_log(&edited, &t);
    assert_eq!(
        verify_audit_log(&t).unwrap_err(),
        AuditLogError::ChainBroken { line: 4 }
    );

    // Removed line.
    let mut removed = lines.clone();
    removed.remove(3);
    write_log(&removed, &t);
    assert!(matches!(
        verify_audit_log(&t).unwrap_err(),
        AuditLogError::Sequence { line: 4, .. }
    ));

    // Reordered lines.
    let mut swapped = lines.clone();
    swapped.swap(1, 2);
    write_log(&swapped, &t);
    assert!(verify_audit_log(&t).is_err());

    // Not JSON.
    let mut junk = lines.clone();
    junk[1] = "{not json".to_owned();
    write_log(&junk, &t);
    assert_eq!(
        verify_audit_log(&t).unwrap_err(),
        AuditLogError::Malformed { line: 2 }
    );

    // Truncated tail: the chain itself is fine, the recorded head is not.
    let mut cut = lines.clone();
    cut.pop();
    write_log(&cut, &t);
    verify_audit_log(&t).unwrap();
    assert_eq!(
        verify_audit_log_with_head(&t, &good.head).unwrap_err(),
        AuditLogError::HeadMismatch
    );
    // Last line edited: caught by the head.
    let mut last = lines.clone();
    let i = last.len() - 1;
    last[i] = last[i].replace("\"svc\"", "\"eve\"");
    write_log(&last, &t);
    assert_eq!(
        verify_audit_log_with_head(&t, &good.head).unwrap_err(),
        AuditLogError::HeadMismatch
    );
    // An older head stays valid while records are appended after it…
    let older = {
        write_log(&lines[..3], &t);
        verify_audit_log(&t).unwrap().head
    };
    write_log(&lines, &t);
    let v = verify_audit_log_with_head(&t, &older.to_uppercase()).unwrap();
    assert_eq!(v.after_head, Some(lines.len() as u64 - 3));
    assert_eq!(
        verify_audit_log_with_head(&t, &good.head)
            .unwrap()
            .after_head,
        Some(0)
    );
    // …and fails once the log is cut back past it.
    write_log(&lines[..2], &t);
    assert_eq!(
        verify_audit_log_with_head(&t, &older).unwrap_err(),
        AuditLogError::HeadMismatch
    );
    // The empty log's head (genesis) is before every record.
    write_log(&lines, &t);
    assert_eq!(
        verify_audit_log_with_head(&t, twh_secrets::GENESIS_HASH)
            .unwrap()
            .after_head,
        Some(lines.len() as u64)
    );
}

#[tokio::test]
async fn chain_continues_across_sink_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let mem: Arc<dyn SecretProvider> = Arc::new(MemoryProvider::new());
    for round in 0..3 {
        let p = AuditedProvider::new(
            mem.clone(),
            Arc::new(JsonFileSink::open(&log).unwrap()),
            Principal::new(&format!("round{round}")),
        );
        let _ = p.list("").await;
        let _ = p.get(&name("x")).await;
    }
    assert_eq!(verify_audit_log(&log).unwrap().records, 6);
}

#[tokio::test]
async fn policy_denies_and_denials_are_audited() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let mem: Arc<dyn SecretProvider> = Arc::new(MemoryProvider::new());
    for n in ["webhooks/acme", "db/password"] {
        mem.put(&name(n), SecretValue::from_bytes(b"v"), PutOptions::new())
            .await
            .unwrap();
    }
    let policy = Arc::new(
        Policy::new()
            .allow(
                "dispatcher",
                &[Operation::Get, Operation::Active, Operation::List],
                "webhooks/*",
            )
            .unwrap(),
    );
    let dispatcher = Principal::new("dispatcher");
    let p = AuditedProvider::new(
        Arc::new(PolicyProvider::new(mem.clone(), policy, dispatcher.clone())),
        Arc::new(JsonFileSink::open(&log).unwrap()),
        dispatcher,
    );
    assert!(p.active(&name("webhooks/acme")).await.is_ok());
    let denied = [
        p.get(&name("db/password")).await.map(|_| ()).unwrap_err(),
        p.put(
            &name("webhooks/acme"),
            SecretValue::from_bytes(b"x"),
            PutOptions::new(),
        )
        .await
        .map(|_| ())
        .unwrap_err(),
        p.revoke(&name("webhooks/acme"), RevokeTarget::All, "x")
            .await
            .map(|_| ())
            .unwrap_err(),
        p.export(&name("webhooks/acme"))
            .await
            .map(|_| ())
            .unwrap_err(),
    ];
    for e in &denied {
        assert!(matches!(e, SecretError::PermissionDenied { .. }), "{e}");
        assert!(e.to_string().contains("dispatcher"));
    }
    // list is filtered to what the principal may see.
    let listed = p.list("").await.unwrap();
    assert_eq!(listed, vec![name("webhooks/acme")]);
    // The backend was not changed by the denied put/revoke.
    assert_eq!(mem.versions(&name("webhooks/acme")).await.unwrap().len(), 1);
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(text.matches("\"outcome\":\"permission_denied\"").count(), 4);
    verify_audit_log(&log).unwrap();
}
