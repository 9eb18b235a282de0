//! Who a CONNECT is, and whether it may in: a vehicle, an OwnTracks phone or an alert observer.
//!
//! - **A vehicle**: client id `convoy-agent-{id}`, the vehicle id as user name, its password
//!   checked against its salted HMAC (or, for vehicles registered by earlier versions, argon2,
//!   replaced by the fast kind at first login), a will only on its own status.
//! - **An OwnTracks phone**: any other client id (the apps choose their own). The user name is
//!   its OwnTracks user, the password its secret (`convoy_registry::verify_phone_secret`), a
//!   will only on its own location topic ([`PhoneTree`]).
//! - **An alert observer**: the user name `observer:NAME` (told apart by it before the client
//!   id), NAME one of the server's `[[mqtt_observers]]`, its password checked as a vehicle's
//!   (a salted HMAC, [`ObserverAccounts::verify`]); no last will ([`super::observer_acl`]).
//!
//! A disabled vehicle is refused after its password is checked (`vehicle_disabled`, answered
//! "not authorised"); a wrong password of one is `bad_credentials` as any other.
//!
//! Either way an unknown name is checked against a hash nobody's password matches, so the time
//! a refusal takes does not tell which names exist; every refusal is `bad_credentials`. Over
//! TLS with client certificates, the certificate must name the user name.

use convoy_core::VehicleId;
use convoy_registry::credentials::verify_password;
use convoy_registry::phones::valid_phone_name;
use convoy_registry::vehicle_key::{StoredVehicleHash, DUMMY_VEHICLE_HASH};
use convoy_store::DeviceKind;

use super::observer_acl::{ObserverTree, OBSERVER_PREFIX};
use super::packet::Connect;
use super::phone_acl::PhoneTree;
use super::{refused, Door, Ended, Refusal, VehicleTree};

/// The client id prefix that makes a CONNECT a vehicle's.
const AGENT_PREFIX: &str = "convoy-agent-";

/// Who logged in.
#[derive(Clone, Debug)]
pub(super) enum Client {
    Vehicle(VehicleId),
    Phone(PhoneTree),
    Observer(ObserverTree),
}

impl Client {
    /// How logs name it: the vehicle id, `owntracks:USER` (the source its fixes are stored
    /// with), or `observer:NAME`.
    pub(super) fn label(&self) -> String {
        match self {
            Client::Vehicle(vehicle) => vehicle.to_string(),
            Client::Phone(tree) => tree.upstream_id(),
            Client::Observer(tree) => tree.user_name(),
        }
    }
}

/// A refusal, with the name the client gave if it was a possible one.
pub(super) type Refused = (Option<String>, Ended);

impl Door {
    /// Decides whether the CONNECT may go to the broker, and as whom.
    pub(super) async fn admit(
        &self,
        connect: &Connect,
        cert_names: Option<&[String]>,
    ) -> Result<Client, Refused> {
        if let Some(name) = connect.username.as_deref().and_then(|user| user.strip_prefix(OBSERVER_PREFIX)) {
            self.admit_observer(name, connect, cert_names).map(Client::Observer)
        } else if connect.client_id.starts_with(AGENT_PREFIX) {
            self.admit_vehicle(connect, cert_names).await.map(Client::Vehicle)
        } else {
            self.admit_phone(connect, cert_names).await.map(Client::Phone)
        }
    }

