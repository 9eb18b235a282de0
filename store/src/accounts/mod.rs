//! Who may connect: vehicles with their password hashes, people with their roles, and people's
//! login tokens.

mod postgres;
mod sqlite;

use chrono::{DateTime, Utc};
use convoy_core::{Language, Role, VehicleId};

use crate::{Result, Store, StoreError};

#[derive(Clone, Debug, PartialEq)]
pub struct User {
    pub name: String,
    pub role: Role,
    pub password_hash: String,
    /// A disabled person cannot log in, and no token of theirs is valid.
    pub disabled: bool,
}

/// A person as the administration lists them: never their password hash.
#[derive(Clone, Debug, PartialEq)]
pub struct Person {
    pub name: String,
    pub role: Role,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    /// Their last successful login, if any since logins are recorded.
    pub last_login_at: Option<DateTime<Utc>>,
}

/// What the broker's door checks when a vehicle logs in.
#[derive(Clone, Debug, PartialEq)]
pub struct VehicleLogin {
    pub password_hash: String,
    /// A disabled vehicle cannot log in; its positions stay.
    pub disabled: bool,
}

/// A change an administrator (or, for the password, the person) makes to a person.
#[derive(Clone, Debug, PartialEq)]
pub enum PersonChange {
    Role(Role),
    /// Disabling ends every token of the person in the same transaction.
    Disabled(bool),
    /// A new password hash; every token of the person ends but `keep_token` (a token hash: the
    /// session that changed its own password).
    Password {
        hash: String,
        keep_token: Option<String>,
    },
}

/// What became of a [`PersonChange`].
#[derive(Clone, Debug, PartialEq)]
pub enum PersonChanged {
    /// Done; the person as they were before, and how many of their tokens ended.
    Changed {
        before: User,
        revoked: u64,
    },
    NoSuchPerson,
    /// Refused, nothing changed: it would leave no enabled admin.
    LastAdmin,
}

impl PersonChange {
    /// Whether this change takes an enabled admin away from the enabled admins.
    fn removes_admin(&self, before: &User) -> bool {
        let enabled_admin = before.role == Role::Admin && !before.disabled;
        enabled_admin
            && match self {
                PersonChange::Role(role) => *role != Role::Admin,
                PersonChange::Disabled(disabled) => *disabled,
                PersonChange::Password { .. } => false,
            }
    }
}

forward! {
    pub async fn add_vehicle(&self, id: &VehicleId, password_hash: &str) -> Result<()>;

    /// Replaces a vehicle's stored password hash with `new` if it is still `old` (a hash of
    /// the same password in another form); whether it was replaced.
    pub async fn replace_vehicle_password_hash(&self, id: &VehicleId, old: &str, new: &str) -> Result<bool>;

    /// Replaces a vehicle's stored password hash, whatever it was (a new password: the old one
    /// stops working at the door's next check); false if there is no such vehicle.
    pub async fn set_vehicle_password_hash(&self, id: &VehicleId, hash: &str) -> Result<bool>;

    pub async fn vehicle_password_hash(&self, id: &VehicleId) -> Result<Option<String>>;

    /// A vehicle's password hash and whether it is disabled, in one round trip (the door's
    /// check at every login); `None` if it is not registered.
    pub async fn vehicle_login(&self, id: &VehicleId) -> Result<Option<VehicleLogin>>;

    /// Disables or enables a vehicle; whether it was disabled before (the same again changes
    /// nothing), or `None` if there is no such vehicle.
    pub async fn set_vehicle_disabled(&self, id: &VehicleId, disabled: bool) -> Result<Option<bool>>;

    /// The disabled vehicles, ordered by id.
    pub async fn disabled_vehicles(&self) -> Result<Vec<VehicleId>>;

    /// Every registered vehicle, ordered by id.
    pub async fn vehicle_ids(&self) -> Result<Vec<VehicleId>>;

    /// Those of `ids` that are registered, in one round trip.
    pub async fn registered_among(&self, ids: &[VehicleId]) -> Result<Vec<VehicleId>>;

    pub async fn add_user(&self, user: &User) -> Result<()>;

    pub async fn user(&self, name: &str) -> Result<Option<User>>;

    /// Every person who may log in, by name.
    pub async fn users(&self) -> Result<Vec<User>>;

    /// Every person with their role, whether disabled, when added and when last logged in, by name.
    pub async fn people(&self) -> Result<Vec<Person>>;

    /// Changes a person in one transaction that also ends their tokens where the change says
    /// so; refuses (changing nothing) a change that would leave no enabled admin. Two such
    /// changes at once cannot both pass: the enabled admins are locked while one is decided.
    pub async fn change_person(&self, name: &str, change: &PersonChange) -> Result<PersonChanged>;

    /// The language a person chose for the page; `None` if they never chose one (or there is
    /// no such person).
    pub async fn person_language(&self, name: &str) -> Result<Option<Language>>;

    /// Saves the language a person chose for the page; false if there is no such person.
    pub async fn set_person_language(&self, name: &str, language: Language) -> Result<bool>;

    /// Notes a successful login of a person at `at`.
    pub async fn record_login(&self, name: &str, at: DateTime<Utc>) -> Result<()>;

    pub async fn add_token(&self, token_hash: &str, username: &str, expires_at: DateTime<Utc>) -> Result<()>;

    /// The user a token belongs to, if the token exists and has not expired at `now`.
    pub async fn token_user(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<User>>;

    /// Ends a login token before it expires (logout); whether it existed.
    pub async fn revoke_token(&self, token_hash: &str) -> Result<bool>;

    /// Ends every login token of a person; how many there were.
    pub async fn revoke_tokens_of(&self, username: &str) -> Result<u64>;
}

impl Store {
    pub async fn vehicle_registered(&self, id: &VehicleId) -> Result<bool> {
        Ok(self.vehicle_password_hash(id).await?.is_some())
    }
}

fn parse_role(text: &str) -> Result<Role> {
    text.parse().map_err(StoreError::Corrupt)
}

fn parse_language(text: Option<String>) -> Result<Option<Language>> {
    text.map(|t| Language::parse(&t).map_err(|e| StoreError::Corrupt(e.to_string()))).transpose()
}
