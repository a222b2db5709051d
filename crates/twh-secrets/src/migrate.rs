//! Moving secrets in: [`import_env`] (environment / `.env`) and [`migrate`]
//! (any provider to any provider, idempotent).

use std::collections::BTreeMap;
use std::path::PathBuf;

use sha2::{Digest as _, Sha256};

use crate::clock::to_millis;
use crate::{
    ImportMode, ImportOutcome, Precondition, Progress, PutOptions, SecretError, SecretExport,
    SecretName, SecretProvider, SecretValue, VersionState,
};

/// SHA-256 (hex) over a secret's name, metadata, versions, states and values,
/// in a fixed encoding: equal on two stores exactly when they hold the same secret.
/// (A hash of key material: share it only with people who may compare stores.)
#[must_use]
pub fn content_hash(export: &SecretExport) -> String {
    let mut h = Sha256::new();
    let mut field = |b: &[u8]| {
        h.update((b.len() as u64).to_be_bytes());
        h.update(b);
    };
    field(b"twh-secrets content hash v1");
    field(export.name.as_str().as_bytes());
    field(&to_millis(export.metadata.created_at).to_be_bytes());
    field(export.metadata.created_by.as_str().as_bytes());
    for (k, v) in &export.metadata.labels {
        field(k.as_bytes());
        field(v.as_bytes());
    }
    if let Some(p) = export.metadata.rotation {
        field(&p.max_age.as_millis().to_be_bytes());
        field(&p.grace.as_millis().to_be_bytes());
    }
    for v in &export.versions {
        field(&v.info.version.get().to_be_bytes());
        field(&to_millis(v.info.created_at).to_be_bytes());
        field(v.info.created_by.as_str().as_bytes());
        match &v.info.state {
            VersionState::Current => field(b"current"),
            VersionState::Previous { valid_until } => {
                field(b"previous");
                field(&to_millis(*valid_until).to_be_bytes());
            }
            VersionState::Revoked { at, reason } => {
                field(b"revoked");
                field(&to_millis(*at).to_be_bytes());
                field(reason.as_bytes());
            }
            VersionState::Destroyed => field(b"destroyed"),
        }
        match &v.value {
            Some(value) => field(value.expose_secret()),
            None => field(b"-"),
        }
    }
    hex::encode(h.finalize())
}

/// One secret handled by [`migrate`].
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct MigratedSecret {
    /// The secret.
    pub name: SecretName,
    /// What happened in the target.
    pub outcome: ImportOutcome,
    /// How many versions it has.
    pub versions: usize,
    /// [`content_hash`] of what the target now holds.
    pub content_hash: String,
}

/// What [`migrate`] did.
#[non_exhaustive]
#[derive(Debug, Clone, Default)]
pub struct MigrationReport {
    /// Per secret, sorted by name.
    pub secrets: Vec<MigratedSecret>,
}

impl MigrationReport {
    fn count(&self, o: ImportOutcome) -> usize {
        self.secrets.iter().filter(|s| s.outcome == o).count()
    }
    /// Secrets newly created in the target.
    #[must_use]
    pub fn created(&self) -> usize {
        self.count(ImportOutcome::Created)
    }
    /// Secrets replaced in the target.
    #[must_use]
    pub fn updated(&self) -> usize {
        self.count(ImportOutcome::Updated)
    }
    /// Secrets already identical in the target.
    #[must_use]
    pub fn unchanged(&self) -> usize {
        self.count(ImportOutcome::Unchanged)
    }
    /// Versions copied (all secrets).
    #[must_use]
    pub fn versions(&self) -> usize {
        self.secrets.iter().map(|s| s.versions).sum()
    }
}

/// Copies every secret with every version, state and metadata from `from` to
/// `to`. Idempotent: a second run reports everything `Unchanged` and writes
/// nothing. Refuses (`Conflict`) to replace newer data in the target unless
/// `mode` is [`ImportMode::Force`]. Each secret's target content is re-read and
/// hashed, so the report proves what landed.
///
/// # Errors
/// The first failure (earlier secrets stay copied; re-running resumes).
pub async fn migrate(
    from: &dyn SecretProvider,
    to: &dyn SecretProvider,
    mode: ImportMode,
    progress: &dyn Progress,
) -> Result<MigrationReport, SecretError> {
    let names = from.list("").await?;
    progress.begin(names.len());
    let mut report = MigrationReport::default();
    for name in names {
        let export = from.export(&name).await?;
        let versions = export.versions.len();
        let outcome = to.import(export.clone(), mode).await?;
        let landed = to.export(&name).await?;
        if !landed.same_content(&export) {
            return Err(SecretError::corrupt(format!(
                "secret {name}: target content differs from source after migration"
            )));
        }
        report.secrets.push(MigratedSecret {
            name: name.clone(),
            outcome,
            versions,
            content_hash: content_hash(&landed),
        });
        progress.advance(&name);
    }
    progress.finish();
    Ok(report)
}

/// Where [`import_env`] reads variables from.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub enum EnvSource {
    /// The process environment.
    Process,
    /// A `.env` file (parsed by `dotenvy`, not loaded into the environment).
    DotEnv(PathBuf),
}

