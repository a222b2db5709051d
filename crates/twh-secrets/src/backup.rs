//! Encrypted backup bundles: every name, version, state, metadata and value,

use std::collections::BTreeMap;
use std::fmt;
use std::io::{Read, Write};
use std::str::FromStr as _;
use std::time::Duration;

use base64::Engine as _;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::clock::{from_millis, to_millis};
use crate::{
    ExportedVersion, ImportMode, ImportOutcome, Principal, Progress, RotationPolicy, SecretError,
    SecretExport, SecretMetadata, SecretName, SecretProvider, SecretValue, Version, VersionInfo,
    VersionState,
};

const FORMAT: &str = "twh-secrets-backup/1";
/// Largest bundle (decrypted) that [`restore`] reads.
pub const MAX_BUNDLE_BYTES: u64 = 256 * 1024 * 1024;
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Who can open a backup.
pub struct BackupRecipient(RecipientKind);

enum RecipientKind {
    Passphrase(SecretString, Option<u8>),
    X25519(age::x25519::Recipient),
}

impl fmt::Debug for BackupRecipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            RecipientKind::Passphrase(..) => f.write_str("BackupRecipient(passphrase)"),
            RecipientKind::X25519(r) => write!(f, "BackupRecipient({r})"),
        }
    }
}

impl BackupRecipient {
    /// Anyone with the passphrase (scrypt, work factor tuned to ~1 s).
    #[must_use]
    pub fn passphrase(passphrase: SecretString) -> Self {
        Self(RecipientKind::Passphrase(passphrase, None))
    }

    /// Sets the scrypt work factor `log2(N)` of a passphrase recipient (tests, slow machines).
    ///
    /// # Errors
    /// [`SecretError::InvalidInput`] outside 10..=30 or for an X25519 recipient.
    pub fn with_work_factor(self, log_n: u8) -> Result<Self, SecretError> {
        match self.0 {
            RecipientKind::Passphrase(p, _) if (10..=30).contains(&log_n) => {
                Ok(Self(RecipientKind::Passphrase(p, Some(log_n))))
            }
            _ => Err(SecretError::invalid(
                "work factor applies to passphrases only, 10..=30",
            )),
        }
    }

    /// The holder of an X25519 identity, given its `age1…` recipient string.
    ///
    /// # Errors
    /// [`SecretError::InvalidInput`] for a malformed recipient.
    pub fn x25519(recipient: &str) -> Result<Self, SecretError> {
        age::x25519::Recipient::from_str(recipient.trim())
            .map(|r| Self(RecipientKind::X25519(r)))
            .map_err(|_| SecretError::invalid("not an age X25519 recipient (age1…)"))
    }
}

/// What opens a backup.
pub struct BackupIdentity(IdentityKind);

enum IdentityKind {
    Passphrase(SecretString),
    X25519(Box<age::x25519::Identity>),
}

impl fmt::Debug for BackupIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BackupIdentity([redacted])")
    }
}

impl BackupIdentity {
    /// The passphrase the bundle was made with.
    #[must_use]
    pub fn passphrase(passphrase: SecretString) -> Self {
        Self(IdentityKind::Passphrase(passphrase))
    }

    /// An X25519 identity, `AGE-SECRET-KEY-1…` (the first such line of an identity file is used).
    ///
    /// # Errors
    /// [`SecretError::InvalidInput`] when none is found (the text is not echoed).
    pub fn x25519(identity: &str) -> Result<Self, SecretError> {
        identity
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with("AGE-SECRET-KEY-"))
            .and_then(|l| age::x25519::Identity::from_str(l).ok())
            .map(|i| Self(IdentityKind::X25519(Box::new(i))))
            .ok_or_else(|| SecretError::invalid("no age X25519 identity (AGE-SECRET-KEY-1…) found"))
    }
}