    async fn admit_vehicle(
        &self,
        connect: &Connect,
        cert_names: Option<&[String]>,
    ) -> Result<VehicleId, Refused> {
        let bad = |why: &str| (None, refused(Refusal::BadCredentials, why));
        let username = connect.username.as_deref().ok_or_else(|| bad("no user name"))?;
        let vehicle = VehicleId::new(username).map_err(|_| bad("user name is not a vehicle id"))?;
        let name = Some(vehicle.to_string());
        let bad = |why: &str| (name.clone(), refused(Refusal::BadCredentials, why));
        if connect.client_id != format!("{AGENT_PREFIX}{vehicle}") {
            return Err(bad("client id is not convoy-agent-{vehicle}"));
        }
        let password = password(connect).ok_or_else(|| bad("no password"))?;
        check_certificate(cert_names, vehicle.as_str())?;
        let tree = VehicleTree::new(&vehicle);
        if let Some(will) = &connect.will {
            if let Err(refusal) = tree.check_will(&will.topic, will.retain, will.message.len()) {
                let detail = format!("will on {}, {} bytes", will.topic, will.message.len());
                return Err((name.clone(), refused(refusal, detail)));
            }
        }
        let login = match self.store.vehicle_login(&vehicle).await {
            Ok(login) => login,
            Err(e) => return Err((name.clone(), Ended::Unavailable(format!("store: {e}")))),
        };
        let disabled = login.as_ref().is_some_and(|l| l.disabled);
        let stored = login.map(|l| l.password_hash);
        // An unknown vehicle is checked against a hash nobody's password matches, so the time
        // a refusal takes does not tell which vehicle ids exist.
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| DUMMY_VEHICLE_HASH.to_string());
        let verified = match StoredVehicleHash::parse(&stored) {
            fast @ StoredVehicleHash::Fast { .. } => fast.verify_fast(&password),
            StoredVehicleHash::Argon2(_) => {
                // A vehicle registered by an earlier version: argon2, one check per core; once
                // it has logged in, its hash becomes the fast kind (argon2 vehicles die out).
                let verified = {
                    let _turn = convoy_registry::credentials::password_check_turn().await;
                    let (password, stored) = (password.clone(), stored.clone());
                    tokio::task::spawn_blocking(move || verify_password(&password, &stored))
                        .await
                        .unwrap_or(false)
                };
                if verified && known {
                    let fast = convoy_registry::vehicle_key::hash_vehicle_password(&password);
                    if let Err(e) = self.store.replace_vehicle_password_hash(&vehicle, &stored, &fast).await {
                        tracing::warn!(vehicle = vehicle.as_str(), error = %e, "cannot store the vehicle's new password hash");
                    }
                }
                verified
            }
        };
        if !known {
            return Err(bad("unknown vehicle"));
        }
        if !verified {
            return Err(bad("wrong password"));
        }
        // Told only to whoever has the password: a guess learns nothing from it.
        if disabled {
            return Err((name.clone(), refused(Refusal::VehicleDisabled, "the vehicle is disabled")));
        }
        Ok(vehicle)
    }

    async fn admit_phone(
        &self,
        connect: &Connect,
        cert_names: Option<&[String]>,
    ) -> Result<PhoneTree, Refused> {
        let bad = |why: &str| (None, refused(Refusal::BadCredentials, why));
        let user = connect.username.as_deref().ok_or_else(|| bad("no user name"))?;
        if !valid_phone_name(user) {
            return Err(bad("user name is not a phone name"));
        }
        let name = Some(format!("owntracks:{user}"));
        let bad = |why: &str| (name.clone(), refused(Refusal::BadCredentials, why));
        let password = password(connect).ok_or_else(|| bad("no password"))?;
        check_certificate(cert_names, user)?;
        let device = match self.store.device(DeviceKind::OwnTracks, user).await {
            Ok(device) => device,
            Err(e) => return Err((name.clone(), Ended::Unavailable(format!("store: {e}")))),
        };
        // Constant work: an unknown user is checked against the dummy hash.
        let verified = convoy_registry::verify_phone_secret(device.as_ref(), &password);
        let Some(device) = device.filter(|_| verified) else {
            return Err(bad("unknown phone or wrong secret"));
        };
        let Some(own_device) = device.owntracks_device.as_deref() else {
            return Err(bad("no OwnTracks device is registered for this user"));
        };
        let tree = PhoneTree::new(user, own_device);
        if let Some(will) = &connect.will {
            if let Err(refusal) = tree.check_will(&will.topic, will.message.len()) {
                let detail = format!("will on {}, {} bytes", will.topic, will.message.len());
                return Err((name.clone(), refused(refusal, detail)));
            }
        }
        Ok(tree)
    }
}

impl Door {
    /// An alert observer: a configured name, its password, no will.
    fn admit_observer(
        &self,
        name: &str,
        connect: &Connect,
        cert_names: Option<&[String]>,
    ) -> Result<ObserverTree, Refused> {
        let tree = ObserverTree::new(name);
        let user = Some(tree.user_name());
        let bad = |why: &str| (user.clone(), refused(Refusal::BadCredentials, why));
        let password = password(connect).ok_or_else(|| bad("no password"))?;
        check_certificate(cert_names, &tree.user_name())?;
        // Checked whatever the name, so the time a refusal takes does not tell which exist.
        if !self.observers.verify(name, &password) {
            return Err(bad("unknown observer or wrong password"));
        }
        if let Some(will) = &connect.will {
            let detail = format!("will on {}, {} bytes", will.topic, will.message.len());
            return Err((user, refused(Refusal::WillNotAllowed, detail)));
        }
        Ok(tree)
    }
}

/// The CONNECT's password, if it has one in UTF-8.
fn password(connect: &Connect) -> Option<String> {
    connect.password.as_ref().and_then(|p| std::str::from_utf8(p).ok()).map(str::to_string)
}

/// Over TLS with client certificates, one of the certificate's names must be `name`.
fn check_certificate(cert_names: Option<&[String]>, name: &str) -> Result<(), Refused> {
    match cert_names {
        Some(names) if !names.iter().any(|n| n == name) => Err((
            Some(name.to_string()),
            refused(Refusal::ClientCertMismatch, format!("certificate names {names:?}")),
        )),
        _ => Ok(()),
    }
}