/// Maps variable names to secret names: the first rule whose prefix matches
/// wins; the rest of the variable is lowercased and appended to the rule's
/// name prefix. Default: `WEBHOOK_SECRET_ACME` → `webhooks/acme`.
#[derive(Debug, Clone)]
pub struct EnvMapping {
    rules: Vec<(String, String)>,
}

impl Default for EnvMapping {
    fn default() -> Self {
        Self {
            rules: vec![("WEBHOOK_SECRET_".to_owned(), "webhooks/".to_owned())],
        }
    }
}

impl EnvMapping {
    /// No rules (add some with [`EnvMapping::rule`]).
    #[must_use]
    pub fn empty() -> Self {
        Self { rules: Vec::new() }
    }

    /// Adds a rule: variables starting with `var_prefix` become `name_prefix` + lowercased rest.
    #[must_use]
    pub fn rule(mut self, var_prefix: &str, name_prefix: &str) -> Self {
        self.rules
            .push((var_prefix.to_owned(), name_prefix.to_owned()));
        self
    }

    /// Parses `VAR_PREFIX=name/prefix` (the CLI's `--map`).
    ///
    /// # Errors
    /// [`SecretError::InvalidInput`] without `=`.
    pub fn parse_rule(self, text: &str) -> Result<Self, SecretError> {
        let (var, name) = text
            .split_once('=')
            .ok_or_else(|| SecretError::invalid("a mapping is VAR_PREFIX=name/prefix"))?;
        Ok(self.rule(var, name))
    }

    /// The secret name for a variable, if a rule matches.
    ///
    /// # Errors
    /// [`SecretError::InvalidInput`] when the mapped name is not valid.
    pub fn map(&self, var: &str) -> Result<Option<SecretName>, SecretError> {
        for (prefix, name_prefix) in &self.rules {
            if let Some(rest) = var.strip_prefix(prefix.as_str()) {
                if rest.is_empty() {
                    continue;
                }
                let name = format!("{name_prefix}{}", rest.to_ascii_lowercase());
                return SecretName::new(&name).map(Some);
            }
        }
        Ok(None)
    }
}

/// What [`import_env`] did, per secret name.
#[non_exhaustive]
#[derive(Debug, Clone, Default)]
pub struct EnvImportReport {
    /// Names that got a new version (the value was new or different).
    pub imported: Vec<SecretName>,
    /// Names whose current value already equals the variable.
    pub unchanged: Vec<SecretName>,
    /// Variables that matched a rule but could not be mapped to a valid name.
    pub skipped: Vec<String>,
}

/// Imports matching variables as secrets. Idempotent: a name whose current
/// value already equals the variable is left alone; a different value becomes
/// a new current version.
///
/// # Errors
/// Reading the `.env` file, or a provider failure.
pub async fn import_env(
    to: &dyn SecretProvider,
    source: &EnvSource,
    mapping: &EnvMapping,
    progress: &dyn Progress,
) -> Result<EnvImportReport, SecretError> {
    let vars: BTreeMap<String, SecretValue> = match source {
        EnvSource::Process => std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .map(|(k, v)| (k, SecretValue::from_string(v)))
            .collect(),
        EnvSource::DotEnv(path) => {
            let iter = dotenvy::from_path_iter(path).map_err(|e| {
                SecretError::invalid(format!(
                    "cannot read {}: {}",
                    path.display(),
                    dotenv_reason(&e)
                ))
            })?;
            let mut m = BTreeMap::new();
            for item in iter {
                let (k, v) = item.map_err(|e| {
                    SecretError::invalid(format!(
                        "cannot parse {}: {}",
                        path.display(),
                        dotenv_reason(&e)
                    ))
                })?;
                m.insert(k, SecretValue::from_string(v));
            }
            m
        }
    };
    let mut matched = Vec::new();
    let mut report = EnvImportReport::default();
    for (var, value) in vars {
        match mapping.map(&var) {
            Ok(Some(name)) => matched.push((name, value)),
            Ok(None) => {}
            Err(_) => report.skipped.push(var),
        }
    }
    progress.begin(matched.len());
    for (name, value) in matched {
        let same = match to.get(&name).await {
            Ok(cur) => cur.value().ct_eq(&value),
            Err(
                SecretError::NotFound { .. }
                | SecretError::Revoked { .. }
                | SecretError::Destroyed { .. },
            ) => false,
            Err(e) => return Err(e),
        };
        if same {
            report.unchanged.push(name.clone());
        } else {
            let opts = PutOptions::new().label("imported-from", "env");
            let opts = match to.versions(&name).await {
                Err(SecretError::NotFound { .. }) => opts.expect(Precondition::Absent),
                _ => opts,
            };
            to.put(&name, value, opts).await?;
            report.imported.push(name.clone());
        }
        progress.advance(&name);
    }
    progress.finish();
    Ok(report)
}

/// A dotenvy error without the offending line (which may hold a value).
fn dotenv_reason(e: &dotenvy::Error) -> String {
    match e {
        dotenvy::Error::LineParse(_, idx) => format!("syntax error at byte {idx}"),
        dotenvy::Error::Io(io) => io.kind().to_string(),
        dotenvy::Error::EnvVar(_) => "bad variable".to_owned(),
        _ => "unreadable".to_owned(),
    }
}
