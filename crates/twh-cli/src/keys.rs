//! Key input shared by `sign` and `verify`: --secret, --secret-env, --secret-file, and --scheme.

use std::path::PathBuf;

use clap::Args;
use twh_sig::{Scheme, SignKey, VerifyKey};
use zeroize::Zeroizing;

use crate::failure::Failure;

/// Where the keys come from. At least one is required; all given are used
/// (several keys = rotation overlap).
#[derive(Debug, Args)]
#[group(id = "keys", required = true, multiple = true)]
pub(crate) struct KeyArgs {
    /// Secret text as issued (`whsec_…`, `whsk_…`/`whpk_…` for standard-v1a, or the platform's string).
    /// WARNING: a value on the command line is visible to other local users in the
    /// process list and lands in shell history; prefer --secret-env or --secret-file.
    #[arg(long = "secret", value_name = "SECRET")]
    secret: Vec<String>,

    /// Name of an environment variable holding the secret text (used verbatim).
    #[arg(long = "secret-env", value_name = "VAR")]
    secret_env: Vec<String>,

    /// File holding the secret text; one trailing newline is ignored.
    #[arg(long = "secret-file", value_name = "PATH")]
    secret_file: Vec<PathBuf>,
}

/// Parse a scheme name for clap.
pub(crate) fn parse_scheme(name: &str) -> Result<Scheme, String> {
    name.parse::<Scheme>().map_err(|e| e.to_string())
}

impl KeyArgs {
    /// The secret texts with a label for error messages (never the text itself).
    fn texts(&self) -> Result<Vec<(String, Zeroizing<String>)>, Failure> {
        let mut out = Vec::new();
        for (i, text) in self.secret.iter().enumerate() {
            out.push((format!("--secret #{}", i + 1), Zeroizing::new(text.clone())));
        }
        for var in &self.secret_env {
            // Never `{e}`: `VarError::NotUnicode`'s Display prints the value.
            let text = std::env::var(var).map_err(|e| {
                Failure::usage(match e {
                    std::env::VarError::NotPresent => {
                        format!("--secret-env {var}: environment variable is not set")
                    }
                    std::env::VarError::NotUnicode(_) => {
                        format!("--secret-env {var}: environment variable is not valid UTF-8")
                    }
                })
            })?;
            out.push((format!("--secret-env {var}"), Zeroizing::new(text)));
        }
        for path in &self.secret_file {
            let mut text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
                Failure::usage(format_args!("--secret-file {}: {e}", path.display()))
            })?);
            let keep = text
                .strip_suffix("\r\n")
                .or_else(|| text.strip_suffix('\n'))
                .map(str::len);
            if let Some(len) = keep {
                // Zeroizing<String> wipes the whole capacity on drop, including the cut tail.
                text.truncate(len);
            }
            if text.contains('\n') {
                return Err(Failure::usage(format_args!(
                    "--secret-file {}: the file holds more than one line (did you save both keys \
                     of `twh secret generate --asymmetric`? the first line, whsk_…, signs; the \
                     second, whpk_…, verifies: keep one per file)",
                    path.display()
                )));
            }
            // A public key may be readable by anyone; a secret may not.
            if !text.starts_with("whpk_") {
                warn_if_readable(path);
            }
            out.push((format!("--secret-file {}", path.display()), text));
        }
        Ok(out)
    }

    /// Signing keys for `scheme`.
    pub(crate) fn sign_keys(&self, scheme: Scheme) -> Result<Vec<SignKey>, Failure> {
        self.texts()?
            .into_iter()
            .map(|(label, text)| {
                SignKey::parse(&text, scheme)
                    .map_err(|e| Failure::usage(format_args!("{label}: invalid {scheme} key: {e}")))
            })
            .collect()
    }

    /// Verification keys for `scheme`.
    pub(crate) fn verify_keys(&self, scheme: Scheme) -> Result<Vec<VerifyKey>, Failure> {
        self.texts()?
            .into_iter()
            .map(|(label, text)| {
                VerifyKey::parse(&text, scheme)
                    .map_err(|e| Failure::usage(format_args!("{label}: invalid {scheme} key: {e}")))
            })
            .collect()
    }
}

/// One line on stderr when a secret file is group- or world-readable (it is
/// still used: refusing would break scripts that work today).
#[cfg(unix)]
fn warn_if_readable(path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt as _;
    if let Ok(meta) = std::fs::metadata(path) {
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o044 != 0 {
            eprintln!(
                "twh: warning: --secret-file {}: readable by other users (mode {mode:04o}); \
                 run `chmod 600 {}`",
                path.display(),
                path.display()
            );
        }
    }
}

#[cfg(not(unix))]
fn warn_if_readable(_path: &std::path::Path) {}

/// Read the body from `--body-file` or stdin, byte for byte.
pub(crate) fn read_body(path: Option<&PathBuf>) -> Result<Vec<u8>, Failure> {
    match path {
        Some(path) => std::fs::read(path)
            .map_err(|e| Failure::usage(format_args!("--body-file {}: {e}", path.display()))),
        None => {
            let mut body = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut body)
                .map_err(|e| Failure::usage(format_args!("reading body from stdin: {e}")))?;
            Ok(body)
        }
    }
}
