//! [`Secret`]: a configuration string whose `Debug` and `Display` never show it.
//!
//! Configurations get `Debug`-printed (a derived `Debug` on the server's configuration, a
//! `tracing` field, a failed test's message), so every password, webhook signing key and webhook
//! URL (often the credential itself: a token in the path or query, or `user:password@`) is held
//! in a `Secret`, which prints `***`. The value is reachable only through [`Secret::expose`], so
//! each place that hands it on says so.
//!
//! There is deliberately no `Serialize`: nothing should write a secret back out.

use std::fmt;

use serde::Deserialize;

/// A string that prints as `***`. Read as a plain string from the configuration.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// What `Debug` and `Display` print instead of the value.
    pub const MASK: &'static str = "***";

    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself: for the transport that needs it, never for a message.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Secret {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Secret {
        Secret(value.to_string())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(Secret::MASK)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(Secret::MASK)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_as_stars_but_keeps_the_value() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret:?}"), "***");
        assert_eq!(format!("{secret:#?}"), "***");
        assert_eq!(format!("{secret}"), "***");
        assert_eq!(format!("{:?}", Some(secret.clone())), "Some(***)");
        assert_eq!(secret.expose(), "hunter2");
    }

    #[test]
    fn reads_as_a_plain_string() {
        let secret: Secret = serde_json::from_value(serde_json::json!("s3")).unwrap();
        assert_eq!(secret.expose(), "s3");
        assert!(serde_json::from_value::<Secret>(serde_json::json!(3)).is_err());
    }
}
