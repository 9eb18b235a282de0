//! What a PostgreSQL URL asks for beyond libpq's parameters: the CA to trust for TLS and the
//! pool's size.

use std::sync::Arc;

use tokio_postgres_rustls::MakeRustlsConnect;

use crate::{Result, StoreError};

/// A PostgreSQL URL split into what tokio-postgres understands and Convoy's own parameters.
pub(super) struct ConnectOptions {
    pub(super) config: tokio_postgres::Config,
    pub(super) root_cert: Option<std::path::PathBuf>,
    pub(super) pool_max_size: usize,
}

impl ConnectOptions {
    pub(super) fn parse(url: &str) -> Result<Self> {
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut root_cert = None;
        let mut pool_max_size = 8;
        let mut passed_on = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("sslrootcert", path)) => root_cert = Some(path.into()),
                Some(("pool_max_size", n)) => {
                    pool_max_size = n.parse().ok().filter(|&n| n > 0).ok_or_else(|| {
                        StoreError::BadUrl(format!("pool_max_size={n}: a positive number is needed"))
                    })?
                }
                _ => passed_on.push(pair),
            }
        }
        let url =
            if passed_on.is_empty() { base.to_string() } else { format!("{base}?{}", passed_on.join("&")) };
        Ok(Self { config: url.parse()?, root_cert, pool_max_size })
    }
}

/// TLS trusting exactly the CA certificates in `ca_file` (PEM), not the system's.
pub(super) fn tls_trusting(ca_file: &std::path::Path) -> Result<MakeRustlsConnect> {
    use rustls::pki_types::{pem::PemObject, CertificateDer};
    let bad =
        |e: &dyn std::fmt::Display| StoreError::BadUrl(format!("sslrootcert {}: {e}", ca_file.display()));
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca_file).map_err(|e| bad(&e))? {
        roots.add(cert.map_err(|e| bad(&e))?).map_err(|e| bad(&e))?;
    }
    if roots.is_empty() {
        return Err(bad(&"no certificate in the file"));
    }
    let config =
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| bad(&e))?
            .with_root_certificates(roots)
            .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}
