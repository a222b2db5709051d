//! [`PolicyProvider`]: least privilege per principal.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::{
    ActiveSet, ImportMode, ImportOutcome, Operation, Principal, PutOptions, RevokeTarget,
    SecretError, SecretExport, SecretGenerator, SecretMetadata, SecretName, SecretProvider,
    SecretValue, Version, VersionInfo, VersionedSecret,
};

/// A name pattern: `*` matches within one path segment, `**` matches
/// anything (slashes included); other characters match themselves.
#[derive(Clone, PartialEq, Eq)]
pub struct Glob(String);

impl Glob {
    /// Checks and wraps a pattern.
    ///
    /// # Errors
    /// [`SecretError::InvalidInput`] for an empty or over-long pattern.
    pub fn new(pattern: &str) -> Result<Self, SecretError> {
        if pattern.is_empty() || pattern.len() > 256 {
            return Err(SecretError::invalid(
                "a name pattern has 1 to 256 characters",
            ));
        }
        Ok(Self(pattern.to_owned()))
    }

    /// True if `name` matches.
    #[must_use]
    pub fn matches(&self, name: &str) -> bool {
        glob_match(self.0.as_bytes(), name.as_bytes())
    }

    /// The pattern text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Glob({:?})", self.0)
    }
}

/// Iterative matcher (no recursion blow-up on hostile patterns: O(p·n)).
fn glob_match(p: &[u8], s: &[u8]) -> bool {
    // dp[j] = pattern prefix processed so far matches s[..j]
    let mut dp = vec![false; s.len() + 1];
    dp[0] = true;
    let mut i = 0;
    while i < p.len() {
        let mut next = vec![false; s.len() + 1];
        if p[i] == b'*' && p.get(i + 1) == Some(&b'*') {
            // `**`: any run of bytes.
            let mut any = false;
            for j in 0..=s.len() {
                any |= dp[j];
                next[j] = any;
            }
            i += 2;
        } else if p[i] == b'*' {
            // `*`: any run without '/'.
            for j in 0..=s.len() {
                if dp[j] {
                    next[j] = true;
                    let mut k = j;
                    while k < s.len() && s[k] != b'/' {
                        k += 1;
                        next[k] = true;
                    }
                }
            }
            i += 1;
        } else {
            for j in 0..s.len() {
                if dp[j] && s[j] == p[i] {
                    next[j + 1] = true;
                }
            }
            i += 1;
        }
        dp = next;
    }
    dp[s.len()]
}

#[derive(Debug, Clone)]
struct Rule {
    principal: String,
    ops: u16,
    glob: Glob,
}

/// Which principal may do which operations on which names. Anything not
/// allowed is denied. Principal `*` matches every principal.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    rules: Vec<Rule>,
}

impl Policy {
    /// A policy that denies everything.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Allows `principal` the `operations` on names matching `pattern`.
    ///
    /// # Errors
    /// [`SecretError::InvalidInput`] for a bad pattern.
    pub fn allow(
        mut self,
        principal: &str,
        operations: &[Operation],
        pattern: &str,
    ) -> Result<Self, SecretError> {
        self.rules.push(Rule {
            principal: principal.to_owned(),
            ops: operations.iter().fold(0, |acc, o| acc | o.bit()),
            glob: Glob::new(pattern)?,
        });
        Ok(self)
    }

