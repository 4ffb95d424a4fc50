//! TLS on the gRPC listener (`[tls]`), and the client certificates accepted in place of an API
//! key (mTLS, `[[tls.clients]]`).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// `[tls]`: the server's certificate and key (PEM), and optionally the CA that signs client
/// certificates.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    /// The server's certificate chain (PEM).
    pub cert_file: PathBuf,
    /// The server's private key (PEM).
    pub key_file: PathBuf,
    /// The CA whose client certificates are verified (mTLS); none: no client certificates.
    #[serde(default)]
    pub client_ca_file: Option<PathBuf>,
    /// Refuse connections without a client certificate signed by `client_ca_file` (otherwise a
    /// caller may present a certificate or an API key).
    #[serde(default)]
    pub require_client_cert: bool,
    /// Who a verified client certificate is, by its subject common name.
    #[serde(default)]
    pub clients: Vec<ClientIdentity>,
}

/// `[[tls.clients]]`: a caller known by its client certificate.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClientIdentity {
    /// The certificate's subject CN; the caller is recorded as `cert:<common_name>`.
    pub common_name: String,
    /// Scopes, as for API keys: `read`, `consent`, `send`, `erase`.
    pub scopes: Vec<String>,
    /// The pages it may act on; none: every page.
    #[serde(default)]
    pub pages: Option<Vec<String>>,
}
