//! The password the door gives the internal broker for a vehicle it has let in. The internal
//! broker accepts only this (or the server's own account), never a vehicle's real password: a
//! local process that reached the internal port with a vehicle's credentials would otherwise
//! bypass the door's topic checks.

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

/// A secret made at start-up, known to the door and the internal broker only.
#[derive(Clone)]
pub struct UpstreamSecret([u8; 32]);

impl std::fmt::Debug for UpstreamSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UpstreamSecret(..)")
    }
}

impl UpstreamSecret {
    pub fn random() -> Self {
        let mut secret = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut secret);
        Self(secret)
    }

    /// HMAC-SHA256(secret, user name), hex: what the door sends as the vehicle's password.
    pub fn password_for(&self, username: &str) -> String {
        hex::encode(self.mac(username).finalize().into_bytes())
    }

    /// Whether `password` is [`Self::password_for`] of `username` (compared in constant time).
    pub fn verify(&self, username: &str, password: &str) -> bool {
        hex::decode(password).is_ok_and(|tag| self.mac(username).verify_slice(&tag).is_ok())
    }

    fn mac(&self, username: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        mac.update(username.as_bytes());
        mac
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_upstream_password_is_bound_to_the_user_and_the_secret() {
        let secret = UpstreamSecret::random();
        let password = secret.password_for("truck-a");
        assert!(secret.verify("truck-a", &password));
        assert!(!secret.verify("truck-b", &password));
        assert!(!UpstreamSecret::random().verify("truck-a", &password));
        assert!(!secret.verify("truck-a", "not hex"));
        assert!(!secret.verify("truck-a", ""));
    }
}
