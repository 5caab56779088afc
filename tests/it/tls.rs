//! `--cacert` trusts what curl trusts: a CA that signed the backend's certificate, or the
//! backend's own self-signed certificate, CA-style (`openssl req -x509`) or not; a file with no
//! certificate is refused at once. A certificate that is not trusted, and an https:// URL of a
//! plain-HTTP server, are said in plain words with what to do.

use crate::support::{
    Run, Test, allow, anything, assert_contains, assert_starts, closed_port, contains,
    https_backend, oa_hook, run, self_signed,
};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use tempfile::NamedTempFile;

/// `openssl req -x509` writes `basicConstraints = critical, CA:TRUE`.
fn ca_style() -> IsCa {
    IsCa::Ca(BasicConstraints::Unconstrained)
}

fn backend(cert: &rcgen::Certificate, key: &KeyPair) -> String {
    https_backend(cert, key, allow())
}

fn file(text: &str) -> NamedTempFile {
    let file = NamedTempFile::new().unwrap();
    std::fs::write(file.path(), text).unwrap();
    file
}

fn send(url: &str, cacert: &NamedTempFile, extra: &[&str]) -> Run {
    run(oa_hook()
        .args([
            "send",
            "before-subscribe",
            "--no-sign",
            "--url",
            url,
            "--cacert",
        ])
        .arg(cacert.path())
        .args(extra))
}

