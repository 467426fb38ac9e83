//! Payment card numbers: checked with Luhn, never kept, never printed.

use std::fmt;

use super::ParseError;

/// A primary account number. Its `Debug` shows only the last four digits, so it
/// cannot leak into logs by accident; it is never stored.
#[derive(Clone, PartialEq, Eq)]
pub struct CardNumber(String);

impl CardNumber {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let digits: String = s.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        if !(12..=19).contains(&digits.len()) || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(ParseError::new(
                "number",
                "a card number has 12 to 19 digits",
            ));
        }
        if !luhn_valid(&digits) {
            return Err(ParseError::new(
                "number",
                "the card number is mistyped (check digit fails)",
            ));
        }
        Ok(CardNumber(digits))
    }

    pub fn last4(&self) -> &str {
        &self.0[self.0.len() - 4..]
    }

    pub fn digits(&self) -> &str {
        &self.0
    }

    pub fn brand(&self) -> &'static str {
        let d = &self.0;
        if d.starts_with('4') {
            "visa"
        } else if [
            "51", "52", "53", "54", "55", "22", "23", "24", "25", "26", "27",
        ]
        .iter()
        .any(|p| d.starts_with(p))
        {
            "mastercard"
        } else if d.starts_with("34") || d.starts_with("37") {
            "amex"
        } else {
            "card"
        }
    }
}

impl fmt::Debug for CardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CardNumber(****{})", self.last4())
    }
}

/// The Luhn mod-10 check every card number carries.
pub fn luhn_valid(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = (b - b'0') as u32;
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    sum % 10 == 0
}

/// Cards are issued for a few years; an expiry further out is a typo or a probe.
pub const MAX_CARD_YEARS: u32 = 20;

/// Checks expiry (month/year, not in the past at `today_ym` = (year, month)) and CVC shape.
pub fn check_expiry_and_cvc(
    month: u32,
    year: u32,
    cvc: &str,
    today_ym: (u32, u32),
) -> Result<(), ParseError> {
    if !(1..=12).contains(&month) {
        return Err(ParseError::new("exp_month", "must be 1 to 12"));
    }
    let year = if year < 100 { 2000 + year } else { year };
    if (year, month) < today_ym {
        return Err(ParseError::new("exp_year", "the card has expired"));
    }
    if year > today_ym.0 + MAX_CARD_YEARS {
        return Err(ParseError::new(
            "exp_year",
            format!("a card expires within {MAX_CARD_YEARS} years"),
        ));
    }
    if !(3..=4).contains(&cvc.len()) || !cvc.chars().all(|c| c.is_ascii_digit()) {
        return Err(ParseError::new("cvc", "must be 3 or 4 digits"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_accepts_test_cards_and_refuses_typos() {
        for n in [
            "4242424242424242",
            "4000000000000002",
            "5555555555554444",
            "378282246310005",
        ] {
            assert!(CardNumber::parse(n).is_ok(), "{n}");
        }
        assert!(CardNumber::parse("4242424242424241").is_err());
        assert!(CardNumber::parse("4242").is_err());
        assert!(CardNumber::parse("4242-4242-4242-424x").is_err());
    }

    #[test]
    fn debug_never_shows_the_number() {
        let c = CardNumber::parse("4242 4242 4242 4242").unwrap();
        assert_eq!(format!("{c:?}"), "CardNumber(****4242)");
        assert_eq!(c.brand(), "visa");
    }

    #[test]
    fn expiry_and_cvc() {
        assert!(check_expiry_and_cvc(12, 2030, "123", (2026, 11)).is_ok());
        assert!(check_expiry_and_cvc(11, 26, "1234", (2026, 11)).is_ok());
        assert!(check_expiry_and_cvc(10, 2026, "123", (2026, 11)).is_err());
        assert!(check_expiry_and_cvc(13, 2030, "123", (2026, 11)).is_err());
        assert!(check_expiry_and_cvc(1, 2030, "12", (2026, 11)).is_err());
        assert!(check_expiry_and_cvc(12, 2046, "123", (2026, 11)).is_ok());
        assert!(check_expiry_and_cvc(1, 2047, "123", (2026, 11)).is_err());
        assert!(check_expiry_and_cvc(1, 9999, "123", (2026, 11)).is_err());
        assert!(check_expiry_and_cvc(1, u32::MAX, "123", (2026, 11)).is_err());
    }
}
