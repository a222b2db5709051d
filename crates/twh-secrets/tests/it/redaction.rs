//! No secret value in tracing output (captured at TRACE), Debug output,
//! audit records or error messages, across a full lifecycle through every layer.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use secrecy::ExposeSecret as _;
use twh_secrets::{
    AuditedProvider, BackupIdentity, BackupRecipient, CachedProvider, Fault,
    FaultInjectingProvider, ImportMode, JsonFileSink, MemoryProvider, NoProgress, Operation,
    Policy, PolicyProvider, Principal, PutOptions, RevokeTarget, RotationPolicy, Rotator,
    SecretProvider, SecretValue, TracingSink, Version, backup, generate_backup_identity, migrate,
    restore, with_request_id,
};

use crate::common::{HOUR, name, temp_store};

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs (once) a global TRACE subscriber capturing every event of the
/// test binary into a buffer.
fn captured() -> Buf {
    static BUF: OnceLock<Buf> = OnceLock::new();
    BUF.get_or_init(|| {
        let buf = Buf::default();
        let w = buf.clone();
        let sub = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || w.clone())
            .finish();
        tracing::subscriber::set_global_default(sub).unwrap();
        buf
    })
    .clone()
}

// Markers: distinctive values (and their base64 forms) searched for afterwards.
const VALUES: [&str; 4] = [
    "whsec_UkVEQUNUSU9OLU1BUktFUi1vbmU=",
    "whsec_UkVEQUNUSU9OLU1BUktFUi10d28=",
    "REDACTION-MARKER-plain-three",
    "REDACTION-MARKER-four",
];

fn needles() -> Vec<String> {
    use base64::Engine as _;
    let mut n = Vec::new();
    for v in VALUES {
        n.push(v.to_owned());
        n.push(base64::engine::general_purpose::STANDARD.encode(v));
        n.push(format!("{:?}", v.as_bytes()));
    }
    n.push("REDACTION-MARKER".to_owned());
    n.push("UkVEQUNUSU9OLU1BUktFUi".to_owned());
    n
}

