//! The languages Convoy speaks to people: English and Simplified Chinese. A move's plan may name
//! one (`"language": "zh-CN"`), in which the alerts sent for it (e-mail, webhook text, group
//! robots) are written; the server has a default (`[moves] default_language`). The page speaks
//! the language each person chose. The CLI and logs stay English.

use std::fmt;

/// A language people read Convoy's messages in, by its BCP 47 tag.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Language {
    #[default]
    English,
    SimplifiedChinese,
}

/// A tag that is not one of Convoy's languages.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("language \"{0}\" is not one Convoy speaks; use \"en\" or \"zh-CN\"")]
pub struct UnknownLanguage(pub String);

impl Language {
    pub const ALL: [Language; 2] = [Language::English, Language::SimplifiedChinese];

    /// Exactly `en` or `zh-CN`, as the page and the plans write them: `zh`, `EN` or `zh-TW` is
    /// a mistake worth telling, not a guess. Refused tags are quoted back cut to 40 characters.
    pub fn parse(tag: &str) -> Result<Language, UnknownLanguage> {
        Language::ALL
            .into_iter()
            .find(|language| language.tag() == tag)
            .ok_or_else(|| UnknownLanguage(tag.chars().take(40).collect()))
    }

    /// The tag as the page and the API write it.
    pub fn tag(self) -> &'static str {
        match self {
            Language::English => "en",
            Language::SimplifiedChinese => "zh-CN",
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

impl serde::Serialize for Language {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.tag())
    }
}

impl<'de> serde::Deserialize<'de> for Language {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let tag = String::deserialize(deserializer)?;
        Language::parse(&tag).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exact_tags_read_and_write_back() {
        assert_eq!(Language::parse("en"), Ok(Language::English));
        assert_eq!(Language::parse("zh-CN"), Ok(Language::SimplifiedChinese));
        for language in Language::ALL {
            assert_eq!(Language::parse(language.tag()), Ok(language));
        }
    }

    #[test]
    fn other_tags_are_refused_and_quoted_short() {
        for tag in ["", "de", "zh-TW", "zh", "ZH-cn", "EN", "zh-Hans", "english", "en-US"] {
            assert!(Language::parse(tag).is_err(), "{tag}");
        }
        let long = "x".repeat(500);
        assert_eq!(Language::parse(&long).unwrap_err().0.len(), 40);
    }

    #[test]
    fn serde_uses_the_tag() {
        assert_eq!(serde_json::to_string(&Language::SimplifiedChinese).unwrap(), "\"zh-CN\"");
        assert_eq!(serde_json::from_str::<Language>("\"en\"").unwrap(), Language::English);
        assert!(serde_json::from_str::<Language>("\"fr\"").is_err());
    }
}
