//! TLS of the gRPC listener from `[tls]`: the server identity and, for mTLS, the client CA.

use crate::config::TlsSettings;
use tonic::transport::{Certificate, Identity, ServerTlsConfig};

fn read(path: &std::path::Path, what: &str) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| anyhow::anyhow!("tls {what} {}: {e}", path.display()))
}

/// The listener's TLS configuration. rustls's process-wide crypto provider is set first
/// (several are compiled in; the listener needs one chosen).
pub(crate) fn server_config(tls: &TlsSettings) -> anyhow::Result<ServerTlsConfig> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let identity = Identity::from_pem(
        read(&tls.cert_file, "cert_file")?,
        read(&tls.key_file, "key_file")?,
    );
    let mut config = ServerTlsConfig::new().identity(identity);
    if let Some(ca) = &tls.client_ca_file {
        config = config
            .client_ca_root(Certificate::from_pem(read(ca, "client_ca_file")?))
            .client_auth_optional(!tls.require_client_cert);
    } else if tls.require_client_cert || !tls.clients.is_empty() {
        anyhow::bail!("configuration: tls client certificates need client_ca_file");
    }
    Ok(config)
}
