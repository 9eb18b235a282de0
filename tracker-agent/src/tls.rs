//! TLS to the broker (rustls with the ring provider): the broker's certificate must chain to
//! the CA in `ca_file` (a pinned CA, not the system store), and the agent may present a client
//! certificate of its own.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The files of a TLS connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// The CA that signed the broker's certificate (PEM).
    pub ca_file: PathBuf,
    /// The agent's own certificate and key (PEM), when the broker asks for one.
    pub client_cert: Option<(PathBuf, PathBuf)>,
}

/// Builds the rustls client configuration, reporting which file is wrong if one is.
pub fn client_config(files: &TlsFiles) -> anyhow::Result<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in read_certs(&files.ca_file)? {
        roots.add(cert).with_context(|| format!("CA certificate in {}", files.ca_file.display()))?;
    }
    let builder =
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .context("TLS protocol versions")?
            .with_root_certificates(roots);
    Ok(match &files.client_cert {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => {
            let key = PrivateKeyDer::from_pem_file(key)
                .with_context(|| format!("reading key {}", key.display()))?;
            builder.with_client_auth_cert(read_certs(cert)?, key).context("client certificate and key")?
        }
    })
}

fn read_certs(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .with_context(|| format!("reading {}", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("parsing {}", path.display()))?;
    anyhow::ensure!(!certs.is_empty(), "{} holds no PEM certificate", path.display());
    Ok(certs)
}