    /// Parses one rule per line: `PRINCIPAL: OP[,OP…] PATTERN[ PATTERN…]`;
    /// `all` and `read` stand for [`Operation::ALL`] / [`Operation::READ`];
    /// `#` starts a comment.
    ///
    /// # Errors
    /// [`SecretError::InvalidInput`] naming the line.
    pub fn parse(text: &str) -> Result<Self, SecretError> {
        let mut p = Self::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or_default().trim();
            if line.is_empty() {
                continue;
            }
            let bad = |what: &str| SecretError::invalid(format!("policy line {}: {what}", i + 1));
            let (principal, rest) = line.split_once(':').ok_or_else(|| bad("missing ':'"))?;
            let mut parts = rest.split_whitespace();
            let ops_text = parts.next().ok_or_else(|| bad("missing operations"))?;
            let mut ops = Vec::new();
            for o in ops_text.split(',') {
                match o {
                    "all" => ops.extend(Operation::ALL),
                    "read" => ops.extend(Operation::READ),
                    other => ops.push(other.parse().map_err(|_| bad("unknown operation"))?),
                }
            }
            let mut any = false;
            for pattern in parts {
                p = p.allow(principal.trim(), &ops, pattern)?;
                any = true;
            }
            if !any {
                return Err(bad("missing name pattern"));
            }
        }
        Ok(p)
    }

    /// True if `principal` may do `op` on `name`.
    #[must_use]
    pub fn allows(&self, principal: &Principal, op: Operation, name: &str) -> bool {
        self.rules.iter().any(|r| {
            (r.principal == "*" || r.principal == principal.as_str())
                && r.ops & op.bit() != 0
                && r.glob.matches(name)
        })
    }

    fn may_list_anything(&self, principal: &Principal) -> bool {
        self.rules.iter().any(|r| {
            (r.principal == "*" || r.principal == principal.as_str())
                && r.ops & Operation::List.bit() != 0
        })
    }
}

/// Wraps any provider and enforces a [`Policy`] for one [`Principal`].
/// Denied calls return [`SecretError::PermissionDenied`] without reaching the
/// backend; wrap this in an [`AuditedProvider`](crate::AuditedProvider) to
/// audit them. `list` returns only names the principal may list.
///
/// # Examples
/// ```
/// # use std::sync::Arc;
/// # use twh_secrets::*;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), SecretError> {
/// let backend: Arc<dyn SecretProvider> = Arc::new(MemoryProvider::new());
/// let policy = Policy::new()
///     .allow("dispatcher", &[Operation::Get, Operation::Active], "webhooks/*")?;
/// // Or from text: Policy::parse("dispatcher: get,active webhooks/*")?
/// let dispatcher = PolicyProvider::new(backend, Arc::new(policy), Principal::new("dispatcher"));
/// let err = dispatcher
///     .put(&SecretName::new("webhooks/acme")?, generate_webhook_secret(), PutOptions::new())
///     .await
///     .unwrap_err();
/// assert!(matches!(err, SecretError::PermissionDenied { .. }));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PolicyProvider {
    inner: Arc<dyn SecretProvider>,
    policy: Arc<Policy>,
    principal: Principal,
}

impl fmt::Debug for PolicyProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PolicyProvider")
            .field("inner", &self.inner)
            .field("principal", &self.principal)
            .finish_non_exhaustive()
    }
}

impl PolicyProvider {
    /// Enforces `policy` on `inner` for `principal`.
    #[must_use]
    pub fn new(inner: Arc<dyn SecretProvider>, policy: Arc<Policy>, principal: Principal) -> Self {
        Self {
            inner,
            policy,
            principal,
        }
    }

    fn check(&self, op: Operation, name: &str) -> Result<(), SecretError> {
        if self.policy.allows(&self.principal, op, name) {
            Ok(())
        } else {
            tracing::debug!(principal = %self.principal, operation = op.as_str(), secret = name, "permission denied");
            Err(SecretError::PermissionDenied {
                principal: self.principal.as_str().to_owned(),
                operation: op.as_str(),
                name: name.chars().take(201).collect(),
            })
        }
    }
}

#[async_trait]
impl SecretProvider for PolicyProvider {
    async fn get(&self, name: &SecretName) -> Result<VersionedSecret, SecretError> {
        self.check(Operation::Get, name.as_str())?;
        self.inner.get(name).await
    }

    async fn get_version(
        &self,
        name: &SecretName,
        version: Version,
    ) -> Result<VersionedSecret, SecretError> {
        self.check(Operation::GetVersion, name.as_str())?;
        self.inner.get_version(name, version).await
    }

    async fn active(&self, name: &SecretName) -> Result<ActiveSet, SecretError> {
        self.check(Operation::Active, name.as_str())?;
        self.inner.active(name).await
    }

    async fn put(
        &self,
        name: &SecretName,
        value: SecretValue,
        options: PutOptions,
    ) -> Result<Version, SecretError> {
        self.check(Operation::Put, name.as_str())?;
        self.inner.put(name, value, options).await
    }

