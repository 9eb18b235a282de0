//! Vehicle identifiers: they travel in MQTT topics, URLs and file names, so they are kept to a
//! small safe alphabet.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The longest vehicle id accepted, in bytes.
pub const MAX_VEHICLE_ID_LEN: usize = 64;

/// A validated vehicle id: 1 to 64 bytes of `[A-Za-z0-9._-]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct VehicleId(String);

/// Why a string is not a vehicle id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VehicleIdError {
    #[error("vehicle id is empty")]
    Empty,
    #[error("vehicle id is {0} bytes long; at most {MAX_VEHICLE_ID_LEN} are allowed")]
    TooLong(usize),
    #[error("vehicle id has the character {0:?}; only A-Z, a-z, 0-9, '.', '_' and '-' are allowed")]
    BadCharacter(char),
}

impl VehicleId {
    pub fn new(id: impl Into<String>) -> Result<Self, VehicleIdError> {
        let id = id.into();
        if id.is_empty() {
            return Err(VehicleIdError::Empty);
        }
        if id.len() > MAX_VEHICLE_ID_LEN {
            return Err(VehicleIdError::TooLong(id.len()));
        }
        if let Some(bad) = id.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))) {
            return Err(VehicleIdError::BadCharacter(bad));
        }
        Ok(Self(id))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for VehicleId {
    type Error = VehicleIdError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<VehicleId> for String {
    fn from(value: VehicleId) -> Self {
        value.0
    }
}

impl fmt::Display for VehicleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for VehicleId {
    type Err = VehicleIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_allowed_alphabet() {
        assert!(VehicleId::new("truck-07").is_ok());
        assert!(VehicleId::new("Escort_1.b").is_ok());
        assert!(VehicleId::new("x".repeat(64)).is_ok());
    }

    #[test]
    fn rejects_empty_long_and_foreign_characters() {
        assert_eq!(VehicleId::new(""), Err(VehicleIdError::Empty));
        assert_eq!(VehicleId::new("x".repeat(65)), Err(VehicleIdError::TooLong(65)));
        assert_eq!(VehicleId::new("truck/07"), Err(VehicleIdError::BadCharacter('/')));
        assert_eq!(VehicleId::new("truck 7"), Err(VehicleIdError::BadCharacter(' ')));
        assert_eq!(VehicleId::new("trück"), Err(VehicleIdError::BadCharacter('ü')));
        assert_eq!(VehicleId::new("a+#"), Err(VehicleIdError::BadCharacter('+')));
    }
}
