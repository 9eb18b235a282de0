//! How a vehicle's MQTT password is kept: a salted HMAC-SHA256, not argon2.
//!
//! argon2 is for passwords people choose: slow on purpose, so a stolen hash cannot be guessed
//! at. A vehicle's password is never chosen by a person: Convoy makes it, 24 random letters and
//! digits (about 143 bits), and no amount of guessing finds that, fast hash or slow. The slow
//! hash only cost the door: 63 logins a second on two cores, so a fleet of 10,000 reconnecting
//! after a server restart waited minutes, and a flood of bogus CONNECTs queued real vehicles
//! behind it. Checked this way, logins are bounded by the connection to rumqttd behind each,
//! not by the CPU: 459 a second (`cargo bench --bench mqtt_door`, docs/BENCHMARKS.md).
//!
//! Stored as `hmac-sha256$SALT$TAG` (hex). Vehicles registered before keep their argon2 hash,
//! which is still checked (the slow way) and replaced by this kind at their first login.

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

const SCHEME: &str = "hmac-sha256";

/// The stored form of a vehicle's password, with a fresh random salt.
pub fn hash_vehicle_password(password: &str) -> String {
    let mut salt = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    let tag = mac(&salt, password).finalize().into_bytes();
    format!("{SCHEME}${}${}", hex::encode(salt), hex::encode(tag))
}

/// How a stored vehicle hash is checked.
pub enum StoredVehicleHash<'a> {
    /// Salted HMAC-SHA256: checked at once.
    Fast { salt: Vec<u8>, tag: Vec<u8> },
    /// An argon2 hash from an earlier version: checked slowly, one per core at a time.
    Argon2(&'a str),
}

impl<'a> StoredVehicleHash<'a> {
    pub fn parse(stored: &'a str) -> Self {
        let fast = stored.strip_prefix(SCHEME).and_then(|rest| rest.strip_prefix('$')).and_then(|rest| {
            let (salt, tag) = rest.split_once('$')?;
            Some(StoredVehicleHash::Fast { salt: hex::decode(salt).ok()?, tag: hex::decode(tag).ok()? })
        });
        fast.unwrap_or(StoredVehicleHash::Argon2(stored))
    }

    /// Whether `password` matches a fast hash (compared in constant time). Always false for an
    /// argon2 hash: check that with `credentials::verify_password`.
    pub fn verify_fast(&self, password: &str) -> bool {
        match self {
            StoredVehicleHash::Fast { salt, tag } => mac(salt, password).verify_slice(tag).is_ok(),
            StoredVehicleHash::Argon2(_) => false,
        }
    }
}

/// What an unknown vehicle's password is checked against, so that refusing it takes as long as
/// refusing a known vehicle's wrong password.
pub const DUMMY_VEHICLE_HASH: &str = "hmac-sha256$00000000000000000000000000000000$\
                                      0000000000000000000000000000000000000000000000000000000000000000";

fn mac(salt: &[u8], password: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(salt).expect("HMAC takes a key of any length");
    mac.update(password.as_bytes());
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vehicle_hash_verifies_its_password_only_and_is_salted() {
        let password = crate::credentials::random_password();
        let stored = hash_vehicle_password(&password);
        assert!(stored.starts_with("hmac-sha256$"));
        assert_ne!(stored, hash_vehicle_password(&password), "a new salt each time");
        let parsed = StoredVehicleHash::parse(&stored);
        assert!(parsed.verify_fast(&password));
        assert!(!parsed.verify_fast(&crate::credentials::random_password()));
        assert!(!parsed.verify_fast(""));
    }

    #[test]
    fn argon2_hashes_of_earlier_vehicles_are_recognised() {
        let stored = crate::credentials::hash_password("an older vehicle's password");
        assert!(matches!(StoredVehicleHash::parse(&stored), StoredVehicleHash::Argon2(_)));
        assert!(!StoredVehicleHash::parse(&stored).verify_fast("an older vehicle's password"));
        // A damaged fast hash is not silently fast: it goes to argon2, which refuses it.
        for damaged in ["hmac-sha256$zz$00", "hmac-sha256$00", "hmac-sha256"] {
            assert!(matches!(StoredVehicleHash::parse(damaged), StoredVehicleHash::Argon2(_)));
            assert!(!crate::credentials::verify_password("x", damaged));
        }
    }

    #[test]
    fn the_dummy_hash_is_a_fast_hash_nothing_matches() {
        let dummy = StoredVehicleHash::parse(DUMMY_VEHICLE_HASH);
        assert!(matches!(dummy, StoredVehicleHash::Fast { .. }));
        assert!(!dummy.verify_fast(""));
        assert!(!dummy.verify_fast(&crate::credentials::random_password()));
    }
}
