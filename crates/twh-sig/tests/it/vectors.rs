//! Known-answer vectors from `tests/data/<alg>_<source>.txt`, one test per file.
//!
//! File format: `#` comments, records introduced by `[vector]`, `key = value`
//! fields, and `header <name> = <value>` for expected headers.

use twh_sig::http::{HeaderMap, HeaderName, HeaderValue};
use twh_sig::{Message, Scheme, SignKey, Signer, Verifier, VerifyError, VerifyKey, WebhookSecret};

struct Vector {
    line: usize,
    fields: Vec<(String, String)>,
    headers: Vec<(String, String)>,
}

impl Vector {
    fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn hex(&self, key: &str) -> Vec<u8> {
        hex::decode(self.get(key).unwrap()).unwrap()
    }

    fn body(&self) -> Vec<u8> {
        match (self.get("body"), self.get("body_hex")) {
            (Some(text), None) => text.as_bytes().to_vec(),
            (None, Some(_)) => self.hex("body_hex"),
            (None, None) => Vec::new(),
            (Some(_), Some(_)) => panic!("vector at line {}: body and body_hex", self.line),
        }
    }
}

fn parse(text: &str) -> Vec<Vector> {
    let mut out: Vec<Vector> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if line == "[vector]" {
            out.push(Vector {
                line: n + 1,
                fields: Vec::new(),
                headers: Vec::new(),
            });
            continue;
        }
        let (key, value) = line
            .split_once(" = ")
            .unwrap_or_else(|| panic!("line {}: expected `key = value`", n + 1));
        let vector = out.last_mut().expect("field before [vector]");
        match key.strip_prefix("header ") {
            Some(name) => vector.headers.push((name.to_owned(), value.to_owned())),
            None => vector.fields.push((key.to_owned(), value.to_owned())),
        }
    }
    assert!(!out.is_empty(), "no vectors in file");
    out
}

fn header_map(pairs: &[(String, String)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    map
}

/// RFC 4231 HMAC-SHA256 cases, run through the GitHub scheme (HMAC of the body, hex).
fn run_hmac(file: &str, text: &str) {
    for (i, v) in parse(text).iter().enumerate() {
        let ctx = format!("{file} vector #{i} (line {})", v.line);
        let key = WebhookSecret::from_bytes(&v.hex("key_hex")).unwrap();
        let data = v.hex("data_hex");
        let mac_hex = v.get("mac_hex").unwrap();
        let signer = Signer::new(Scheme::GitHub, [key.clone()]).unwrap();
        let signed = signer.sign(&Message::new("", 0, &data)).unwrap();
        let header = signed.get("x-hub-signature-256").unwrap().to_str().unwrap();
        assert!(
            header.starts_with(&format!("sha256={mac_hex}")),
            "{ctx}: got {header}"
        );

        let verifier = Verifier::new(Scheme::GitHub, [key]).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-hub-signature-256",
            HeaderValue::from_str(&format!("sha256={mac_hex}")).unwrap(),
        );
        let result = verifier.verify(&headers, &data);
        if mac_hex.len() == 64 {
            assert!(result.is_ok(), "{ctx}: {result:?}");
        } else {
            // A truncated MAC never matches.
            assert_eq!(result, Err(VerifyError::NoMatchingSignature), "{ctx}");
        }
    }
}

/// Scheme vectors: signing reproduces every listed header (unless
/// `verify_only`), and the listed headers verify at the vector's timestamp.
fn run_scheme(file: &str, text: &str) {
    for (i, v) in parse(text).iter().enumerate() {
        let ctx = format!("{file} vector #{i} (line {})", v.line);
        let scheme: Scheme = v.get("scheme").unwrap().parse().unwrap();
        let secret = v.get("secret").unwrap();
        let body = v.body();
        let id = v.get("id").unwrap_or("");
        let timestamp: u64 = v.get("timestamp").map_or(0, |t| t.parse().unwrap());

        if v.get("verify_only").is_none() {
            let signer = Signer::new(scheme, [SignKey::parse(secret, scheme).unwrap()]).unwrap();
            let signed = signer.sign(&Message::new(id, timestamp, &body)).unwrap();
            for (name, want) in &v.headers {
                let got = signed
                    .get(name)
                    .unwrap_or_else(|| panic!("{ctx}: no {name}"));
                assert_eq!(got, want.as_str(), "{ctx}: header {name}");
            }
        }

        let mut pairs = v.headers.clone();
        if matches!(scheme, Scheme::Standard | Scheme::StandardV1a) {
            for (name, value) in [
                ("webhook-id", id.to_owned()),
                ("webhook-timestamp", timestamp.to_string()),
            ] {
                if !pairs.iter().any(|(n, _)| n == name) {
                    pairs.push((name.to_owned(), value));
                }
            }
        }
        let headers = header_map(&pairs);
        let key = VerifyKey::parse(v.get("public").unwrap_or(secret), scheme).unwrap();
        let key_id = key.key_id();
        let verifier = Verifier::new(scheme, [key]).unwrap();
        let verified = verifier
            .verify_at(&headers, &body, timestamp + 1)
            .unwrap_or_else(|e| panic!("{ctx}: {e}"));
        assert_eq!(verified.key_id, key_id, "{ctx}");
        assert_eq!(verified.scheme, scheme, "{ctx}");
        if scheme.uses_timestamp() {
            assert_eq!(verified.timestamp, Some(timestamp), "{ctx}");
        }
        let mut tampered = body.clone();
        tampered.push(b' ');
        assert_eq!(
            verifier.verify_at(&headers, &tampered, timestamp),
            Err(VerifyError::NoMatchingSignature),
            "{ctx}: tampered body"
        );
    }
}

macro_rules! vector_files {
    ($($test:ident => $runner:ident($file:literal);)*) => {
        $(
            #[test]
            fn $test() {
                $runner($file, include_str!(concat!("../data/", $file)));
            }
        )*
    };
}

vector_files! {
    hmac_sha256_rfc4231 => run_hmac("hmac-sha256_rfc4231.txt");
    standard_v1_standardwebhooks => run_scheme("standard-v1_standardwebhooks.txt");
    standard_v1a_python_cryptography => run_scheme("standard-v1a_python-cryptography.txt");
    github_docs => run_scheme("github_docs.txt");
    slack_docs => run_scheme("slack_docs.txt");
    stripe_python_hmac => run_scheme("stripe_python-hmac.txt");
    shopify_python_hmac => run_scheme("shopify_python-hmac.txt");
}