#[track_caller]
fn assert_passes(run: &Run) {
    assert_eq!(
        run.code, 0,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
}

#[test]
fn a_self_signed_end_entity_certificate_is_trusted() {
    let (cert, key) = self_signed("127.0.0.1", IsCa::NoCa);
    let url = backend(&cert, &key);
    let cacert = file(&cert.pem());
    assert_passes(&send(&url, &cacert, &[]));
}

#[test]
fn a_ca_style_self_signed_certificate_is_trusted_as_the_servers_own() {
    let (cert, key) = self_signed("127.0.0.1", ca_style());
    let url = backend(&cert, &key);
    let cacert = file(&cert.pem());
    assert_passes(&send(&url, &cacert, &[]));
    // Load mode over https goes through the same client.
    assert_passes(&send(&url, &cacert, &["-n", "3", "-c", "2"]));
    let check = run(oa_hook()
        .args(["check", "--only", "answer", "--url", &url, "--cacert"])
        .arg(cacert.path()));
    assert_passes(&check);
}

#[test]
fn a_ca_that_signed_the_servers_certificate_is_trusted() {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = ca_style();
    let ca_key = KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let url = backend(&cert, &key);
    assert_passes(&send(&url, &file(&ca.pem()), &[]));
    // A file of several certificates: each is trusted.
    let (other, _) = self_signed("127.0.0.1", IsCa::NoCa);
    assert_passes(&send(&url, &file(&(other.pem() + &ca.pem())), &[]));
}

#[test]
fn a_pinned_certificate_must_still_name_the_host_and_be_the_one_presented() {
    let (cert, key) = self_signed("backend.example", ca_style());
    let url = backend(&cert, &key);
    let wrong_name = send(&url, &file(&cert.pem()), &[]);
    assert_eq!(wrong_name.code, 3, "{}", wrong_name.stderr);
    assert_contains(&wrong_name.stderr, "the certificate of 127.0.0.1:");
    assert_contains(
        &wrong_name.stderr,
        "is for another host: certificate not valid for name",
    );
    assert_contains(
        &wrong_name.stderr,
        "hint: give the URL with a host name the certificate names, or --insecure",
    );

    let (presented, key) = self_signed("127.0.0.1", ca_style());
    let url = backend(&presented, &key);
    let (other, _) = self_signed("127.0.0.1", ca_style());
    let cacert = file(&other.pem());
    let untrusted = send(&url, &cacert, &[]);
    assert_eq!(untrusted.code, 3, "{}", untrusted.stderr);
    let port = url.split(':').nth(2).unwrap().trim_end_matches("/im");
    assert_eq!(
        untrusted.stderr,
        format!(
            "oa-hook: error: the certificate of 127.0.0.1:{port} is a CA certificate (CA:TRUE, as `openssl req -x509` makes one) used as the server's own, and not the one --cacert holds\n  hint: give --cacert the certificate the backend presents or the CA that signed it ({} holds neither), or --insecure to accept any certificate\n",
            cacert.path().display()
        )
    );
}

#[test]
fn an_expired_pinned_certificate_is_refused() {
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    params.is_ca = ca_style();
    params.not_after = rcgen::date_time_ymd(2000, 1, 1);
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let url = backend(&cert, &key);
    let expired = send(&url, &file(&cert.pem()), &[]);
    assert_eq!(expired.code, 3, "{}", expired.stderr);
    assert_contains(&expired.stderr, "expired");
}

#[test]
fn a_file_without_a_certificate_is_refused_at_once_even_for_http() {
    let key = KeyPair::generate().unwrap();
    let http = format!("http://127.0.0.1:{}/im", closed_port());
    for (what, text) in [
        ("empty", String::new()),
        ("a key alone", key.serialize_pem()),
        ("garbage", "not a certificate\n".to_owned()),
    ] {
        let cacert = file(&text);
        let path = cacert.path().display().to_string();
        for extra in [&[][..], &["-n", "2"]] {
            let run = send(&http, &cacert, extra);
            assert_eq!(
                (run.code, run.stdout.as_str()),
                (2, ""),
                "{what} {extra:?}: {}",
                run.stderr
            );
            assert_eq!(
                run.stderr,
                format!(
                    "oa-hook: error: no certificate in {path}\n  hint: --cacert takes a PEM file with a -----BEGIN CERTIFICATE----- block: the backend's own certificate (e.g. the one `openssl req -x509 -out cert.pem` wrote) or the CA that signed it\n"
                ),
                "{what} {extra:?}"
            );
        }
        Test::new()
            .args(["check", "--url", &http, "--cacert"])
            .arg(cacert.path())
            .status(2)
            .stdout(anything())
            .stderr(contains(format!("no certificate in {path}")))
            .run();
    }
    let broken = file("-----BEGIN CERTIFICATE-----\n%%%\n-----END CERTIFICATE-----\n");
    let run = send(&http, &broken, &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_starts(
        &run.stderr,
        &format!(
            "oa-hook: error: --cacert {} has a broken certificate: ",
            broken.path().display()
        ),
    );
}

/// `send` with no --cacert: the system's CAs.
fn send_trusting_the_system(url: &str, extra: &[&str]) -> Run {
    run(oa_hook()
        .args(["send", "before-subscribe", "--no-sign", "--url", url])
        .args(extra))
}

#[test]
fn a_self_signed_certificate_is_said_so_with_cacert_and_insecure_in_the_hint() {
    for (is_ca, said) in [
        (
            IsCa::NoCa,
            "is not signed by a CA this machine trusts: self-signed, or signed by a CA of your own\n",
        ),
        (
            ca_style(),
            "is a CA certificate (CA:TRUE, as `openssl req -x509` makes one) used as the server's own, which no CA this machine trusts signed\n",
        ),
    ] {
        let (cert, key) = self_signed("127.0.0.1", is_ca);
        let url = backend(&cert, &key);
        let refused = send_trusting_the_system(&url, &[]);
        assert_eq!(
            (refused.code, refused.stdout.as_str()),
            (3, ""),
            "{}",
            refused.stderr
        );
        let port = url.split(':').nth(2).unwrap().trim_end_matches("/im");
        assert_eq!(
            refused.stderr,
            format!(
                "oa-hook: error: the certificate of 127.0.0.1:{port} {said}  hint: for a self-signed backend pass --cacert FILE with its certificate (or the CA that signed it) as PEM, or --insecure to accept any certificate\n"
            )
        );
        assert_passes(&send_trusting_the_system(&url, &["--insecure"]));
    }
}

#[test]
fn an_https_url_on_a_plain_http_port_is_told_to_use_http() {
    let serve = Test::serve().args(["-q"]).start();
    let port = serve.url.rsplit(':').next().unwrap();
    let https = format!("https://127.0.0.1:{port}/im");
    let said = format!(
        "oa-hook: error: the server at 127.0.0.1:{port} answered in plain HTTP, not TLS\n  hint: it serves http:// there: give http://127.0.0.1:{port}/im\n"
    );
    let refused = send_trusting_the_system(&https, &[]);
    assert_eq!(
        (
            refused.code,
            refused.stdout.as_str(),
            refused.stderr.as_str()
        ),
        (3, "", said.as_str())
    );
    Test::new()
        .args(["check", "--url", &https])
        .status(3)
        .stdout(anything())
        .stderr(contains(said))
        .run();
    let load = send_trusting_the_system(&https, &["-n", "2"]);
    assert_eq!(load.code, 3, "{}", load.stderr);
    assert_contains(&load.stderr, "answered in plain HTTP, not TLS");
}
