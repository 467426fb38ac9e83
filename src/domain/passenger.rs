//! Who travels: a passenger's name and national ID (NID), parsed once where
//! they enter (an order or a counter sale) and carried typed from there on.

use std::fmt;

use super::ParseError;

/// The longest passenger name, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// A passenger's name as printed on the ticket: trimmed, 1 to 100 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassengerName(String);

impl PassengerName {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let name = raw.trim();
        let chars = name.chars().count();
        if chars == 0 || chars > MAX_NAME_CHARS {
            return Err(ParseError::new(
                "passengers",
                format!("each passenger needs a name of 1–{MAX_NAME_CHARS} characters"),
            ));
        }
        Ok(PassengerName(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for PassengerName {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        PassengerName::parse(s)
    }
}

impl fmt::Display for PassengerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A Bangladeshi national ID number: 10, 13 or 17 digits (the old and the
/// new smart-card formats), exactly as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nid(String);

impl Nid {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        if !matches!(raw.len(), 10 | 13 | 17) || !raw.chars().all(|c| c.is_ascii_digit()) {
            return Err(ParseError::new(
                "passengers",
                "an NID has 10, 13 or 17 digits",
            ));
        }
        Ok(Nid(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for Nid {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        Nid::parse(s)
    }
}

impl fmt::Display for Nid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_one_to_a_hundred_characters() {
        assert_eq!(
            PassengerName::parse("  Rahima Akter ").unwrap().as_str(),
            "Rahima Akter"
        );
        assert_eq!(
            PassengerName::parse(&"ঢ".repeat(100))
                .unwrap()
                .as_str()
                .chars()
                .count(),
            100,
            "characters, not bytes"
        );
        for bad in ["", "   ", &"a".repeat(101)] {
            let e = PassengerName::parse(bad).unwrap_err();
            assert_eq!(
                (e.field, e.message.as_str()),
                (
                    "passengers",
                    "each passenger needs a name of 1–100 characters"
                )
            );
        }
    }

    #[test]
    fn an_nid_has_ten_thirteen_or_seventeen_digits() {
        for good in ["1234567890", "1234567890123", "12345678901234567"] {
            assert_eq!(Nid::parse(good).unwrap().as_str(), good);
        }
        for bad in [
            "123456789",
            "12345678901",
            "123456789012a",
            " 1234567890",
            "",
        ] {
            let e = Nid::parse(bad).unwrap_err();
            assert_eq!(
                (e.field, e.message.as_str()),
                ("passengers", "an NID has 10, 13 or 17 digits")
            );
        }
    }
}
