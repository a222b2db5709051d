use std::sync::Arc;
use std::time::Duration;

use twh_secrets::{FakeClock, FileProvider, MasterKey, SecretName};

pub const T0: u64 = 1_800_000_000;

pub fn name(s: &str) -> SecretName {
    SecretName::new(s).unwrap()
}

pub struct TempStore {
    #[allow(dead_code, reason = "keeps the directory alive")]
    pub dir: tempfile::TempDir,
    pub key: MasterKey,
    pub clock: Arc<FakeClock>,
    pub store: FileProvider,
}

pub fn temp_store() -> TempStore {
    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::generate();
    let clock = Arc::new(FakeClock::at_unix(T0));
    let store = FileProvider::init(dir.path().join("store"), key.clone())
        .unwrap()
        .with_clock(clock.clone());
    TempStore {
        dir,
        key,
        clock,
        store,
    }
}

pub const HOUR: Duration = Duration::from_secs(3600);
