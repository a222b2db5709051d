//! The JSON layout of the store file.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::seal::{Sealed, Sealer};
use crate::clock::{from_millis, to_millis};
use crate::state::{Record, State, VersionRecord};
use crate::{
    Principal, RotationPolicy, SecretError, SecretMetadata, SecretName, Version, VersionInfo,
    VersionState,
};

const FORMAT: &str = "twh-secrets-file/1";
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoreFile {
    format: String,
    key_check: String,
    /// HMAC-SHA256 (base64) of the compact JSON of `secrets`: any edit of a
    /// state, a label, a name or a record breaks it.
    mac: String,
    secrets: BTreeMap<String, SecretRec>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretRec {
    created_at: u64,
    created_by: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    rotation: Option<RotationRec>,
    versions: Vec<VersionRec>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RotationRec {
    max_age_ms: u64,
    grace_ms: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct VersionRec {
    version: u64,
    state: StateRec,
    created_at: u64,
    created_by: String,
    #[serde(default)]
    sealed: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum StateRec {
    Current,
    Previous { valid_until: u64 },
    Revoked { at: u64, reason: String },
    Destroyed,
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

pub(super) fn encode(st: &State<Sealed>, sealer: &Sealer) -> Result<Vec<u8>, SecretError> {
    let mut secrets = BTreeMap::new();
    for (name, rec) in &st.secrets {
        let versions = rec
            .versions
            .iter()
            .map(|v| VersionRec {
                version: v.info.version.get(),
                state: match &v.info.state {
                    VersionState::Current => StateRec::Current,
                    VersionState::Previous { valid_until } => StateRec::Previous {
                        valid_until: to_millis(*valid_until),
                    },
                    VersionState::Revoked { at, reason } => StateRec::Revoked {
                        at: to_millis(*at),
                        reason: reason.clone(),
                    },
                    VersionState::Destroyed => StateRec::Destroyed,
                },
                created_at: to_millis(v.info.created_at),
                created_by: v.info.created_by.as_str().to_owned(),
                sealed: v.payload.as_ref().map(|p| B64.encode(p)),
            })
            .collect();
        secrets.insert(
            name.as_str().to_owned(),
            SecretRec {
                created_at: to_millis(rec.meta.created_at),
                created_by: rec.meta.created_by.as_str().to_owned(),
                labels: rec.meta.labels.clone(),
                rotation: rec.meta.rotation.map(|p| RotationRec {
                    max_age_ms: ms(p.max_age),
                    grace_ms: ms(p.grace),
                }),
                versions,
            },
        );
    }
    let content =
        serde_json::to_vec(&secrets).map_err(|e| SecretError::backend("encoding the store", e))?;
    let file = StoreFile {
        format: FORMAT.to_owned(),
        key_check: B64.encode(sealer.key_check()?),
        mac: B64.encode(sealer.store_mac(&content)?),
        secrets,
    };
    let mut out = serde_json::to_vec_pretty(&file)
        .map_err(|e| SecretError::backend("encoding the store", e))?;
    out.push(b'\n');
    Ok(out)
}

/// A store-file integrity failure; the message says it is the store.
fn corrupt(what: impl Into<String>) -> SecretError {
    SecretError::corrupt(format!("secret store: {}", what.into()))
}

/// How much of the file [`peek_mac`] looks at: the format, key check and MAC
/// lines come first and take under 200 bytes.
pub(super) const HEAD_LEN: usize = 512;

/// The store MAC as written in the head of a file [`encode`] produced (the
/// top-level `"mac"` line, two-space indented), without parsing the rest.
/// `None` when the head does not have that shape.
pub(super) fn peek_mac(bytes: &[u8]) -> Option<&[u8]> {
    const KEY: &[u8] = b"\n  \"mac\": \"";
    let head = bytes.get(..HEAD_LEN).unwrap_or(bytes);
    if !head.starts_with(b"{\n  \"format\": ") {
        return None;
    }
    let start = head.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let len = head[start..].iter().position(|&b| b == b'"')?;
    let mac = &head[start..start + len];
    (mac.len() == 44
        && mac
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(b)))
    .then_some(mac)
}

pub(super) fn decode(bytes: &[u8], sealer: &Sealer) -> Result<State<Sealed>, SecretError> {
    let file: StoreFile = serde_json::from_slice(bytes).map_err(|e| SecretError::Corrupt {
        context: "secret store: the file is not a valid twh secret store".to_owned(),
        source: Some(Arc::new(e)),
    })?;
    if file.format != FORMAT {
        return Err(corrupt(format!("unknown store format {:?}", file.format)));
    }
    let check = B64
        .decode(&file.key_check)
        .map_err(|_| corrupt("bad key check"))?;
    if !sealer.verify_key_check(&check) {
        return Err(corrupt(
            "the master key does not open this store (wrong TWH_MASTER_KEY or key file?)",
        ));
    }
    // Re-encoding the parsed content gives the exact bytes that were MACed
    // (BTreeMap order, fixed field order, integers and strings round-trip).
    let content = serde_json::to_vec(&file.secrets)
        .map_err(|e| SecretError::backend("encoding the store", e))?;
    let tag = B64
        .decode(&file.mac)
        .map_err(|_| corrupt("bad store MAC"))?;
    if !sealer.verify_store_mac(&content, &tag) {
        return Err(corrupt(
            "store integrity check failed: the file was modified outside twh",
        ));
    }
    let mut st = State::default();
    for (name, rec) in file.secrets {
        let name = SecretName::new(&name).map_err(|_| corrupt("bad secret name in store"))?;
        let mut versions: Vec<VersionRecord<Sealed>> = Vec::with_capacity(rec.versions.len());
        let mut currents = 0;
        for v in rec.versions {
            let version = Version::new(v.version)
                .map_err(|_| corrupt(format!("secret {name}: version 0")))?;
            if versions.last().is_some_and(|l| l.info.version >= version) {
                return Err(corrupt(format!("secret {name}: versions out of order")));
            }
            let state = match v.state {
                StateRec::Current => {
                    currents += 1;
                    VersionState::Current
                }
                StateRec::Previous { valid_until } => VersionState::Previous {
                    valid_until: from_millis(valid_until),
                },
                StateRec::Revoked { at, reason } => VersionState::Revoked {
                    at: from_millis(at),
                    reason,
                },
                StateRec::Destroyed => VersionState::Destroyed,
            };
            let payload = match v.sealed {
                Some(s) => Some(Arc::from(B64.decode(s).map_err(|_| {
                    corrupt(format!("secret {name} version {version}: bad ciphertext"))
                })?)),
                None => None,
            };
            if payload.is_none() && state != VersionState::Destroyed {
                return Err(corrupt(format!(
                    "secret {name} version {version}: value missing"
                )));
            }
            versions.push(VersionRecord {
                info: VersionInfo::new(
                    version,
                    state,
                    from_millis(v.created_at),
                    Principal::new(&v.created_by),
                ),
                payload,
            });
        }
        if currents > 1 {
            return Err(corrupt(format!(
                "secret {name}: {currents} current versions"
            )));
        }
        if versions.is_empty() {
            return Err(corrupt(format!("secret {name}: no versions")));
        }
        let mut meta =
            SecretMetadata::new(from_millis(rec.created_at), Principal::new(&rec.created_by));
        meta.labels = rec.labels;
        meta.rotation = rec.rotation.map(|r| {
            RotationPolicy::new(
                Duration::from_millis(r.max_age_ms),
                Duration::from_millis(r.grace_ms),
            )
        });
        st.secrets.insert(name, Record { meta, versions });
    }
    Ok(st)
}
