//! The languages the web page speaks, as a person's saved choice (`PUT /api/v1/me/language`).

use std::fmt;

use serde::{Deserialize, Serialize};

/// A language the page is translated into: English or Simplified Chinese.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Language {
    #[serde(rename = "en")]
    En,
    #[serde(rename = "zh-CN")]
    ZhCn,
}

impl Language {
    pub const ALL: [Language; 2] = [Language::En, Language::ZhCn];

    /// Its BCP 47 tag, as the page and the database spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::ZhCn => "zh-CN",
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Language {
    type Err = String;
    /// Only the exact tags: the page sends what it was given, so `zh` or `EN` is a mistake.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Language::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| format!("unknown language {s:?}; expected en or zh-CN"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_tags_are_languages() {
        for language in Language::ALL {
            assert_eq!(language.as_str().parse::<Language>(), Ok(language));
            assert_eq!(serde_json::to_value(language).unwrap(), language.as_str());
        }
        for wrong in ["", "zh", "ZH-cn", "EN", "en-US", "fr", "zh-TW"] {
            assert!(wrong.parse::<Language>().is_err(), "{wrong}");
        }
    }
}
