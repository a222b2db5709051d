//! The backend-independent state machine, over any payload type
//! (plain values in memory, sealed ciphertexts in the file store).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::error::VersionDisplay;
use crate::{
    ActiveSet, ExportedVersion, ImportMode, ImportOutcome, Precondition, Principal, PutOptions,
    RevokeTarget, SecretError, SecretExport, SecretMetadata, SecretName, SecretValue, Version,
    VersionInfo, VersionState, VersionedSecret,
};

/// Turns values into stored payloads and back.
pub(crate) trait Sealer {
    type Payload: Clone;
    fn seal(
        &self,
        name: &SecretName,
        version: Version,
        value: &SecretValue,
    ) -> Result<Self::Payload, SecretError>;
    fn open(
        &self,
        name: &SecretName,
        version: Version,
        payload: &Self::Payload,
    ) -> Result<SecretValue, SecretError>;
}

/// Plain values (the memory backend).
pub(crate) struct Plain;

impl Sealer for Plain {
    type Payload = SecretValue;
    fn seal(
        &self,
        _: &SecretName,
        _: Version,
        v: &SecretValue,
    ) -> Result<SecretValue, SecretError> {
        Ok(v.clone())
    }
    fn open(
        &self,
        _: &SecretName,
        _: Version,
        p: &SecretValue,
    ) -> Result<SecretValue, SecretError> {
        Ok(p.clone())
    }
}

#[derive(Clone)]
pub(crate) struct VersionRecord<P> {
    pub(crate) info: VersionInfo,
    pub(crate) payload: Option<P>,
}

#[derive(Clone)]
pub(crate) struct Record<P> {
    pub(crate) meta: SecretMetadata,
    /// Oldest first, strictly increasing versions.
    pub(crate) versions: Vec<VersionRecord<P>>,
}

impl<P> Record<P> {
    fn latest(&self) -> Option<&VersionRecord<P>> {
        self.versions.last()
    }

    fn current(&self) -> Option<&VersionRecord<P>> {
        self.versions
            .iter()
            .rev()
            .find(|v| v.info.state == VersionState::Current)
    }

    fn find(&self, v: Version) -> Option<&VersionRecord<P>> {
        self.versions
            .binary_search_by_key(&v, |r| r.info.version)
            .ok()
            .and_then(|i| self.versions.get(i))
    }

    fn find_mut(&mut self, v: Version) -> Option<&mut VersionRecord<P>> {
        let i = self
            .versions
            .binary_search_by_key(&v, |r| r.info.version)
            .ok()?;
        self.versions.get_mut(i)
    }

    /// Demotes the current version (if any) to `Previous { valid_until }`.
    fn demote_current(&mut self, valid_until: SystemTime) {
        for v in &mut self.versions {
            if v.info.state == VersionState::Current {
                v.info.state = VersionState::Previous { valid_until };
            }
        }
    }
}

/// All secrets of one store.
#[derive(Clone)]
pub(crate) struct State<P> {
    pub(crate) secrets: BTreeMap<SecretName, Record<P>>,
}

impl<P> Default for State<P> {
    fn default() -> Self {
        Self {
            secrets: BTreeMap::new(),
        }
    }
}

fn not_found(name: &SecretName) -> SecretError {
    SecretError::NotFound { name: name.clone() }
}

fn add(now: SystemTime, d: Duration) -> SystemTime {
    crate::clock::trunc_millis(now.checked_add(d).unwrap_or(now))
}

impl<P: Clone> State<P> {
    fn record(&self, name: &SecretName) -> Result<&Record<P>, SecretError> {
        self.secrets.get(name).ok_or_else(|| not_found(name))
    }

    fn record_mut(&mut self, name: &SecretName) -> Result<&mut Record<P>, SecretError> {
        self.secrets.get_mut(name).ok_or_else(|| not_found(name))
    }

    fn open_version<S: Sealer<Payload = P>>(
        sealer: &S,
        name: &SecretName,
        rec: &VersionRecord<P>,
    ) -> Result<VersionedSecret, SecretError> {
        let version = rec.info.version;
        match &rec.info.state {
            VersionState::Revoked { .. } => {
                return Err(SecretError::Revoked {
                    name: name.clone(),
                    version,
                });
            }
            VersionState::Destroyed => {
                return Err(SecretError::Destroyed {
                    name: name.clone(),
                    version,
                });
            }
            VersionState::Current | VersionState::Previous { .. } => {}
        }
        let payload = rec.payload.as_ref().ok_or_else(|| {
            SecretError::corrupt(format!("secret {name} version {version} has no value"))
        })?;
        let value = sealer.open(name, version, payload)?;
        Ok(VersionedSecret::new(rec.info.clone(), value))
    }

