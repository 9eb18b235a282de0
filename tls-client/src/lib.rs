//! TLS to an MQTT broker (rustls 0.23 with the ring provider), shared by every client of one:
//! the agent, ingest and the alert publisher of `convoy serve` and `convoy ingest` with an
//! external broker, and the MQTT notifier. The broker's certificate must chain to the CA in
//! `ca_file` (a pinned CA, not the system store), and the client may present a certificate of
//! its own.
//!
//! rumqttc is handed the finished `ClientConfig` (`TlsConfiguration::Rustls`), so the broker's
//! certificate is checked by rustls 0.23 and webpki 0.103, never by the webpki 0.102 rumqttc
//! itself pulls in (docs/SECURITY.md, "Open advisories").

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
    /// The client's own certificate and key (PEM), when the broker asks for one.
    pub client_cert: Option<(PathBuf, PathBuf)>,
}

impl TlsFiles {
    /// The files a configuration names in its keys `{prefix}ca_file`, `{prefix}client_cert_file`
    /// and `{prefix}client_key_file`: none without a CA (plain MQTT); a client certificate and
    /// its key go together, and only with a CA. The error names the keys.
    pub fn from_keys(
        prefix: &str,
        ca_file: Option<&Path>,
        client_cert_file: Option<&Path>,
        client_key_file: Option<&Path>,
    ) -> anyhow::Result<Option<TlsFiles>> {
        let client_cert = match (client_cert_file, client_key_file) {
            (Some(cert), Some(key)) => Some((cert.to_path_buf(), key.to_path_buf())),
            (None, None) => None,
            _ => anyhow::bail!("{prefix}client_cert_file and {prefix}client_key_file go together"),
        };
        match ca_file {
            Some(ca_file) => Ok(Some(TlsFiles { ca_file: ca_file.to_path_buf(), client_cert })),
            None if client_cert.is_some() => {
                anyhow::bail!("{prefix}client_cert_file needs {prefix}ca_file (the broker's CA, for TLS)")
            }
            None => Ok(None),
        }
    }
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

/// MQTT over TLS with these files, for `MqttOptions::set_transport`.
pub fn mqtt_transport(files: &TlsFiles) -> anyhow::Result<rumqttc::Transport> {
    let config = client_config(files)?;
    Ok(rumqttc::Transport::tls_with_config(rumqttc::TlsConfiguration::Rustls(Arc::new(config))))
}

/// The certificates of a PEM file, at least one (the server's listeners read theirs with it too).
pub fn read_certs(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .with_context(|| format!("reading {}", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("parsing {}", path.display()))?;
    anyhow::ensure!(!certs.is_empty(), "{} holds no PEM certificate", path.display());
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ca_pem() -> String {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.self_signed(&key).unwrap().pem()
    }

    #[test]
    fn a_pinned_ca_builds_a_transport_and_a_wrong_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, ca_pem()).unwrap();
        assert!(mqtt_transport(&TlsFiles { ca_file: ca_file.clone(), client_cert: None }).is_ok());

        let missing = TlsFiles { ca_file: dir.path().join("none.pem"), client_cert: None };
        let error = format!("{:#}", client_config(&missing).unwrap_err());
        assert!(error.contains("none.pem"), "{error}");
        let empty_file = dir.path().join("empty.pem");
        std::fs::write(&empty_file, "not a certificate\n").unwrap();
        let error =
            format!("{:#}", client_config(&TlsFiles { ca_file: empty_file, client_cert: None }).unwrap_err());
        assert!(error.contains("holds no PEM certificate"), "{error}");
        let no_key =
            TlsFiles { ca_file, client_cert: Some((dir.path().join("c.pem"), dir.path().join("c.key"))) };
        let error = format!("{:#}", client_config(&no_key).unwrap_err());
        assert!(error.contains("c.key"), "{error}");
    }

    #[test]
    fn a_client_certificate_goes_with_its_key_and_a_ca() {
        let (ca, cert, key) = (Path::new("ca.pem"), Path::new("c.pem"), Path::new("c.key"));
        assert_eq!(TlsFiles::from_keys("", None, None, None).unwrap(), None);
        let files = TlsFiles::from_keys("", Some(ca), Some(cert), Some(key)).unwrap().unwrap();
        assert_eq!(files.client_cert, Some((cert.to_path_buf(), key.to_path_buf())));
        let error = TlsFiles::from_keys("broker_", Some(ca), Some(cert), None).unwrap_err().to_string();
        assert_eq!(error, "broker_client_cert_file and broker_client_key_file go together");
        let error = TlsFiles::from_keys("", None, Some(cert), Some(key)).unwrap_err().to_string();
        assert!(error.starts_with("client_cert_file needs ca_file"), "{error}");
    }
}
