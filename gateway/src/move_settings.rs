//! `[moves]`: what the server assumes of a move whose plan leaves something out: the time zone
//! its times are shown in and the language its alerts are sent in.

use convoy_core::language::Language;
use convoy_core::time_zone::{self, Tz};
use serde::{Deserialize, Deserializer};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoveSettings {
    /// The zone of a plan without `time_zone` (an IANA name, checked at start). UTC unless
    /// configured: the server's own local zone is UTC in most containers and something else on
    /// a laptop, so taking it would show the same move differently on two machines without
    /// anyone having chosen it.
    #[serde(default = "utc", deserialize_with = "zone_by_name")]
    pub default_time_zone: Tz,
    /// The language of the alerts (e-mail, webhook text, group robots) of a plan without
    /// `language`: `en` or `zh-CN`; English unless configured.
    #[serde(default)]
    pub default_language: Language,
}

impl Default for MoveSettings {
    fn default() -> Self {
        MoveSettings { default_time_zone: time_zone::UTC, default_language: Language::English }
    }
}

fn utc() -> Tz {
    time_zone::UTC
}

fn zone_by_name<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Tz, D::Error> {
    let name = String::deserialize(deserializer)?;
    time_zone::parse(&name).map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;

    fn read(value: Value) -> Result<MoveSettings, serde_json::Error> {
        serde_json::from_value::<MoveSettings>(value)
    }

    #[test]
    fn the_zone_is_read_by_name_and_an_unknown_name_refused() {
        let settings = read(json!({"default_time_zone": "Asia/Shanghai"})).unwrap();
        assert_eq!(settings.default_time_zone.name(), "Asia/Shanghai");
        assert_eq!(read(json!({})).unwrap(), MoveSettings::default());
        let error = read(json!({"default_time_zone": "Mars/Base"})).unwrap_err();
        assert!(error.to_string().contains("\"Mars/Base\" is not a known IANA time zone"), "{error}");
    }

    #[test]
    fn the_language_is_english_unless_set_and_an_unknown_one_refused() {
        assert_eq!(read(json!({})).unwrap().default_language, Language::English);
        let settings = read(json!({"default_language": "zh-CN"})).unwrap();
        assert_eq!(settings.default_language, Language::SimplifiedChinese);
        let error = read(json!({"default_language": "fr"})).unwrap_err();
        assert!(error.to_string().contains("\"fr\" is not one Convoy speaks"), "{error}");
    }
}
