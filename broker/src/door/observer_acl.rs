//! What an alert observer may do on the embedded broker (issue 18): an outside client, such as
//! `mosquitto_sub` or a dashboard, that watches the alerts Convoy publishes and nothing else.
//!
//! - **Logs in** as `observer:NAME` with the password of a `[[mqtt_observers]]` entry of the
//!   server's configuration ([`super::login`]), checked as a vehicle's (a salted HMAC, an
//!   unknown name against a hash nobody's password matches). Any client id: rumqttd knows the
//!   connection as `observer:NAME:{client id}` ([`ObserverTree::upstream_id`]), so it can take
//!   over no one else's session; always a clean session, and no last will (a will is a publish).
//! - **Subscribes** to `convoy/v1/alerts/+` only ([`ALERTS_FILTER`]), granted at QoS 0 or 1 (a
//!   request for 2 is granted 1). Any other filter (positions, status, `#`, `$SYS/#`, one
//!   vehicle's alerts) is answered 0x80 in the SUBACK, counted (`subscription_refused`) and
//!   never reaches rumqttd; the connection stays open, as for a phone. One filter only, because
//!   rumqttd keeps a log per subscribed filter for as long as it runs: however many observers
//!   ask, there is one alerts log (`embedded::ALERTS_LOG`).
//! - **Publishes nothing**: a PUBLISH closes the connection (`observer_publish`), as a
//!   vehicle's publish outside its own topics does.

use std::sync::Arc;

use convoy_core::topics::ALERTS_FILTER;
use convoy_registry::vehicle_key::{hash_vehicle_password, StoredVehicleHash, DUMMY_VEHICLE_HASH};

/// What an observer's MQTT user name starts with. A `:` is in no vehicle id nor phone name, so
/// an observer is never taken for one.
pub const OBSERVER_PREFIX: &str = "observer:";

/// The shortest observer password taken. Logins at the door are not throttled per name (a
/// vehicle's password is 32 random characters): an observer's must be too long to guess.
pub const MIN_OBSERVER_PASSWORD: usize = 16;

/// The longest observer name.
pub const MAX_OBSERVER_NAME: usize = 64;

/// One observer account, as configured: its name and the salted hash of its password (the
/// vehicles' fast kind: `convoy_registry::vehicle_key`), made when the server starts.
#[derive(Clone)]
pub struct ObserverAccount {
    name: String,
    password_hash: String,
}

impl std::fmt::Debug for ObserverAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObserverAccount").field("name", &self.name).finish_non_exhaustive()
    }
}

impl ObserverAccount {
    /// The account `name` with `password`; refused with the reason if the name is not 1 to 64
    /// letters, digits, '.', '_' or '-', or the password is shorter than
    /// [`MIN_OBSERVER_PASSWORD`].
    pub fn new(name: &str, password: &str) -> Result<Self, String> {
        if !valid_observer_name(name) {
            return Err(format!(
                "observer name {name:?} must be 1 to {MAX_OBSERVER_NAME} letters, digits, '.', '_' or '-'"
            ));
        }
        if password.chars().count() < MIN_OBSERVER_PASSWORD {
            return Err(format!(
                "observer {name:?}: the password must be at least {MIN_OBSERVER_PASSWORD} characters"
            ));
        }
        Ok(Self { name: name.to_string(), password_hash: hash_vehicle_password(password) })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The MQTT user name it logs in with: `observer:NAME`.
    pub fn user_name(&self) -> String {
        format!("{OBSERVER_PREFIX}{}", self.name)
    }
}

/// Whether `name` may name an observer: the characters of a vehicle id, so that
/// `observer:NAME:` is a prefix no other observer's name shares.
pub fn valid_observer_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_OBSERVER_NAME
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The configured observers (none unless `[[mqtt_observers]]` names some).
#[derive(Clone, Debug, Default)]
pub struct ObserverAccounts(Arc<Vec<ObserverAccount>>);

impl ObserverAccounts {
    /// The accounts; two of one name are refused.
    pub fn new(accounts: Vec<ObserverAccount>) -> Result<Self, String> {
        for (i, account) in accounts.iter().enumerate() {
            if accounts[..i].iter().any(|other| other.name == account.name) {
                return Err(format!("observer {:?} is configured twice", account.name));
            }
        }
        Ok(Self(Arc::new(accounts)))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `password` is that of observer `name`. An unknown name is checked against a
    /// hash nobody's password matches, so the time it takes does not tell which names exist.
    pub fn verify(&self, name: &str, password: &str) -> bool {
        let account = self.0.iter().find(|account| account.name == name);
        let stored = account.map_or(DUMMY_VEHICLE_HASH, |account| account.password_hash.as_str());
        let verified = StoredVehicleHash::parse(stored).verify_fast(password);
        verified && account.is_some()
    }
}

/// A logged-in observer's rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObserverTree {
    name: String,
}

impl ObserverTree {
    pub fn new(name: &str) -> Self {
        Self { name: name.to_string() }
    }