    /// The error for a secret with no current version.
    fn no_current(name: &SecretName, rec: &Record<P>) -> SecretError {
        match rec.latest() {
            Some(v) if v.info.state == VersionState::Destroyed => SecretError::Destroyed {
                name: name.clone(),
                version: v.info.version,
            },
            Some(v) => SecretError::Revoked {
                name: name.clone(),
                version: v.info.version,
            },
            None => not_found(name),
        }
    }

    pub(crate) fn get<S: Sealer<Payload = P>>(
        &self,
        sealer: &S,
        name: &SecretName,
    ) -> Result<VersionedSecret, SecretError> {
        let rec = self.record(name)?;
        let cur = rec.current().ok_or_else(|| Self::no_current(name, rec))?;
        Self::open_version(sealer, name, cur)
    }

    pub(crate) fn get_version<S: Sealer<Payload = P>>(
        &self,
        sealer: &S,
        name: &SecretName,
        version: Version,
    ) -> Result<VersionedSecret, SecretError> {
        let rec = self.record(name)?;
        let v = rec
            .find(version)
            .ok_or_else(|| SecretError::VersionNotFound {
                name: name.clone(),
                version,
            })?;
        Self::open_version(sealer, name, v)
    }

    pub(crate) fn active<S: Sealer<Payload = P>>(
        &self,
        sealer: &S,
        name: &SecretName,
        now: SystemTime,
    ) -> Result<ActiveSet, SecretError> {
        let rec = self.record(name)?;
        let mut out = Vec::with_capacity(2);
        if let Some(cur) = rec.current() {
            out.push(Self::open_version(sealer, name, cur)?);
        }
        for v in rec.versions.iter().rev() {
            if matches!(v.info.state, VersionState::Previous { .. })
                && v.info.state.is_active_at(now)
            {
                out.push(Self::open_version(sealer, name, v)?);
            }
        }
        if out.is_empty() {
            let revoked = rec
                .versions
                .iter()
                .rev()
                .find(|v| matches!(v.info.state, VersionState::Revoked { .. }));
            return Err(match (revoked, rec.latest()) {
                (Some(r), _) => SecretError::Revoked {
                    name: name.clone(),
                    version: r.info.version,
                },
                (None, Some(l)) if l.info.state == VersionState::Destroyed => {
                    SecretError::Destroyed {
                        name: name.clone(),
                        version: l.info.version,
                    }
                }
                // Only expired previous versions left (cannot happen through
                // the public operations, but an import may produce it).
                (None, Some(l)) => SecretError::Revoked {
                    name: name.clone(),
                    version: l.info.version,
                },
                (None, None) => not_found(name),
            });
        }
        Ok(Arc::from(out))
    }

    pub(crate) fn metadata(&self, name: &SecretName) -> Result<SecretMetadata, SecretError> {
        Ok(self.record(name)?.meta.clone())
    }

    pub(crate) fn versions(&self, name: &SecretName) -> Result<Vec<VersionInfo>, SecretError> {
        Ok(self
            .record(name)?
            .versions
            .iter()
            .map(|v| v.info.clone())
            .collect())
    }

    pub(crate) fn list(&self, prefix: &str) -> Vec<SecretName> {
        self.secrets
            .keys()
            .filter(|n| n.as_str().starts_with(prefix))
            .cloned()
            .collect()
    }

    fn check(
        name: &SecretName,
        rec: Option<&Record<P>>,
        expect: Precondition,
    ) -> Result<(), SecretError> {
        let found = rec.and_then(|r| r.current()).map(|v| v.info.version);
        let ok = match expect {
            Precondition::Any => true,
            Precondition::Absent => rec.is_none(),
            Precondition::Current(v) => found == Some(v),
        };
        if ok {
            Ok(())
        } else {
            Err(SecretError::Conflict {
                name: name.clone(),
                expected: VersionDisplay(match expect {
                    Precondition::Current(v) => Some(v),
                    Precondition::Any | Precondition::Absent => None,
                }),
                found: VersionDisplay(
                    found.or_else(|| rec.and_then(|r| r.latest()).map(|v| v.info.version)),
                ),
            })
        }
    }

