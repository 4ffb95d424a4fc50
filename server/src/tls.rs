//! TLS of the gRPC listener from `[tls]`: the server identity and, for mTLS, the client CA.

use std::sync::Arc;

use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use crate::config::TlsSettings;

/// The one crypto provider of the process: ring (rustls, the Graph API client and the database
/// driver all use it; aws-lc-rs is not built).
pub(crate) fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Installs [`provider`] as the process default (once; later calls change nothing). reqwest is
/// built without a provider of its own: this must run before any `reqwest::Client` is built.
pub fn install_provider() {
    let _ = rustls::crypto::CryptoProvider::install_default(Arc::unwrap_or_clone(provider()));
}

fn read(path: &std::path::Path, what: &str) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| anyhow::anyhow!("tls {what} {}: {e}", path.display()))
}

fn certs(pem: &[u8], what: &str) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("tls {what}: {e}"))?;
    anyhow::ensure!(!certs.is_empty(), "tls {what}: no certificate in it");
    Ok(certs)
}

/// The listener's TLS acceptor: HTTP/2 only (gRPC), client certificates verified against
/// `client_ca_file` when set (required with `require_client_cert`).
pub(crate) fn acceptor(tls: &TlsSettings) -> anyhow::Result<TlsAcceptor> {
    let chain = certs(&read(&tls.cert_file, "cert_file")?, "cert_file")?;
    let key = PrivateKeyDer::from_pem_slice(&read(&tls.key_file, "key_file")?)
        .map_err(|e| anyhow::anyhow!("tls key_file: {e}"))?;
    let builder = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?;
    let builder = match &tls.client_ca_file {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in certs(&read(ca, "client_ca_file")?, "client_ca_file")? {
                roots.add(c)?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(roots.into(), provider());
            let verifier = match tls.require_client_cert {
                true => verifier.build()?,
                false => verifier.allow_unauthenticated().build()?,
            };
            builder.with_client_cert_verifier(verifier)
        }
        None if tls.require_client_cert || !tls.clients.is_empty() => {
            anyhow::bail!("configuration: tls client certificates need client_ca_file")
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
