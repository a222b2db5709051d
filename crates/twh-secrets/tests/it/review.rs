//! Regressions from the security review: bad input gives a clear error
//! naming the right thing, and never changes the store.

use secrecy::SecretString;
use twh_secrets::{
    BackupIdentity, BackupRecipient, FileProvider, ImportMode, MasterKey, NoProgress, PutOptions,
    SecretError, SecretProvider, SecretValue, backup, restore,
};

use crate::common::{name, temp_store};

/// A truncated or tampered backup bundle used to be reported as
/// "secret store corrupt: …", sending the operator after a healthy store.
/// The message now names the bundle, and the store is unchanged.
#[tokio::test]
async fn damaged_backup_is_blamed_not_the_store() {
    let s = temp_store();
    s.store
        .put(
            &name("webhooks/acme"),
            SecretValue::from_bytes(b"whsec_review_value"),
            PutOptions::new(),
        )
        .await
        .unwrap();
    let pass = || SecretString::from("review passphrase".to_owned());
    let r = BackupRecipient::passphrase(pass())
        .with_work_factor(10)
        .unwrap();
    let mut bundle = Vec::new();
    backup(&s.store, &mut bundle, &r, &NoProgress)
        .await
        .unwrap();
    let store_path = s.store.path().to_path_buf();
    let before = std::fs::read(&store_path).unwrap();

    let mut tampered = bundle.clone();
    let at = tampered.len() - 20;
    tampered[at] ^= 1;
    let truncated = &bundle[..bundle.len() - 40];
    let id = BackupIdentity::passphrase(pass());
    for input in [&tampered[..], truncated, b"garbage".as_slice()] {
        let err = restore(&s.store, input, &id, ImportMode::Force, &NoProgress)
            .await
            .unwrap_err();
        assert!(matches!(err, SecretError::Corrupt { .. }), "{err}");
        let msg = err.to_string();
        assert!(msg.contains("backup bundle"), "{msg}");
        assert!(!msg.contains("store"), "{msg}");
        assert!(!msg.contains("review_value"), "{msg}");
        assert_eq!(std::fs::read(&store_path).unwrap(), before);
    }
}

/// Store-file damage still says it is the store.
#[tokio::test]
async fn damaged_store_file_names_the_store() {
    let s = temp_store();
    let path = s.store.path().to_path_buf();
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.truncate(bytes.len() / 2);
    std::fs::write(&path, &bytes).unwrap();
    let err = FileProvider::open(&path, s.key.clone()).unwrap_err();
    assert!(err.to_string().contains("secret store"), "{err}");
    let err = FileProvider::open(&path, MasterKey::generate()).unwrap_err();
    assert!(err.to_string().contains("secret store"), "{err}");
}