    /// Appends `value` as the new current version.
    fn append<S: Sealer<Payload = P>>(
        &mut self,
        sealer: &S,
        name: &SecretName,
        value: &SecretValue,
        now: SystemTime,
        principal: &Principal,
        grace: Duration,
    ) -> Result<Version, SecretError> {
        if value.is_empty() {
            return Err(SecretError::invalid(format!(
                "secret {name}: an empty value is not a secret"
            )));
        }
        if let Some(rec) = self.secrets.get(name) {
            Self::refuse_revoked_value(sealer, name, rec, value)?;
        }
        let now = crate::clock::trunc_millis(now);
        let rec = self.secrets.entry(name.clone()).or_insert_with(|| Record {
            meta: SecretMetadata::new(now, principal.clone()),
            versions: Vec::new(),
        });
        let version = rec
            .latest()
            .map_or(Version::FIRST, |v| v.info.version.next());
        let payload = sealer.seal(name, version, value)?;
        rec.demote_current(add(now, grace));
        rec.versions.push(VersionRecord {
            info: VersionInfo::new(version, VersionState::Current, now, principal.clone()),
            payload: Some(payload),
        });
        Ok(version)
    }

    /// A revoked value never becomes current again, whether it comes back
    /// through `put`, an `.env` import or a rollback to an older version
    /// holding the same bytes (compared in constant time, each revoked
    /// version opened with its own name and version binding).
    fn refuse_revoked_value<S: Sealer<Payload = P>>(
        sealer: &S,
        name: &SecretName,
        rec: &Record<P>,
        value: &SecretValue,
    ) -> Result<(), SecretError> {
        for old in &rec.versions {
            let (VersionState::Revoked { .. }, Some(payload)) = (&old.info.state, &old.payload)
            else {
                continue;
            };
            if sealer.open(name, old.info.version, payload)?.ct_eq(value) {
                return Err(SecretError::invalid(format!(
                    "secret {name}: this value was revoked as version {}; a revoked value \
                     never becomes current again (generate a new one)",
                    old.info.version
                )));
            }
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments, reason = "internal plumbing")]
    pub(crate) fn put<S: Sealer<Payload = P>>(
        &mut self,
        sealer: &S,
        name: &SecretName,
        value: &SecretValue,
        options: &PutOptions,
        now: SystemTime,
        principal: &Principal,
    ) -> Result<Version, SecretError> {
        Self::check(name, self.secrets.get(name), options.expect)?;
        let v = self.append(sealer, name, value, now, principal, options.grace)?;
        let rec = self.record_mut(name)?;
        if let Some(labels) = &options.labels {
            rec.meta.labels = labels.clone();
        }
        if let Some(policy) = options.rotation {
            rec.meta.rotation = Some(policy);
        }
        Ok(v)
    }

    /// The current version number, for compare-and-set by `rotate`.
    pub(crate) fn current_version(
        &self,
        name: &SecretName,
    ) -> Result<Option<Version>, SecretError> {
        Ok(self.record(name)?.current().map(|v| v.info.version))
    }

    #[allow(clippy::too_many_arguments, reason = "internal plumbing")]
    pub(crate) fn rotate<S: Sealer<Payload = P>>(
        &mut self,
        sealer: &S,
        name: &SecretName,
        expected: Option<Version>,
        value: &SecretValue,
        grace: Duration,
        now: SystemTime,
        principal: &Principal,
    ) -> Result<Version, SecretError> {
        let rec = self.record(name)?;
        let found = rec.current().map(|v| v.info.version);
        if found != expected {
            return Err(SecretError::Conflict {
                name: name.clone(),
                expected: VersionDisplay(expected),
                found: VersionDisplay(found),
            });
        }
        self.append(sealer, name, value, now, principal, grace)
    }

    pub(crate) fn rollback<S: Sealer<Payload = P>>(
        &mut self,
        sealer: &S,
        name: &SecretName,
        to: Version,
        now: SystemTime,
        principal: &Principal,
    ) -> Result<Version, SecretError> {
        let old = self.get_version(sealer, name, to)?;
        self.append(sealer, name, old.value(), now, principal, Duration::ZERO)
    }

