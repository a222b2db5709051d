//! Running the binary.

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    /// Everything the process printed.
    pub(crate) fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// Run `twh args…` with `env` set and `stdin` piped in.
pub(crate) fn twh(args: &[&str], env: &[(&str, &str)], stdin: &[u8]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_twh"))
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The process may exit before reading stdin (usage errors): that is fine.
    if let Err(e) = child.stdin.take().unwrap().write_all(stdin) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().unwrap();
    Run {
        code: status.code().unwrap(),
        stdout: String::from_utf8(stdout).unwrap(),
        stderr: String::from_utf8(stderr).unwrap(),
    }
}

/// `--header` arguments from `twh sign` output.
pub(crate) fn header_args(signed: &str) -> Vec<String> {
    signed
        .lines()
        .flat_map(|line| ["--header".to_owned(), line.to_owned()])
        .collect()
}

pub(crate) fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// A fresh secret for `scheme` from `twh secret generate`: (sign text, verify text).
pub(crate) fn keypair(scheme: &str) -> (String, String) {
    match scheme {
        "standard-v1a" => {
            let out = twh(&["secret", "generate", "--asymmetric"], &[], b"");
            assert_eq!(out.code, 0);
            let mut lines = out.stdout.lines();
            (
                lines.next().unwrap().to_owned(),
                lines.next().unwrap().to_owned(),
            )
        }
        "standard" => {
            let out = twh(&["secret", "generate"], &[], b"");
            assert_eq!(out.code, 0);
            let s = out.stdout.trim().to_owned();
            (s.clone(), s)
        }
        _ => {
            let out = twh(&["secret", "generate", "--format", "hex"], &[], b"");
            assert_eq!(out.code, 0);
            let s = out.stdout.trim().to_owned();
            (s.clone(), s)
        }
    }
}

pub(crate) const SCHEMES: [&str; 6] = [
    "standard",
    "standard-v1a",
    "stripe",
    "github",
    "shopify",
    "slack",
];
