//! TLS termination in the gateway (`[gateway.tls]`): a rustls server configuration from PEM files
//! (certificate chain and private key), HTTP/1.1 over ALPN, TLS 1.2 and 1.3 with rustls's safe
//! defaults. Loaded at start and again on every SIGHUP, so a renewed certificate is picked up
//! without a restart.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Which file of `[gateway.tls]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsSetting {
    /// `cert`: the certificate chain.
    Cert,
    /// `key`: the private key.
    Key,
    /// The pair as a whole.
    Pair,
}

impl TlsSetting {
    /// The dotted key in `vigil.toml`.
    pub fn key(self) -> &'static str {
        match self {
            TlsSetting::Cert => "gateway.tls.cert",
            TlsSetting::Key => "gateway.tls.key",
            TlsSetting::Pair => "gateway.tls",
        }
    }
}

/// A certificate or key file that cannot serve TLS; names the file, never its content.
#[derive(Debug, thiserror::Error)]
#[error("{}: {problem}", path.display())]
pub struct TlsError {
    /// The setting that names the file.
    pub setting: TlsSetting,
    /// The file.
    pub path: PathBuf,
    /// What is wrong.
    pub problem: TlsProblem,
}

/// What is wrong with a PEM file or the pair.
#[derive(Debug, thiserror::Error)]
pub enum TlsProblem {
    /// The file cannot be read.
    #[error("cannot read ({0})")]
    Read(std::io::Error),
    /// No PEM block of the kind looked for.
    #[error("no PEM block of the expected kind")]
    NoPemBlock,
    /// A section without an END line.
    #[error("not valid PEM (a section has no END line)")]
    MissingSectionEnd,
    /// A malformed BEGIN line.
    #[error("not valid PEM (a malformed BEGIN line)")]
    IllegalSectionStart,
    /// Bad base64 inside a block.
    #[error("not valid PEM (bad base64)")]
    Base64,
    /// Another PEM problem.
    #[error("not valid PEM")]
    NotPem,
    /// A certificate file without a certificate.
    #[error("no CERTIFICATE block")]
    NoCertificate,
    /// rustls refuses the protocol versions.
    #[error("{0}")]
    Protocols(rustls::Error),
    /// The key does not belong to the certificate.
    #[error("does not fit the certificate ({0})")]
    Mismatch(rustls::Error),
}

/// Reads `cert` and `key` (PEM) into a server configuration; errors name the setting and the
/// file, never the key material.
pub fn load(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let bad = |setting: TlsSetting, path: &Path, problem: TlsProblem| TlsError {
        setting,
        path: path.to_path_buf(),
        problem,
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<_, _>>())
        .map_err(|e| bad(TlsSetting::Cert, cert, pem_error(e)))?;
    if chain.is_empty() {
        return Err(bad(TlsSetting::Cert, cert, TlsProblem::NoCertificate));
    }
    let private =
        PrivateKeyDer::from_pem_file(key).map_err(|e| bad(TlsSetting::Key, key, pem_error(e)))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(TlsSetting::Pair, cert, TlsProblem::Protocols(e)))?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(|e| bad(TlsSetting::Key, key, TlsProblem::Mismatch(e)))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn pem_error(e: rustls::pki_types::pem::Error) -> TlsProblem {
    use rustls::pki_types::pem::Error;
    match e {
        Error::Io(e) => TlsProblem::Read(e),
        Error::NoItemsFound => TlsProblem::NoPemBlock,
        // Never the file's content: a key file's lines are the key.
        Error::MissingSectionEnd { .. } => TlsProblem::MissingSectionEnd,
        Error::IllegalSectionStart { .. } => TlsProblem::IllegalSectionStart,
        Error::Base64Decode(_) => TlsProblem::Base64,
        _ => TlsProblem::NotPem,
    }
}