    async fn metadata(&self, name: &SecretName) -> Result<SecretMetadata, SecretError> {
        self.check(Operation::Metadata, name.as_str())?;
        self.inner.metadata(name).await
    }

    async fn versions(&self, name: &SecretName) -> Result<Vec<VersionInfo>, SecretError> {
        self.check(Operation::Versions, name.as_str())?;
        self.inner.versions(name).await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<SecretName>, SecretError> {
        if !self.policy.may_list_anything(&self.principal) {
            return Err(SecretError::PermissionDenied {
                principal: self.principal.as_str().to_owned(),
                operation: Operation::List.as_str(),
                name: prefix.chars().take(201).collect(),
            });
        }
        let all = self.inner.list(prefix).await?;
        Ok(all
            .into_iter()
            .filter(|n| {
                self.policy
                    .allows(&self.principal, Operation::List, n.as_str())
            })
            .collect())
    }

    async fn rotate(
        &self,
        name: &SecretName,
        generator: &dyn SecretGenerator,
        grace: Duration,
    ) -> Result<Version, SecretError> {
        self.check(Operation::Rotate, name.as_str())?;
        self.inner.rotate(name, generator, grace).await
    }

    async fn rollback(&self, name: &SecretName, to: Version) -> Result<Version, SecretError> {
        self.check(Operation::Rollback, name.as_str())?;
        self.inner.rollback(name, to).await
    }

    async fn revoke(
        &self,
        name: &SecretName,
        target: RevokeTarget,
        reason: &str,
    ) -> Result<Vec<Version>, SecretError> {
        self.check(Operation::Revoke, name.as_str())?;
        self.inner.revoke(name, target, reason).await
    }

    async fn destroy(&self, name: &SecretName, version: Version) -> Result<(), SecretError> {
        self.check(Operation::Destroy, name.as_str())?;
        self.inner.destroy(name, version).await
    }

    async fn export(&self, name: &SecretName) -> Result<SecretExport, SecretError> {
        self.check(Operation::Export, name.as_str())?;
        self.inner.export(name).await
    }

    async fn import(
        &self,
        export: SecretExport,
        mode: ImportMode,
    ) -> Result<ImportOutcome, SecretError> {
        self.check(Operation::Import, export.name.as_str())?;
        self.inner.import(export, mode).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        let g = |p: &str, s: &str| Glob::new(p).unwrap().matches(s);
        assert!(g("webhooks/*", "webhooks/acme"));
        assert!(!g("webhooks/*", "webhooks/acme/x"));
        assert!(!g("webhooks/*", "webhooksx"));
        assert!(g("webhooks/**", "webhooks/acme/x"));
        assert!(g("**", "anything/at/all"));
        assert!(g("db/pass*", "db/password"));
        assert!(!g("db/pass", "db/password"));
        assert!(g("a*b*c", "axxbyyc"));
        assert!(!g("a*b*c", "axxbyy"));
        // Hostile pattern stays fast (O(p·n)).
        let p = "*a".repeat(100);
        assert!(!g(&p, &"a".repeat(99)));
    }

    #[test]
    fn parse_and_allow() {
        let p = Policy::parse(
            "# the webhook dispatcher\n dispatcher: get,active webhooks/*\nops: all **\n*: list webhooks/*\n",
        )
        .unwrap();
        let d = Principal::new("dispatcher");
        assert!(p.allows(&d, Operation::Active, "webhooks/acme"));
        assert!(!p.allows(&d, Operation::Put, "webhooks/acme"));
        assert!(!p.allows(&d, Operation::Get, "db/password"));
        assert!(p.allows(&d, Operation::List, "webhooks/acme"));
        assert!(p.allows(&Principal::new("ops"), Operation::Destroy, "db/x"));
        assert!(!p.allows(&Principal::new("eve"), Operation::Get, "webhooks/acme"));
        assert!(Policy::parse("x get a").is_err());
        assert!(Policy::parse("x: frob a").is_err());
        assert!(Policy::parse("x: get").is_err());
    }
}
