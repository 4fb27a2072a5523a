//! TLS termination in the gateway (`[gateway.tls]`): a rustls server configuration from PEM files
//! (certificate chain and private key), HTTP/1.1 over ALPN, TLS 1.2 and 1.3 with rustls's safe
//! defaults. Loaded at start and again on every SIGHUP, so a renewed certificate is picked up
//! without a restart.

use crate::config::Problem;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;
use std::sync::Arc;

/// Reads `cert` and `key` (PEM) into a server configuration; problems name
/// `gateway.tls.cert` or `gateway.tls.key` and the file, never the key material.
pub fn load(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, Problem> {
    let bad = |k: &str, p: &Path, m: String| Problem {
        key: k.into(),
        message: format!("{}: {m}", p.display()),
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<_, _>>())
        .map_err(|e| bad("gateway.tls.cert", cert, pem_error(e)))?;
    if chain.is_empty() {
        return Err(bad("gateway.tls.cert", cert, "no CERTIFICATE block".into()));
    }
    let private =
        PrivateKeyDer::from_pem_file(key).map_err(|e| bad("gateway.tls.key", key, pem_error(e)))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad("gateway.tls", cert, e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(|e| {
            bad(
                "gateway.tls.key",
                key,
                format!("does not fit the certificate ({e})"),
            )
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn pem_error(e: rustls::pki_types::pem::Error) -> String {
    use rustls::pki_types::pem::Error;
    match e {
        Error::Io(e) => format!("cannot read ({e})"),
        Error::NoItemsFound => "no PEM block of the expected kind".into(),
        // Never the file's content: a key file's lines are the key.
        Error::MissingSectionEnd { .. } => "not valid PEM (a section has no END line)".into(),
        Error::IllegalSectionStart { .. } => "not valid PEM (a malformed BEGIN line)".into(),
        Error::Base64Decode(_) => "not valid PEM (bad base64)".into(),
        _ => "not valid PEM".into(),
    }
}
