//! `--cacert` trusts what curl trusts: a CA that signed the backend's certificate, or the
//! backend's own self-signed certificate, CA-style (`openssl req -x509`) or not; a file with no
//! certificate is refused at once. A certificate that is not trusted, and an https:// URL of a
//! plain-HTTP server, are said in plain words with what to do.

use crate::support::{
    Test, allow, anything, closed_port, contains, https_backend, self_signed, send_unsigned, starts,
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

/// `send` trusting `cacert`; [`send_unsigned`] alone trusts the system's CAs.
fn send(url: &str, cacert: &NamedTempFile, extra: &[&str]) -> Test {
    send_unsigned(url, &["--cacert"])
        .arg(cacert.path())
        .args(extra)
}

/// Runs `test`, which passes: exit 0, nothing on stderr.
#[track_caller]
fn passes(test: Test) {
    test.stdout(anything()).run();
}

#[test]
fn a_self_signed_end_entity_certificate_is_trusted() {
    let (cert, key) = self_signed("127.0.0.1", IsCa::NoCa);
    let url = backend(&cert, &key);
    let cacert = file(&cert.pem());
    passes(send(&url, &cacert, &[]));
}

#[test]
fn a_ca_style_self_signed_certificate_is_trusted_as_the_servers_own() {
    let (cert, key) = self_signed("127.0.0.1", ca_style());
    let url = backend(&cert, &key);
    let cacert = file(&cert.pem());
    passes(send(&url, &cacert, &[]));
    // Load mode over https goes through the same client.
    passes(send(&url, &cacert, &["-n", "3", "-c", "2"]));
    Test::new()
        .args(["check", "--only", "answer", "--url", &url, "--cacert"])
        .arg(cacert.path())
        .stdout(anything())
        .stderr(anything())
        .run();
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
    passes(send(&url, &file(&ca.pem()), &[]));
    // A file of several certificates: each is trusted.
    let (other, _) = self_signed("127.0.0.1", IsCa::NoCa);
    passes(send(&url, &file(&(other.pem() + &ca.pem())), &[]));
}

#[test]
fn a_pinned_certificate_must_still_name_the_host_and_be_the_one_presented() {
    let (cert, key) = self_signed("backend.example", ca_style());
    let url = backend(&cert, &key);
    send(&url, &file(&cert.pem()), &[])
        .status(3)
        .stdout(anything())
        .stderr(
            contains("the certificate of 127.0.0.1:")
                .contains("is for another host: certificate not valid for name")
                .contains(
                    "hint: give the URL with a host name the certificate names, or --insecure",
                ),
        )
        .run();

    let (presented, key) = self_signed("127.0.0.1", ca_style());
    let url = backend(&presented, &key);
    let (other, _) = self_signed("127.0.0.1", ca_style());
    let cacert = file(&other.pem());
    let untrusted = send(&url, &cacert, &[])
        .status(3)
        .stdout(anything())
        .stderr(anything())
        .run();
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
    send(&url, &file(&cert.pem()), &[])
        .status(3)
        .stdout(anything())
        .stderr(contains("expired"))
        .run();
}

#[test]
fn a_file_without_a_certificate_is_refused_at_once_even_for_http() {
    let key = KeyPair::generate().unwrap();
    let http = format!("http://127.0.0.1:{}/im", closed_port());
    for (_what, text) in [
        ("empty", String::new()),
        ("a key alone", key.serialize_pem()),
        ("garbage", "not a certificate\n".to_owned()),
    ] {
        let cacert = file(&text);
        let path = cacert.path().display().to_string();
        for extra in [&[][..], &["-n", "2"]] {
            send(&http, &cacert, extra)
                .status(2)
                .stderr(format!(
                    "oa-hook: error: no certificate in {path}\n  hint: --cacert takes a PEM file with a -----BEGIN CERTIFICATE----- block: the backend's own certificate (e.g. the one `openssl req -x509 -out cert.pem` wrote) or the CA that signed it\n"
                ))
                .run();
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
    send(&http, &broken, &[])
        .status(2)
        .stdout(anything())
        .stderr(starts(format!(
            "oa-hook: error: --cacert {} has a broken certificate: ",
            broken.path().display()
        )))
        .run();
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
        let port = url.split(':').nth(2).unwrap().trim_end_matches("/im");
        send_unsigned(&url, &[])
            .status(3)
            .stderr(format!(
                "oa-hook: error: the certificate of 127.0.0.1:{port} {said}  hint: for a self-signed backend pass --cacert FILE with its certificate (or the CA that signed it) as PEM, or --insecure to accept any certificate\n"
            ))
            .run();
        passes(send_unsigned(&url, &["--insecure"]));
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
    send_unsigned(&https, &[])
        .status(3)
        .stderr(said.as_str())
        .run();
    Test::new()
        .args(["check", "--url", &https])
        .status(3)
        .stdout(anything())
        .stderr(contains(said))
        .run();
    send_unsigned(&https, &["-n", "2"])
        .status(3)
        .stdout(anything())
        .stderr(contains("answered in plain HTTP, not TLS"))
        .run();
}
