//! Who a client certificate names. rustls has already checked that the certificate chains to
//! the configured CA; the door then requires one of these names to be the MQTT user name, so a
//! vehicle's certificate cannot be used with another vehicle's password.

use x509_parser::extensions::GeneralName;

/// The subject's common names and the DNS names of the subject alternative names of a
/// DER certificate; empty if it cannot be read.
pub fn certificate_names(der: &[u8]) -> Vec<String> {
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else {
        return Vec::new();
    };
    let mut names: Vec<String> =
        cert.subject().iter_common_name().filter_map(|cn| cn.as_str().ok().map(str::to_string)).collect();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            if let GeneralName::DNSName(dns) = name {
                names.push(dns.to_string());
            }
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_name_and_dns_names_are_read() {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["truck-07.fleet".to_string()]).unwrap();
        params.distinguished_name.push(rcgen::DnType::CommonName, "truck-07");
        let cert = params.self_signed(&key).unwrap();
        assert_eq!(certificate_names(cert.der()), vec!["truck-07", "truck-07.fleet"]);
        assert!(certificate_names(b"not a certificate").is_empty());
    }
}
