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

/// `--map STRIPE_WEBHOOK_SECRET=webhooks/stripe` (one exact variable) used to
/// import nothing and report nothing: a variable equal to the rule's prefix
/// was skipped silently. It now maps to the name prefix itself, and a
/// variable that maps to an invalid name is reported as skipped.
#[tokio::test]
async fn import_env_maps_an_exact_variable_and_reports_empty_suffixes() {
    use twh_secrets::{EnvMapping, EnvSource, MemoryProvider, import_env};
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join(".env");
    std::fs::write(
        &env,
        "STRIPE_WEBHOOK_SECRET=whsec_stripe_review\nWEBHOOK_SECRET_=orphan_review\nWEBHOOK_SECRET_ACME=acme_review\n",
    )
    .unwrap();
    let to = MemoryProvider::new();
    let mapping = EnvMapping::default().rule("STRIPE_WEBHOOK_SECRET", "webhooks/stripe");
    let r = import_env(&to, &EnvSource::DotEnv(env), &mapping, &NoProgress)
        .await
        .unwrap();
    let mut imported: Vec<&str> = r.imported.iter().map(|n| n.as_str()).collect();
    imported.sort_unstable();
    assert_eq!(imported, ["webhooks/acme", "webhooks/stripe"]);
    assert_eq!(r.skipped, ["WEBHOOK_SECRET_"]);
    assert_eq!(
        to.get(&name("webhooks/stripe"))
            .await
            .unwrap()
            .value()
            .expose_secret(),
        b"whsec_stripe_review"
    );
}

/// A `.env` syntax error says which line (it used to give only a byte
/// offset within an unnamed line), and never shows the line's text.
#[tokio::test]
async fn dotenv_syntax_errors_name_the_line_not_the_value() {
    use twh_secrets::{EnvMapping, EnvSource, MemoryProvider, import_env};
    let dir = tempfile::tempdir().unwrap();
    for (text, line) in [
        (
            "WEBHOOK_SECRET_OK=fine_review\nWEBHOOK_SECRET_X/Y=leak_review\n",
            2,
        ),
        ("# comment\n\nWEBHOOK_SECRET_A=a\nbroken \"leak_review\n", 4),
        ("WEBHOOK_SECRET_Ä=leak_review\n", 1),
    ] {
        let env = dir.path().join(".env");
        std::fs::write(&env, text).unwrap();
        let to = MemoryProvider::new();
        let err = import_env(
            &to,
            &EnvSource::DotEnv(env),
            &EnvMapping::default(),
            &NoProgress,
        )
        .await
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(&format!("line {line}:")), "{text:?}: {msg}");
        assert!(!msg.contains("review"), "{msg}");
        assert!(to.list("").await.unwrap().is_empty());
    }
}

/// A directory as the store path: `init` used to say "a store already exists",
/// and `open` gave a bare I/O error.
#[test]
fn store_path_that_is_a_directory_is_named_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let err = FileProvider::init(dir.path(), MasterKey::generate()).unwrap_err();
    assert!(matches!(err, SecretError::InvalidInput { .. }), "{err}");
    assert!(err.to_string().contains("is a directory"), "{err}");
    assert!(!err.to_string().contains("already exists"), "{err}");
    let err = FileProvider::open(dir.path(), MasterKey::generate()).unwrap_err();
    assert!(err.to_string().contains("is a directory"), "{err}");
}