    /// `observer:NAME`: how logs name it, and its user name on rumqttd.
    pub fn user_name(&self) -> String {
        format!("{OBSERVER_PREFIX}{}", self.name)
    }

    /// Its client id on rumqttd: `observer:NAME:{client id}`, in the observer's own space.
    pub fn upstream_id(&self, client_id: &str) -> String {
        format!("{}:{client_id}", self.user_name())
    }

    /// The QoS `filter` is granted at, if it is: the alerts filter only, at most QoS 1.
    pub fn grant(&self, filter: &str, qos: u8) -> Option<u8> {
        (filter == ALERTS_FILTER).then_some(qos.min(1))
    }
}

/// Whether rumqttd's `user` and `client_id` are those the door gives an observer (see
/// [`ObserverTree::upstream_id`]); the password is checked by the caller.
pub fn is_observer_upstream(user: &str, client_id: &str) -> bool {
    let Some(name) = user.strip_prefix(OBSERVER_PREFIX) else { return false };
    valid_observer_name(name) && client_id.strip_prefix(user).is_some_and(|rest| rest.starts_with(':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_alerts_filter_is_granted_at_most_at_qos_1() {
        let tree = ObserverTree::new("ops");
        assert_eq!(tree.grant("convoy/v1/alerts/+", 0), Some(0));
        assert_eq!(tree.grant("convoy/v1/alerts/+", 1), Some(1));
        assert_eq!(tree.grant("convoy/v1/alerts/+", 2), Some(1));
        for refused in [
            "#",
            "+/#",
            "$SYS/#",
            "convoy/#",
            "convoy/v1/alerts/#",
            "convoy/v1/alerts/truck-07",
            "convoy/v1/vehicles/+/positions",
            "convoy/v1/vehicles/+/status",
            "convoy/v1/vehicles/+/windows",
            "owntracks/+/+",
            "$share/g/convoy/v1/alerts/+",
            "convoy/v1/alerts/+/",
        ] {
            assert_eq!(tree.grant(refused, 1), None, "{refused:?}");
        }
    }

    #[test]
    fn an_observer_is_checked_by_its_password_and_an_unknown_one_refused() {
        let accounts =
            ObserverAccounts::new(vec![ObserverAccount::new("ops", "a long observer password").unwrap()])
                .unwrap();
        assert!(accounts.verify("ops", "a long observer password"));
        assert!(!accounts.verify("ops", "a long observer passworD"));
        assert!(!accounts.verify("other", "a long observer password"));
        assert!(!accounts.verify("", ""));
        assert!(ObserverAccounts::default().is_empty());
    }

    #[test]
    fn bad_names_short_passwords_and_twice_the_same_name_are_refused() {
        assert!(ObserverAccount::new("ops", "short").unwrap_err().contains("at least 16"));
        for bad in ["", "a:b", "a/b", "a b", &"x".repeat(65)] {
            assert!(ObserverAccount::new(bad, "a long observer password").is_err(), "{bad:?}");
        }
        let one = || ObserverAccount::new("ops", "a long observer password").unwrap();
        assert!(ObserverAccounts::new(vec![one(), one()]).unwrap_err().contains("twice"));
        assert!(!format!("{:?}", one()).contains("hmac"), "the hash stays out of logs");
    }

    #[test]
    fn the_upstream_id_is_in_the_observers_own_space() {
        let tree = ObserverTree::new("ops");
        assert_eq!(tree.upstream_id("mosq-1"), "observer:ops:mosq-1");
        assert!(is_observer_upstream("observer:ops", "observer:ops:mosq-1"));
        assert!(is_observer_upstream("observer:ops", "observer:ops:"));
        assert!(!is_observer_upstream("observer:ops", "observer:opsx:1"));
        assert!(!is_observer_upstream("observer:ops", "convoy-ingest"));
        assert!(!is_observer_upstream("observer:", "observer::"));
        assert!(!is_observer_upstream("ops", "ops:1"));
        assert!(convoy_core::VehicleId::new(tree.user_name()).is_err());
    }
}
