//! TLS for the server's listeners (HTTPS and MQTT over TLS), from PEM files: rustls with the
//! ring provider, TLS 1.2 and 1.3 only.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use convoy_tls_client::read_certs;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::PrivateKeyDer;
use rustls::server::WebPkiClientVerifier;
use serde::Deserialize;

/// The files of a TLS listener.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    /// The server's certificate chain (PEM), leaf first.
    pub cert_file: PathBuf,
    /// The server's private key (PEM).
    pub key_file: PathBuf,
    /// When set, clients must present a certificate signed by this CA (PEM).
    #[serde(default)]
    pub client_ca_file: Option<PathBuf>,
}

/// Builds the rustls server configuration, saying which file is wrong if one is.
pub fn server_config(files: &TlsFiles) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?;
    let builder = match &files.client_ca_file {
        None => builder.with_no_client_auth(),
        Some(ca_file) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in read_certs(ca_file)? {
                roots.add(cert).with_context(|| format!("CA certificate in {}", ca_file.display()))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .context("client certificate verifier")?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let key = PrivateKeyDer::from_pem_file(&files.key_file)
        .with_context(|| format!("reading key {}", files.key_file.display()))?;
    let config = builder.with_single_cert(read_certs(&files.cert_file)?, key).with_context(|| {
        format!("certificate {} and key {}", files.cert_file.display(), files.key_file.display())
    })?;
    Ok(Arc::new(config))
}
