//! Stations and their short codes.

use super::ParseError;
use std::fmt;

/// A station's short code: 2–5 ASCII letters, stored upper-case (`DHK`, `CTG`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct StationCode(String);

impl StationCode {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let s = s.trim();
        if (2..=5).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphabetic()) {
            Ok(StationCode(s.to_ascii_uppercase()))
        } else {
            Err(ParseError::new(
                "code",
                format!("'{s}' is not a station code (2 to 5 letters, like DHK)"),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Station {
    pub id: super::StationId,
    pub code: StationCode,
    pub name_en: String,
    pub name_bn: Option<String>,
    pub aliases: Vec<String>,
}

/// Folds a typed station name for comparison: case, spaces, underscores,
/// apostrophes and dots do not matter ("cox's bazar" = "Coxs_Bazar").
pub fn fold_name(s: &str) -> String {
    s.trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '_' | '\'' | '.' | '-' | '\u{2019}'))
        .flat_map(char::to_lowercase)
        .collect()
}

impl Station {
    /// True when `query` names this station by code, English or Bangla name, or alias.
    pub fn answers_to(&self, query: &str) -> bool {
        let q = fold_name(query);
        if q.is_empty() {
            return false;
        }
        q == fold_name(self.code.as_str())
            || q == fold_name(&self.name_en)
            || self.name_bn.as_deref().is_some_and(|bn| q == fold_name(bn))
            || self.aliases.iter().any(|a| q == fold_name(a))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dhaka() -> Station {
        Station {
            id: crate::domain::StationId(1),
            code: StationCode::parse("dhk").unwrap(),
            name_en: "Dhaka".into(),
            name_bn: Some("ঢাকা".into()),
            aliases: vec!["Kamalapur".into()],
        }
    }

    #[test]
    fn answers_to_code_names_and_aliases_in_any_case() {
        let s = dhaka();
        for q in ["DHK", "dhk", "Dhaka", "DHAKA", " dhaka ", "ঢাকা", "kamalapur"] {
            assert!(s.answers_to(q), "{q}");
        }
        assert!(!s.answers_to("Dhak"));
        assert!(!s.answers_to(""));
    }

    #[test]
    fn codes_are_short_letters() {
        assert_eq!(StationCode::parse("ctg").unwrap().as_str(), "CTG");
        assert!(StationCode::parse("C").is_err());
        assert!(StationCode::parse("CT1").is_err());
        assert!(StationCode::parse("CHATTOGRAM").is_err());
    }

    #[test]
    fn folding_ignores_punctuation_and_underscores() {
        assert_eq!(fold_name("Cox's Bazar"), fold_name("Coxs_Bazar"));
        assert_eq!(fold_name("Biman_Bandar"), fold_name("biman bandar"));
    }
}
