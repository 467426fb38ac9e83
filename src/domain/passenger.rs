//! Who travels: a passenger's name and national ID (NID), parsed once where
//! they enter (an order or a counter sale) and carried typed from there on.

use std::fmt;

use chrono::Datelike;

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
///
/// `Debug` shows only its length: an NID is personal data and a `{:?}` ends
/// up in logs. `Display` (and `as_str`) give the number, for the places that
/// must show or store it.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Nid(String);

impl Nid {
    /// Parses an NID given for a passenger of an order.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        Self::parse_field(raw, "passengers")
    }

    /// Parses an NID given in `field` (the name a refusal reports).
    pub fn parse_field(raw: &str, field: &'static str) -> Result<Self, ParseError> {
        if !matches!(raw.len(), 10 | 13 | 17) || !raw.chars().all(|c| c.is_ascii_digit()) {
            return Err(ParseError::new(field, "an NID has 10, 13 or 17 digits"));
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

impl fmt::Debug for Nid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Nid(<{} digits>)", self.0.len())
    }
}

/// A date of birth as an NID registry records it: a calendar date from 1900
/// up to today (no one registers before they are born).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BirthDate(chrono::NaiveDate);

impl BirthDate {
    /// Parses `YYYY-MM-DD`, judged against `today` (the app's clock, in Dhaka).
    pub fn parse(raw: &str, today: chrono::NaiveDate) -> Result<Self, ParseError> {
        let field = "date_of_birth";
        let date = chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
            .ok()
            .filter(|_| raw.len() == 10)
            .ok_or_else(|| ParseError::new(field, "give a date as YYYY-MM-DD"))?;
        if date.year() < 1900 {
            return Err(ParseError::new(field, "a date of birth is 1900 or later"));
        }
        if date > today {
            return Err(ParseError::new(
                field,
                "a date of birth cannot be in the future",
            ));
        }
        Ok(BirthDate(date))
    }

    pub fn date(self) -> chrono::NaiveDate {
        self.0
    }
}

impl fmt::Display for BirthDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d"))
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
    fn an_nid_never_shows_in_debug() {
        let nid = Nid::parse("1234567890123").unwrap();
        assert_eq!(format!("{nid:?}"), "Nid(<13 digits>)");
        assert_eq!(nid.to_string(), "1234567890123");
        assert_eq!(Nid::parse_field("12ab", "nid").unwrap_err().field, "nid");
    }

    #[test]
    fn a_birth_date_is_a_real_past_date_from_1900() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
        assert_eq!(
            BirthDate::parse("1990-01-31", today).unwrap().to_string(),
            "1990-01-31"
        );
        assert!(BirthDate::parse("2026-12-02", today).is_ok());
        for bad in [
            "1800-01-01",
            "2026-12-03",
            "2999-01-01",
            "1990-02-30",
            "1990-1-1",
            "31/01/1990",
            "",
            "1990-01-01\n",
        ] {
            let e = BirthDate::parse(bad, today).unwrap_err();
            assert_eq!(e.field, "date_of_birth", "{bad:?}");
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
