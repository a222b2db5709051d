//! Multi-process tests: a writer killed with SIGKILL at random points, and two
//! processes rotating the same secret at once. The child processes are this
//! test binary re-executed with `--exact processes::child_entry`.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use secrecy::ExposeSecret as _;
use twh_secrets::{
    FileProvider, MasterKey, PutOptions, SecretProvider, SecretValue, Version, VersionState,
};

use crate::common::name;

const MODE: &str = "TWH_IT_CHILD_MODE";
const STORE: &str = "TWH_IT_STORE";
const KEY: &str = "TWH_IT_KEY";
const TAG: &str = "TWH_IT_TAG";

fn crash_value(tag: &str, i: u64) -> String {
    // Vary the size so torn writes would show.
    format!(
        "{tag}-op{i}-{}",
        "x".repeat(usize::try_from(i % 7 * 50).unwrap())
    )
}

/// The writer loop run by the child processes (and in-process when run directly).
fn run_child(mode: &str, store: &Path, key: MasterKey, tag: &str, limit: u64) -> Vec<String> {
    use std::io::Write as _;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut acks = Vec::new();
    rt.block_on(async {
        let p = FileProvider::open(store, key).unwrap();
        let mut out = std::io::stdout().lock();
        let mut i = 0;
        while i < limit {
            let line = match mode {
                "crash" => {
                    let n = name(&format!("crash/k{}", i % 3));
                    let v = p
                        .put(
                            &n,
                            SecretValue::from_string(crash_value(tag, i)),
                            PutOptions::new(),
                        )
                        .await
                        .unwrap();
                    format!("ack {n} {v} {i}")
                }
                "rotate" => {
                    let n = name("race/k");
                    match p
                        .rotate(
                            &n,
                            &twh_secrets::WebhookSecretGenerator,
                            Duration::from_secs(60),
                        )
                        .await
                    {
                        Ok(v) => format!("ack {n} {v} {i}"),
                        Err(e) if e.is_transient() => continue,
                        Err(e) => panic!("{e}"),
                    }
                }
                other => panic!("unknown mode {other}"),
            };
            writeln!(out, "{line}").unwrap();
            out.flush().unwrap();
            acks.push(line);
            i += 1;
        }
    });
    acks
}