/// A new X25519 identity for backups: (`AGE-SECRET-KEY-1…`, `age1…` recipient).
#[must_use]
pub fn generate_backup_identity() -> (SecretString, String) {
    let id = age::x25519::Identity::generate();
    let recipient = id.to_public().to_string();
    (id.to_string(), recipient)
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Bundle {
    format: String,
    secrets: Vec<BSecret>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BSecret {
    name: String,
    created_at: u64,
    created_by: String,
    labels: BTreeMap<String, String>,
    rotation: Option<BRotation>,
    versions: Vec<BVersion>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BRotation {
    max_age_ms: u64,
    grace_ms: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BVersion {
    version: u64,
    state: BState,
    created_at: u64,
    created_by: String,
    value: Option<B64Value>,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum BState {
    Current,
    Previous { valid_until: u64 },
    Revoked { at: u64, reason: String },
    Destroyed,
}

/// Base64 text of a value, wiped on drop.
struct B64Value(Zeroizing<String>);

impl Serialize for B64Value {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for B64Value {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(|s| Self(Zeroizing::new(s)))
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn to_bundle(e: &SecretExport) -> BSecret {
    BSecret {
        name: e.name.as_str().to_owned(),
        created_at: to_millis(e.metadata.created_at),
        created_by: e.metadata.created_by.as_str().to_owned(),
        labels: e.metadata.labels.clone(),
        rotation: e.metadata.rotation.map(|p| BRotation {
            max_age_ms: ms(p.max_age),
            grace_ms: ms(p.grace),
        }),
        versions: e
            .versions
            .iter()
            .map(|v| BVersion {
                version: v.info.version.get(),
                state: match &v.info.state {
                    VersionState::Current => BState::Current,
                    VersionState::Previous { valid_until } => BState::Previous {
                        valid_until: to_millis(*valid_until),
                    },
                    VersionState::Revoked { at, reason } => BState::Revoked {
                        at: to_millis(*at),
                        reason: reason.clone(),
                    },
                    VersionState::Destroyed => BState::Destroyed,
                },
                created_at: to_millis(v.info.created_at),
                created_by: v.info.created_by.as_str().to_owned(),
                value: v
                    .value
                    .as_ref()
                    .map(|val| B64Value(Zeroizing::new(B64.encode(val.expose_secret())))),
            })
            .collect(),
    }
}

fn from_bundle(b: BSecret) -> Result<SecretExport, SecretError> {
    let name = SecretName::new(&b.name)?;
    let mut meta = SecretMetadata::new(from_millis(b.created_at), Principal::new(&b.created_by));
    meta.labels = b.labels;
    meta.rotation = b.rotation.map(|r| {
        RotationPolicy::new(
            Duration::from_millis(r.max_age_ms),
            Duration::from_millis(r.grace_ms),
        )
    });
    let mut versions = Vec::with_capacity(b.versions.len());
    for v in b.versions {
        let version = Version::new(v.version)?;
        let state = match v.state {
            BState::Current => VersionState::Current,
            BState::Previous { valid_until } => VersionState::Previous {
                valid_until: from_millis(valid_until),
            },
            BState::Revoked { at, reason } => VersionState::Revoked {
                at: from_millis(at),
                reason,
            },
            BState::Destroyed => VersionState::Destroyed,
        };
        let value = match v.value {
            Some(text) => Some(SecretValue::from_vec(
                B64.decode(text.0.as_bytes()).map_err(|_| {
                    SecretError::corrupt(format!("backup: {name} version {version}: bad value"))
                })?,
            )),
            None => None,
        };
        versions.push(ExportedVersion::new(
            VersionInfo::new(
                version,
                state,
                from_millis(v.created_at),
                Principal::new(&v.created_by),
            ),
            value,
        ));
    }
    let e = SecretExport::new(name, meta, versions);
    e.validate()?;
    Ok(e)
}

/// What [`backup`] wrote.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackupReport {
    /// Secrets in the bundle.
    pub secrets: usize,
    /// Versions in the bundle.
    pub versions: usize,
}

/// Writes one `age`-encrypted bundle of everything in `provider` to `out`.
/// The plaintext is deterministic (sorted names and versions, no timestamp of
/// its own), so equal stores give equal bundle content.
///
/// # Errors
/// Provider failures, or [`SecretError::Backend`] when writing fails.
///
/// in one `age` file (passphrase or X25519 recipient).
///
/// # Examples
/// ```
/// # use twh_secrets::*;
/// # use secrecy::ExposeSecret as _;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), SecretError> {
/// let source = MemoryProvider::new();
/// source.put(&SecretName::new("webhooks/acme")?, generate_webhook_secret(), PutOptions::new()).await?;
///
/// let (identity, recipient) = generate_backup_identity();
/// let mut bundle = Vec::new();
/// backup(&source, &mut bundle, &BackupRecipient::x25519(&recipient)?, &NoProgress).await?;
///
/// let target = MemoryProvider::new();
/// let report = restore(&target, &bundle[..], &BackupIdentity::x25519(identity.expose_secret())?, ImportMode::IfNotNewer, &NoProgress).await?;
/// assert_eq!(report.created, 1);
/// # Ok(()) }
/// ```
pub async fn backup<W: Write>(
    provider: &dyn SecretProvider,
    out: W,
    recipient: &BackupRecipient,
    progress: &dyn Progress,
) -> Result<BackupReport, SecretError> {
    let names = provider.list("").await?;
    progress.begin(names.len());
    let mut secrets = Vec::with_capacity(names.len());
    let mut versions = 0;
    for name in &names {
        let e = provider.export(name).await?;
        versions += e.versions.len();
        secrets.push(to_bundle(&e));
        progress.advance(name);
    }
    let bundle = Bundle {
        format: FORMAT.to_owned(),
        secrets,
    };
    let plain = Zeroizing::new(
        serde_json::to_vec(&bundle).map_err(|e| SecretError::backend("encoding backup", e))?,
    );
    drop(bundle);
    encrypt(&plain, out, recipient)?;
    progress.finish();
    Ok(BackupReport {
        secrets: names.len(),
        versions,
    })
}

fn encrypt<W: Write>(plain: &[u8], out: W, recipient: &BackupRecipient) -> Result<(), SecretError> {
    let enc = match &recipient.0 {
        RecipientKind::Passphrase(p, log_n) => {
            let mut r = age::scrypt::Recipient::new(p.clone());
            if let Some(n) = log_n {
                r.set_work_factor(*n);
            }
            age::Encryptor::with_recipients(std::iter::once(&r as &dyn age::Recipient))
        }
        RecipientKind::X25519(r) => {
            age::Encryptor::with_recipients(std::iter::once(r as &dyn age::Recipient))
        }
    }
    .map_err(|e| SecretError::backend("preparing backup encryption", e))?;
    let mut w = enc
        .wrap_output(out)
        .map_err(|e| SecretError::io("writing backup", e))?;
    w.write_all(plain)
        .map_err(|e| SecretError::io("writing backup", e))?;
    w.finish()
        .and_then(|mut inner| inner.flush())
        .map_err(|e| SecretError::io("writing backup", e))
}

/// Decrypts a bundle and returns its plaintext (deterministic JSON).
///
/// # Errors
/// [`SecretError::PermissionDenied`] when the identity does not open it,
/// [`SecretError::Corrupt`] for a damaged or oversized bundle.
pub fn decrypt_bundle<R: Read>(
    input: R,
    identity: &BackupIdentity,
) -> Result<Zeroizing<Vec<u8>>, SecretError> {
    let dec = age::Decryptor::new(input).map_err(|e| SecretError::Corrupt {
        context: "not an age-encrypted backup".to_owned(),
        source: Some(std::sync::Arc::new(e)),
    })?;
    let denied = || SecretError::PermissionDenied {
        principal: "backup identity".to_owned(),
        operation: "decrypt",
        name: "backup bundle".to_owned(),
    };
    let reader = match &identity.0 {
        IdentityKind::Passphrase(p) => {
            if !dec.is_scrypt() {
                return Err(denied());
            }
            let id = age::scrypt::Identity::new(p.clone());
            dec.decrypt(std::iter::once(&id as &dyn age::Identity))
        }
        IdentityKind::X25519(id) => dec.decrypt(std::iter::once(id.as_ref() as &dyn age::Identity)),
    }
    .map_err(|_| denied())?;
    let mut plain = Zeroizing::new(Vec::new());
    reader
        .take(MAX_BUNDLE_BYTES + 1)
        .read_to_end(&mut plain)
        .map_err(|e| SecretError::Corrupt {
            context: "backup payload failed to decrypt".to_owned(),
            source: Some(std::sync::Arc::new(e)),
        })?;
    if plain.len() as u64 > MAX_BUNDLE_BYTES {
        return Err(SecretError::corrupt("backup larger than MAX_BUNDLE_BYTES"));
    }
    Ok(plain)
}

/// Decrypts and parses a bundle.
///
/// # Errors
/// As [`decrypt_bundle`], plus [`SecretError::Corrupt`] for bad content.
pub fn read_bundle<R: Read>(
    input: R,
    identity: &BackupIdentity,
) -> Result<Vec<SecretExport>, SecretError> {
    let plain = decrypt_bundle(input, identity)?;
    let bundle: Bundle = serde_json::from_slice(&plain)
        .map_err(|_| SecretError::corrupt("backup content is not valid"))?;
    if bundle.format != FORMAT {
        return Err(SecretError::corrupt("unknown backup format"));
    }
    bundle.secrets.into_iter().map(from_bundle).collect()
}

/// What [`restore`] did.
#[non_exhaustive]
#[derive(Debug, Clone, Default)]
pub struct RestoreReport {
    /// Secrets that did not exist.
    pub created: usize,
    /// Secrets replaced by the bundle's (older data, or forced).
    pub updated: usize,
    /// Secrets already identical.
    pub unchanged: usize,
    /// Secrets left alone because the target holds newer data (without force).
    pub refused: Vec<SecretName>,
}

/// Restores a bundle into any provider. Without [`ImportMode::Force`], a
/// secret whose target copy is newer (more versions, other values, a later
/// state such as revoked) is refused and listed in the report.
///
/// # Errors
/// As [`read_bundle`], and provider failures other than `Conflict`.
pub async fn restore<R: Read>(
    provider: &dyn SecretProvider,
    input: R,
    identity: &BackupIdentity,
    mode: ImportMode,
    progress: &dyn Progress,
) -> Result<RestoreReport, SecretError> {
    let exports = read_bundle(input, identity)?;
    progress.begin(exports.len());
    let mut report = RestoreReport::default();
    for e in exports {
        let name = e.name.clone();
        match provider.import(e, mode).await {
            Ok(ImportOutcome::Created) => report.created += 1,
            Ok(ImportOutcome::Updated) => report.updated += 1,
            Ok(ImportOutcome::Unchanged) => report.unchanged += 1,
            Err(SecretError::Conflict { .. }) => report.refused.push(name.clone()),
            Err(e) => return Err(e),
        }
        progress.advance(&name);
    }
    progress.finish();
    Ok(report)
}