fn assert_clean(what: &str, text: &str) {
    for n in needles() {
        assert!(
            !text.contains(&n),
            "{what} contains a secret value ({n}):\n{text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_value_in_logs_debug_audit_or_errors() {
    let logs = captured();
    let t = temp_store();
    let dir = tempfile::tempdir().unwrap();
    let audit_path = dir.path().join("audit.jsonl");
    let mut seen = Vec::<String>::new();

    let faulty = FaultInjectingProvider::new(Arc::new(t.store.clone()));
    let cache = CachedProvider::new(Arc::new(faulty.clone()))
        .with_ttl(Duration::ZERO)
        .with_stale_if_error(HOUR);
    let policy = Arc::new(Policy::parse("ops: all **\ndispatcher: get,active webhooks/*").unwrap());
    let audited_file = AuditedProvider::new(
        Arc::new(PolicyProvider::new(
            Arc::new(cache.clone()),
            policy.clone(),
            Principal::new("ops"),
        )),
        Arc::new(JsonFileSink::open(&audit_path).unwrap()),
        Principal::new("ops"),
    );
    let p = AuditedProvider::new(
        Arc::new(audited_file),
        Arc::new(TracingSink),
        Principal::new("ops"),
    );
    let n = name("webhooks/acme");
    let val = |i: usize| SecretValue::from_bytes(VALUES[i].as_bytes());

    with_request_id("redaction-1", async {
        let v1 = p
            .put(
                &n,
                val(0),
                PutOptions::new().rotation(RotationPolicy::new(HOUR, HOUR)),
            )
            .await
            .unwrap();
        seen.push(format!("{v1:?}"));
        seen.push(format!("{:?}", p.get(&n).await.unwrap()));
        p.rotate(&n, &move || Ok(val(1)), HOUR).await.unwrap();
        let active = p.active(&n).await.unwrap();
        assert_eq!(active.len(), 2);
        seen.push(format!("{active:?}"));
        // Stale-if-error path logs a warning.
        faulty.set_fault(Fault::Unavailable);
        let stale = p.active(&n).await.unwrap();
        seen.push(format!("{stale:?}"));
        let err = p.get_version(&n, Version::FIRST).await.unwrap_err();
        seen.push(format!("{err} / {err:?}"));
        faulty.set_fault(Fault::None);
        p.put(&n, val(2), PutOptions::new()).await.unwrap();
        seen.push(format!("{:?}", p.versions(&n).await.unwrap()));
        seen.push(format!("{:?}", p.metadata(&n).await.unwrap()));
        p.rollback(&n, Version::FIRST).await.unwrap();
        p.revoke(&n, RevokeTarget::Version(Version::new(2).unwrap()), "test")
            .await
            .unwrap();
        for e in [
            p.get_version(&n, Version::new(2).unwrap())
                .await
                .unwrap_err(),
            p.destroy(&n, Version::new(4).unwrap()).await.unwrap_err(),
            p.rollback(&n, Version::new(2).unwrap()).await.unwrap_err(),
            p.put(
                &n,
                val(3),
                PutOptions::new().expect(twh_secrets::Precondition::Absent),
            )
            .await
            .unwrap_err(),
        ] {
            seen.push(format!("{e} / {e:?}"));
        }
        p.destroy(&n, Version::new(3).unwrap()).await.unwrap();
        let export = p.export(&n).await.unwrap();
        seen.push(format!("{export:?}"));
        // Policy denial for another principal.
        let denied = PolicyProvider::new(
            Arc::new(t.store.clone()),
            policy.clone(),
            Principal::new("dispatcher"),
        );
        let e = denied.put(&n, val(3), PutOptions::new()).await.unwrap_err();
        seen.push(format!("{e} / {e:?}"));
        // Rotator, backup, restore, migrate.
        let rot = Rotator::new(Arc::new(p.clone()));
        let r = rot.rotate_due(&NoProgress).await.unwrap();
        seen.push(format!("{r:?}"));
        let (id, rcp) = generate_backup_identity();
        let mut bundle = Vec::new();
        let br = backup(
            &p,
            &mut bundle,
            &BackupRecipient::x25519(&rcp).unwrap(),
            &NoProgress,
        )
        .await
        .unwrap();
        seen.push(format!("{br:?}"));
        let target = MemoryProvider::new();
        let rr = restore(
            &target,
            &bundle[..],
            &BackupIdentity::x25519(id.expose_secret()).unwrap(),
            ImportMode::IfNotNewer,
            &NoProgress,
        )
        .await
        .unwrap();
        seen.push(format!("{rr:?}"));
        let mr = migrate(
            &p,
            &MemoryProvider::new(),
            ImportMode::IfNotNewer,
            &NoProgress,
        )
        .await
        .unwrap();
        seen.push(format!("{mr:?}"));
        p.revoke(&n, RevokeTarget::All, "done").await.unwrap();
        let e = p.get(&n).await.unwrap_err();
        seen.push(format!("{e} / {e:?}"));
    })
    .await;
    seen.push(format!("{:?} {:?} {:?} {:?}", t.store, cache, p, t.key));
    seen.push(format!("{:?}", val(0)));
    let _ = Operation::ALL;

    // The capture works: audit and stale-if-error events are in it.
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("secret access"),
        "tracing sink output missing"
    );
    assert!(text.contains("stale-if-error"), "stale warning missing");
    assert!(
        text.contains("TRACE") || text.contains("DEBUG"),
        "low levels not captured"
    );
    assert_clean("tracing output", &text);
    assert_clean("Debug/Display output", &seen.join("\n"));
    let audit = std::fs::read_to_string(&audit_path).unwrap();
    assert!(audit.lines().count() > 15);
    assert_clean("audit log", &audit);
    // And the markers are really what the store held (the search is meaningful).
    assert!(bundle_contains_markers(&t).await);
}

async fn bundle_contains_markers(t: &crate::common::TempStore) -> bool {
    let n = name("webhooks/acme");
    let e = t.store.export(&n).await.unwrap();
    e.versions
        .iter()
        .filter_map(|v| v.value.as_ref())
        .any(|v| VALUES.iter().any(|m| v.expose_secret() == m.as_bytes()))
}