/// Child entry point. Run directly (no env), it runs the writer loop in-process
/// on a temporary store and checks every acknowledged write.
#[test]
fn child_entry() {
    if let Ok(mode) = std::env::var(MODE) {
        let store = std::env::var(STORE).unwrap();
        let key = MasterKey::from_base64(&std::env::var(KEY).unwrap()).unwrap();
        let tag = std::env::var(TAG).unwrap();
        run_child(&mode, Path::new(&store), key, &tag, u64::MAX);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::generate();
    let path = dir.path().join("store");
    FileProvider::init(&path, key.clone()).unwrap();
    let acks = run_child("crash", &path, key.clone(), "direct", 9);
    assert_eq!(acks.len(), 9);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let p = FileProvider::open(&path, key).unwrap();
    let checked = rt.block_on(verify_acks(&p, &acks, "direct"));
    assert_eq!(checked, 9);
}

fn spawn_child(mode: &str, store: &Path, key: &MasterKey, tag: &str) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "processes::child_entry",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(MODE, mode)
        .env(STORE, store)
        .env(KEY, key.to_base64().expose_secret())
        .env(TAG, tag)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Checks that every acknowledged (name, version) holds the value written; returns how many.
async fn verify_acks(p: &FileProvider, acks: &[String], tag: &str) -> usize {
    let mut n = 0;
    for line in acks {
        let mut parts = line.split_whitespace().skip(1);
        let secret = name(parts.next().unwrap());
        let version: Version = parts.next().unwrap().parse().unwrap();
        let i: u64 = parts.next().unwrap().parse().unwrap();
        let got = p.get_version(&secret, version).await.unwrap_or_else(|e| {
            panic!("acknowledged {secret} v{version} lost: {e}");
        });
        assert_eq!(got.value().expose_str().unwrap(), crash_value(tag, i));
        n += 1;
    }
    n
}

fn random_below(n: u64) -> u64 {
    let mut b = [0u8; 8];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut b);
    u64::from_le_bytes(b) % n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_crash_loop_keeps_every_acknowledged_version() {
    const ITERATIONS: usize = 200;
    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::generate();
    let path = dir.path().join("store");
    FileProvider::init(&path, key.clone()).unwrap();
    let mut total_acks = 0;
    let mut killed_mid_run = 0;
    for iter in 0..ITERATIONS {
        let tag = format!("it{iter}");
        let mut child = spawn_child("crash", &path, &key, &tag);
        let stdout = child.stdout.take().unwrap();
        let wait_acks = random_below(4);
        let delay = Duration::from_micros(random_below(4000));
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if line.starts_with("ack ") {
                    let _ = tx.send(line);
                }
            }
        });
        let mut acks = Vec::new();
        while (acks.len() as u64) < wait_acks {
            match rx.recv_timeout(Duration::from_secs(20)) {
                Ok(l) => acks.push(l),
                Err(_) => panic!("child produced no acknowledgement"),
            }
        }
        std::thread::sleep(delay);
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        reader.join().unwrap();
        acks.extend(rx.try_iter());
        if !acks.is_empty() {
            killed_mid_run += 1;
        }
        // The store always opens, and every acknowledged version is there.
        let p = FileProvider::open(&path, key.clone())
            .unwrap_or_else(|e| panic!("iteration {iter}: store does not open: {e}"));
        total_acks += verify_acks(&p, &acks, &tag).await;
        // Nothing half-written: every version of every secret decrypts,
        // numbering is gap-free and exactly one version is current.
        for n in p.list("crash/").await.unwrap() {
            let export = p.export(&n).await.unwrap();
            for (idx, v) in export.versions.iter().enumerate() {
                assert_eq!(v.info.version.get(), idx as u64 + 1);
                assert!(v.value.is_some());
            }
            let currents = export
                .versions
                .iter()
                .filter(|v| v.info.state == VersionState::Current)
                .count();
            assert_eq!(currents, 1, "iteration {iter}: {n}");
        }
    }
    assert!(
        total_acks >= ITERATIONS,
        "too few writes were acknowledged: {total_acks}"
    );
    assert!(
        killed_mid_run > ITERATIONS / 2,
        "kills mostly before any write"
    );
    // Stale temp files of killed writers are cleaned by the next writer.
    let p = FileProvider::open(&path, key).unwrap();
    p.put(
        &name("crash/final"),
        SecretValue::from_bytes(b"f"),
        PutOptions::new(),
    )
    .await
    .unwrap();
    let temps = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains(".tmp.")
        })
        .count();
    assert_eq!(temps, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_rotating_at_once_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::generate();
    let path = dir.path().join("store");
    let p = FileProvider::init(&path, key.clone()).unwrap();
    let n = name("race/k");
    p.put(
        &n,
        twh_secrets::generate_webhook_secret(),
        PutOptions::new(),
    )
    .await
    .unwrap();
    const PER_CHILD: usize = 25;
    let mut children: Vec<_> = ["a", "b"]
        .iter()
        .map(|tag| spawn_child("rotate", &path, &key, tag))
        .collect();
    let mut readers = Vec::new();
    for c in &mut children {
        let stdout = c.stdout.take().unwrap();
        readers.push(std::thread::spawn(move || {
            let mut acks = Vec::new();
            for line in BufReader::new(stdout).lines() {
                let line = line.unwrap();
                if line.starts_with("ack ") {
                    acks.push(line);
                    if acks.len() == PER_CHILD {
                        break;
                    }
                }
            }
            acks
        }));
    }
    let mut all = Vec::new();
    for r in readers {
        let acks = r.join().unwrap();
        assert_eq!(acks.len(), PER_CHILD);
        all.extend(acks);
    }
    for mut c in children {
        c.kill().unwrap();
        c.wait().unwrap();
    }
    let mut versions: Vec<u64> = all
        .iter()
        .map(|l| l.split_whitespace().nth(2).unwrap().parse().unwrap())
        .collect();
    versions.sort_unstable();
    versions.dedup();
    assert!(
        versions.len() >= 2 * PER_CHILD,
        "two writers acknowledged the same version"
    );
    let infos = p.versions(&n).await.unwrap();
    for v in &versions {
        assert!(infos.iter().any(|i| i.version.get() == *v), "v{v} lost");
    }
    let currents = infos
        .iter()
        .filter(|i| i.state == VersionState::Current)
        .count();
    assert_eq!(currents, 1);
    // Every version but the newest became Previous (none overwritten).
    for (idx, i) in infos.iter().enumerate() {
        assert_eq!(i.version.get(), idx as u64 + 1);
    }
}
