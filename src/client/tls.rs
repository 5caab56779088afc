//! What `--cacert` trusts, as curl does: the certificates in the file, each either a CA that
//! signed the backend's certificate or the backend's own certificate, pinned.

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
    let internal = |e: rustls::Error| Error::usage(format!("internal error: TLS set-up: {e}"));
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
