//! What `--cacert` trusts, as curl does: the certificates in the file, each either a CA that
//! signed the backend's certificate or the backend's own certificate, pinned. And why a TLS
//! handshake failed, in plain words.

use super::TransportError;
use crate::error::{Error, Result};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{WebPkiServerVerifier, verify_server_name};
use rustls::crypto::{
    CryptoProvider, WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::path::Path;
use std::sync::Arc;
use url::Url;

/// The certificates of the PEM file `path`; an error when it has none, whatever else it has.
pub(super) fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let hint = "--cacert takes a PEM file with a -----BEGIN CERTIFICATE----- block: the backend's own certificate (e.g. the one `openssl req -x509 -out cert.pem` wrote) or the CA that signed it";
    let pem = std::fs::read(path).map_err(|e| {
        Error::usage(format!("cannot read --cacert {}: {e}", path.display())).hint(hint)
    })?;
    let certificates = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            Error::usage(format!(
                "--cacert {} has a broken certificate: {e}",
                path.display()
            ))
            .hint(hint)
        })?;
    if certificates.is_empty() {
        return Err(Error::usage(format!("no certificate in {}", path.display())).hint(hint));
    }
    Ok(certificates)
}

/// A TLS client configuration that trusts `certificates` alone, for HTTP/1.1.
pub(super) fn client_config(
    certificates: Vec<CertificateDer<'static>>,
) -> Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let internal = |e: rustls::Error| Error::internal(format!("TLS set-up: {e}"));
    let verifier = Trusted::new(certificates, &provider);
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(internal)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Verifies as webpki does with the given certificates as roots, and also accepts a server
/// that presents exactly one of them. webpki refuses a root used as the server's own
/// certificate when it says CA:TRUE (as `openssl req -x509` makes them: CaUsedAsEndEntity),
/// and a server certificate given without its CA (UnknownIssuer); curl trusts both.
#[derive(Debug)]
struct Trusted {
    pinned: Vec<CertificateDer<'static>>,
    /// `None` when no certificate of the file can be a root; only the pins are trusted then.
    webpki: Option<Arc<WebPkiServerVerifier>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl Trusted {
    fn new(certificates: Vec<CertificateDer<'static>>, provider: &Arc<CryptoProvider>) -> Self {
        let mut roots = RootCertStore::empty();
        // A certificate that cannot be a root (webpki cannot parse it as one) can still be
        // pinned.
        roots.add_parsable_certificates(certificates.iter().cloned());
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .ok();
        Trusted {
            pinned: certificates,
            webpki,
            algorithms: provider.signature_verification_algorithms,
        }
    }

    fn pins(&self, end_entity: &CertificateDer<'_>) -> bool {
        self.pinned
            .iter()
            .any(|c| c.as_ref() == end_entity.as_ref())
    }
}

impl ServerCertVerifier for Trusted {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verified = match &self.webpki {
            Some(webpki) => webpki.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            ),
            None => Err(CertificateError::UnknownIssuer.into()),
        };
        match verified {
            // Only these: webpki checks the validity period before them, so an expired pin
            // stays refused; the name it would have checked after them is checked here.
            Err(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer | CertificateError::Other(_),
            )) if self.pins(end_entity) => {
                verify_server_name(&ParsedCertificate::try_from(end_entity)?, server_name)?;
                Ok(ServerCertVerified::assertion())
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// rustls's error among `e`'s causes. It comes wrapped in `io::Error`s, whose `source` is the
/// wrapped error's own source, not the error itself: it is looked for inside them too.
pub(super) fn rustls_error<'e>(
    e: &'e (dyn std::error::Error + 'static),
) -> Option<&'e rustls::Error> {
    fn inside<'e>(e: &'e (dyn std::error::Error + 'static)) -> Option<&'e rustls::Error> {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        let wrapped: &(dyn std::error::Error + 'static) =
            e.downcast_ref::<std::io::Error>()?.get_ref()?;
        inside(wrapped)
    }
    super::error::causes(e).find_map(inside)
}

/// Why the TLS handshake with `target` (host:port, of `url`) failed, in plain words, with what
/// to do: `--cacert` and `--insecure` where the certificate is not trusted, `cacert` being the
/// file given, if one was.
pub(super) fn explain(
    error: &rustls::Error,
    target: &str,
    url: Option<&Url>,
    cacert: Option<&Path>,
) -> TransportError {
    let insecure = "or --insecure to accept any certificate";
    let (message, hint) = match error {
        rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType) => (
            format!("the server at {target} answered in plain HTTP, not TLS"),
            match url.and_then(plain_http) {
                Some(plain) => format!("it serves http:// there: give {plain}"),
                None => "it serves http:// there: give the URL with http://".to_owned(),
            },
        ),
        rustls::Error::InvalidCertificate(certificate) => {
            let of = format!("the certificate of {target}");
            let untrusted = match cacert {
                Some(file) => format!(
                    "give --cacert the certificate the backend presents or the CA that signed it ({} holds neither), {insecure}",
                    file.display()
                ),
                None => format!(
                    "for a self-signed backend pass --cacert FILE with its certificate (or the CA that signed it) as PEM, {insecure}"
                ),
            };
            match certificate {
                CertificateError::UnknownIssuer => (
                    match cacert {
                        Some(_) => format!("{of} is not one --cacert trusts"),
                        None => format!(
                            "{of} is not signed by a CA this machine trusts: self-signed, or signed by a CA of your own"
                        ),
                    },
                    untrusted,
                ),
                CertificateError::Other(other)
                    if other.to_string().contains("CaUsedAsEndEntity") =>
                {
                    (
                        format!(
                            "{of} is a CA certificate (CA:TRUE, as `openssl req -x509` makes one) used as the server's own, {}",
                            match cacert {
                                Some(_) => "and not the one --cacert holds",
                                None => "which no CA this machine trusts signed",
                            }
                        ),
                        untrusted,
                    )
                }
                CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. } => (
                    format!("{of} is for another host: {certificate}"),
                    format!("give the URL with a host name the certificate names, {insecure}"),
                ),
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => (
                    format!("{of} has expired: {certificate}"),
                    format!("renew the backend's certificate, {insecure}"),
                ),
                CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => (
                    format!("{of} is not valid yet: {certificate}"),
                    format!("check the clocks of both machines, {insecure}"),
                ),
                other => (format!("{of} is refused: {other}"), untrusted),
            }
        }
        other => (
            format!("TLS handshake with {target} failed: {other}"),
            format!(
                "check that the backend serves TLS on that port; for a self-signed one pass --cacert FILE, {insecure}"
            ),
        ),
    };
    TransportError::Unreachable { message, hint }
}

/// `url` with http:// for https://, at the same port (443 written out when it was implied),
/// without the query (Chat's, which oa-hook adds).
fn plain_http(url: &Url) -> Option<Url> {
    let mut plain = url.clone();
    plain.set_query(None);
    if plain.port().is_none() {
        plain.set_port(plain.port_or_known_default()).ok()?;
    }
    plain.set_scheme("http").ok()?;
    Some(crate::output::masked(&plain))
}
