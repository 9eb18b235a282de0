//! A private certificate authority for TLS tests: a CA, server certificates for 127.0.0.1 and
//! localhost, and client certificates whose common name is a vehicle id, as PEM files in a
//! directory of the caller's.

use std::fs;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, Certificate, CertificateParams, DnType, IsCa, KeyPair, SanType};

pub struct TestCa {
    dir: PathBuf,
    cert: Certificate,
    key: KeyPair,
    /// The CA's certificate (PEM), for clients and for servers that check client certificates.
    pub ca_file: PathBuf,
}

/// A certificate and its key, as PEM files.
#[derive(Clone, Debug)]
pub struct CertFiles {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

impl TestCa {
    pub fn new(dir: &Path) -> TestCa {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, "convoy test CA");
        let cert = params.self_signed(&key).unwrap();
        let ca_file = dir.join("ca.pem");
        fs::write(&ca_file, cert.pem()).unwrap();
        TestCa { dir: dir.to_path_buf(), cert, key, ca_file }
    }

    /// Lets every user read the directory's certificates and keys: Mosquitto, started as root,
    /// drops to a user of its own that must read them.
    pub fn make_readable(&self) {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&self.dir, fs::Permissions::from_mode(0o755)).unwrap();
        for entry in fs::read_dir(&self.dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
            }
        }
    }

    /// A server certificate valid for 127.0.0.1 and localhost.
    pub fn server(&self, name: &str) -> CertFiles {
        let sans = vec![
            SanType::DnsName("localhost".try_into().unwrap()),
            SanType::IpAddress(Ipv4Addr::LOCALHOST.into()),
        ];
        self.issue(name, sans)
    }

    /// A client certificate with common name `cn` (a vehicle id).
    pub fn client(&self, cn: &str) -> CertFiles {
        self.issue(cn, Vec::new())
    }

    fn issue(&self, cn: &str, sans: Vec<SanType>) -> CertFiles {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, cn);
        params.subject_alt_names = sans;
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        let files = CertFiles {
            cert_file: self.dir.join(format!("{cn}.pem")),
            key_file: self.dir.join(format!("{cn}.key")),
        };
        fs::write(&files.cert_file, cert.pem()).unwrap();
        fs::write(&files.key_file, key.serialize_pem()).unwrap();
        files
    }
}
