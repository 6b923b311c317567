//! HTTPS end to end with a certificate authority the test makes (rcgen): the API serves TLS,
//! the CLI trusts it with `--ca`, and nothing but loopback is served over plain HTTP.

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use serde_json::Value;

use crate::app::{Accord, accord, new_token, proposal};

/// A test CA and a server certificate it signed for `localhost` and 127.0.0.1, as PEM files.
pub(crate) struct TestCa {
    pub(crate) ca: PathBuf,
    pub(crate) cert: PathBuf,
    pub(crate) key: PathBuf,
    _dir: tempfile::TempDir,
}

impl TestCa {
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().expect("dir");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "accord test CA");
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().expect("a key"))
            .expect("the CA");
        let key = KeyPair::generate().expect("a key");
        let leaf = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .expect("params")
            .signed_by(&key, &ca)
            .expect("the server certificate");
        let write = |name: &str, text: String| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).expect("write");
            path
        };
        Self {
            ca: write("ca.pem", ca.pem()),
            cert: write("cert.pem", leaf.pem()),
            key: write("key.pem", key.serialize_pem()),
            _dir: dir,
        }
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8")
}

/// `accord up --tls-cert --tls-key` serves HTTPS on any address; the CLI records and reads
/// through it with `--ca`, and refuses a server its CA did not sign.
#[test]
fn the_api_serves_https_to_a_client_that_trusts_its_ca() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().expect("dir");
    let tokens = dir.path().join("tokens.json");
    let acme = new_token(&tokens, "acme", "writer", "acme-crm");
    let a = Accord::up(&[
        "--tokens",
        path(&tokens),
        "--http",
        "0.0.0.0:0",
        "--tls-cert",
        path(&ca.cert),
        "--tls-key",
        path(&ca.key),
    ]);
    assert!(a.url.starts_with("https://0.0.0.0:"), "{}", a.url);
    let url = a.url.replace("0.0.0.0", "127.0.0.1");
    let file = dir.path().join("proposal.json");
    std::fs::write(&file, proposal().to_string()).expect("write");
    let ca_pem = path(&ca.ca);
    let client = ["--server", url.as_str(), "--token", acme.as_str()];
    let (code, out, err) = accord(
        &[
            &[
                "record",
                "acme-stmary",
                "--file",
                path(&file),
                "--ca",
                ca_pem,
            ][..],
            &client,
        ]
        .concat(),
    );
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = accord(
        &[
            &["history", "acme-stmary", "--json", "--ca", ca_pem][..],
            &client,
        ]
        .concat(),
    );
    assert_eq!(code, 0, "{out}{err}");
    let answer: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(answer["events"][0]["type"], "partnership_proposed");

    // Without the CA the system's roots do not know the certificate: nothing is sent.
    let (code, _, err) = accord(&[&["history", "acme-stmary"][..], &client].concat());
    assert_eq!(code, 1, "an unknown certificate is a failure: {err}");
    // Plain HTTP to the TLS port gets no answer.
    let plain = url.replace("https://", "http://");
    let (code, _, err) = accord(&[
        "history",
        "acme-stmary",
        "--server",
        &plain,
        "--token",
        &acme,
    ]);
    assert_eq!(code, 1, "{err}");
}

/// Beyond loopback the API needs TLS, or `--insecure-http` said out loud (behind a proxy that
/// terminates TLS), so that bearer tokens never cross a network in the clear.
#[test]
fn plain_http_beyond_loopback_needs_insecure_http() {
    let dir = tempfile::tempdir().expect("dir");
    let tokens = dir.path().join("tokens.json");
    let acme = new_token(&tokens, "acme", "writer", "acme-crm");
    let store = dir.path().join("store");
    let (code, _, err) = accord(&[
        "up",
        "--tokens",
        path(&tokens),
        "--http",
        "0.0.0.0:0",
        "--data-dir",
        path(&store),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("refusing to listen on 0.0.0.0:0 over plain HTTP"),
        "{err}"
    );
    let a = Accord::up(&[
        "--tokens",
        path(&tokens),
        "--http",
        "0.0.0.0:0",
        "--insecure-http",
    ]);
    assert!(a.url.starts_with("http://0.0.0.0:"), "{}", a.url);
    // Browsers come through the proxy's HTTPS: the dashboard's sign-in cookie is Secure.
    let cookie = sign_in_cookie(&a.url.replace("0.0.0.0", "127.0.0.1"), &acme);
    assert!(cookie.ends_with("; Secure"), "{cookie}");
    // On loopback without TLS (a person trying it on their machine), it cannot be.
    let local = Accord::up(&["--tokens", path(&tokens)]);
    let cookie = sign_in_cookie(&local.url, &acme);
    assert!(
        cookie.contains("HttpOnly; SameSite=Strict") && !cookie.contains("Secure"),
        "{cookie}"
    );
}

/// The cookie the dashboard sets when `token` signs in on `url`.
fn sign_in_cookie(url: &str, token: &str) -> String {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        // As `app::http` does: the provider the binary uses, installed once per process.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let response = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a client")
            .post(format!("{url}/sign-in"))
            // A token is `acc_` and hex digits: nothing to escape in a form.
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(format!("token={token}"))
            .send()
            .await
            .expect("an answer");
        assert_eq!(response.status(), reqwest::StatusCode::SEE_OTHER);
        response
            .headers()
            .get(reqwest::header::SET_COOKIE)
            .expect("a cookie")
            .to_str()
            .expect("ascii")
            .to_owned()
    })
}