    pub(crate) fn revoke(
        &mut self,
        name: &SecretName,
        target: RevokeTarget,
        reason: &str,
        now: SystemTime,
    ) -> Result<Vec<Version>, SecretError> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(SecretError::invalid("a revocation needs a reason"));
        }
        let now = crate::clock::trunc_millis(now);
        let rec = self.record_mut(name)?;
        let state = VersionState::Revoked {
            at: now,
            reason: reason.chars().take(500).collect(),
        };
        let mut done = Vec::new();
        match target {
            RevokeTarget::Version(v) => {
                let r = rec
                    .find_mut(v)
                    .ok_or_else(|| SecretError::VersionNotFound {
                        name: name.clone(),
                        version: v,
                    })?;
                if matches!(
                    r.info.state,
                    VersionState::Current | VersionState::Previous { .. }
                ) {
                    r.info.state = state;
                    done.push(v);
                }
            }
            RevokeTarget::All => {
                for r in &mut rec.versions {
                    if matches!(
                        r.info.state,
                        VersionState::Current | VersionState::Previous { .. }
                    ) {
                        r.info.state = state.clone();
                        done.push(r.info.version);
                    }
                }
            }
        }
        Ok(done)
    }

    pub(crate) fn destroy(
        &mut self,
        name: &SecretName,
        version: Version,
    ) -> Result<(), SecretError> {
        let rec = self.record_mut(name)?;
        let r = rec
            .find_mut(version)
            .ok_or_else(|| SecretError::VersionNotFound {
                name: name.clone(),
                version,
            })?;
        if r.info.state == VersionState::Current {
            return Err(SecretError::invalid(format!(
                "secret {name} version {version} is current: rotate or revoke it before destroying it"
            )));
        }
        r.info.state = VersionState::Destroyed;
        r.payload = None;
        Ok(())
    }

    pub(crate) fn export<S: Sealer<Payload = P>>(
        &self,
        sealer: &S,
        name: &SecretName,
    ) -> Result<SecretExport, SecretError> {
        let rec = self.record(name)?;
        let mut versions = Vec::with_capacity(rec.versions.len());
        for v in &rec.versions {
            let value = match &v.payload {
                Some(p) => Some(sealer.open(name, v.info.version, p)?),
                None => None,
            };
            versions.push(ExportedVersion::new(v.info.clone(), value));
        }
        Ok(SecretExport::new(name.clone(), rec.meta.clone(), versions))
    }

    pub(crate) fn import<S: Sealer<Payload = P>>(
        &mut self,
        sealer: &S,
        export: &SecretExport,
        mode: ImportMode,
    ) -> Result<ImportOutcome, SecretError> {
        export.validate()?;
        let name = &export.name;
        let outcome = if self.secrets.contains_key(name) {
            let existing = self.export(sealer, name)?;
            if existing.same_content(export) {
                return Ok(ImportOutcome::Unchanged);
            }
            if mode != ImportMode::Force {
                // Refuse if the target holds newer data: a version the export
                // lacks, a version with other key material, or a version that
                // moved further in its life (e.g. revoked in the target but
                // still current in the export — restoring must never un-revoke).
                let diverges = existing.versions.iter().any(|have| {
                    export
                        .versions
                        .iter()
                        .find(|e| e.info.version == have.info.version)
                        .is_none_or(|e| {
                            e.info.created_at != have.info.created_at
                                || rank(&have.info.state) > rank(&e.info.state)
                                || match (&e.value, &have.value) {
                                    (Some(a), Some(b)) => !a.ct_eq(b),
                                    _ => false,
                                }
                        })
                });
                if diverges {
                    return Err(SecretError::Conflict {
                        name: name.clone(),
                        expected: VersionDisplay(export.versions.last().map(|v| v.info.version)),
                        found: VersionDisplay(existing.versions.last().map(|v| v.info.version)),
                    });
                }
            }
            ImportOutcome::Updated
        } else {
            ImportOutcome::Created
        };
        let mut versions = Vec::with_capacity(export.versions.len());
        for v in &export.versions {
            let payload = match &v.value {
                Some(value) if v.info.state != VersionState::Destroyed => {
                    Some(sealer.seal(name, v.info.version, value)?)
                }
                _ => None,
            };
            versions.push(VersionRecord {
                info: v.info.clone(),
                payload,
            });
        }
        self.secrets.insert(
            name.clone(),
            Record {
                meta: export.metadata.clone(),
                versions,
            },
        );
        Ok(outcome)
    }
}

/// Order of the states in a version's life.
fn rank(s: &VersionState) -> u8 {
    match s {
        VersionState::Current => 0,
        VersionState::Previous { .. } => 1,
        VersionState::Revoked { .. } => 2,
        VersionState::Destroyed => 3,
    }
}
