//! TLS for a unit's two connections (`https://` reports and the `wss://` command channel).
//!
//! One rustls configuration serves both, so the position reports and the command channel
//! trust exactly the same servers. It trusts the Mozilla roots compiled in (`webpki-roots`:
//! a unit has no system certificate store worth the name) plus any certificate authority the
//! fleet operator configures for a private PKI. The crypto provider is named here rather than
//! taken from a process-wide default, so nothing else in the process can change what a unit
//! accepts.

use std::sync::Arc;

use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use super::UnitError;

/// The client configuration trusting the public roots and `extra_roots`.
pub(crate) fn client_config(
    extra_roots: &[CertificateDer<'static>],
) -> Result<Arc<ClientConfig>, UnitError> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for certificate in extra_roots {
        roots.add(certificate.clone()).map_err(|error| {
            UnitError::Config(format!("unusable certificate authority: {error}"))
        })?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| UnitError::Config(format!("TLS setup: {error}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Reads every certificate of a PEM bundle (a CA file as operators hand them out).
pub fn certificates_from_pem(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, UnitError> {
    let certificates = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| UnitError::Config(format!("unreadable PEM certificate: {error}")))?;
    if certificates.is_empty() {
        return Err(UnitError::Config(
            "the PEM file holds no certificate".into(),
        ));
    }
    Ok(certificates)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pem_without_certificates_is_refused() {
        assert!(matches!(
            certificates_from_pem(b"not a certificate"),
            Err(UnitError::Config(_))
        ));
    }

    #[test]
    fn a_generated_authority_is_read_and_trusted() {
        let key = rcgen::KeyPair::generate().unwrap();
        let authority = rcgen::CertificateParams::new(Vec::<String>::new())
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let certificates = certificates_from_pem(authority.pem().as_bytes()).unwrap();
        assert_eq!(certificates.len(), 1);
        assert!(client_config(&certificates).is_ok());
    }
}
