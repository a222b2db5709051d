//! Usage errors exit 2; secrets are never echoed.

use crate::support::{keypair, twh};

#[test]
fn usage_errors_exit_2() {
    let (key, _) = keypair("standard");
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("unknown flag", vec!["sign", "--secret", &key, "--bogus"]),
        ("no key", vec!["sign"]),
        (
            "unknown scheme",
            vec!["sign", "--scheme", "svix", "--secret", &key],
        ),
        ("no header", vec!["verify", "--secret", &key]),
        (
            "header without colon",
            vec!["verify", "--secret", &key, "--header", "webhook-id msg"],
        ),
        (
            "zero tolerance",
            vec![
                "verify",
                "--secret",
                &key,
                "--header",
                "a: b",
                "--tolerance",
                "0",
            ],
        ),
        ("bad key text", vec!["sign", "--secret", "whsec_short"]),
        (
            "wrong key kind",
            vec!["sign", "--scheme", "standard-v1a", "--secret", &key],
        ),
        (
            "missing env var",
            vec!["sign", "--secret-env", "TWH_TEST_SURELY_UNSET_VAR"],
        ),
        (
            "missing file",
            vec!["sign", "--secret", &key, "--body-file", "/nonexistent/body"],
        ),
        ("bad id", vec!["sign", "--secret", &key, "--id", "a.b"]),
        ("no subcommand", vec![]),
    ];
    for (what, args) in cases {
        let run = twh(&args, &[], b"");
        assert_eq!(run.code, 2, "{what}: {}", run.stderr);
        assert!(!run.stderr.is_empty(), "{what}");
        assert!(
            !run.all().contains(&key["whsec_".len()..]),
            "{what} echoed the secret"
        );
    }
}

#[test]
fn invalid_secrets_are_not_echoed() {
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    for text in [
        format!(" {secret}"),
        format!("{secret}\n"),
        format!("{secret}!!"),
        format!("v1,{secret}"),
    ] {
        let run = twh(&["sign", "--secret-env", "K"], &[("K", &text)], b"x");
        assert_eq!(run.code, 2, "{text:?}");
        assert!(
            !run.all().contains("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            "{}",
            run.all()
        );
        assert!(run.stderr.contains("--secret-env K"), "{}", run.stderr);
    }
}

#[test]
fn help_warns_about_the_process_list() {
    for cmd in ["sign", "verify"] {
        let run = twh(&[cmd, "--help"], &[], b"");
        assert_eq!(run.code, 0);
        assert!(run.stdout.contains("process list"), "{}", run.stdout);
        assert!(run.stdout.contains("--secret-env") && run.stdout.contains("--secret-file"));
    }
}
