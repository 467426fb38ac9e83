//! Users: accounts, their roles and the contact details that identify them.

use chrono::{DateTime, Utc};

use super::{ParseError, UserId};
use std::fmt;
use std::str::FromStr;

/// An account: a passenger, a counter clerk or an admin.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: UserId,
    pub name: String,
    /// Normalised (`+8801…`).
    pub phone: String,
    /// Normalised (lower case).
    pub email: String,
    pub password_hash: String,
    pub role: Role,
    pub totp_secret: Option<String>,
    pub mfa_enabled: bool,
    /// Attempts counted since the last success or lock (see the identity store).
    pub failed_logins: i64,
    pub locked_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// The national ID verified for this account; `None` for older accounts
    /// and staff, who cannot buy online until they add one.
    pub nid: Option<super::Nid>,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Passenger,
    Clerk,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Passenger => "passenger",
            Role::Clerk => "clerk",
            Role::Admin => "admin",
        }
    }
}

impl FromStr for Role {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "passenger" => Ok(Role::Passenger),
            "clerk" => Ok(Role::Clerk),
            "admin" => Ok(Role::Admin),
            _ => Err(ParseError::new(
                "role",
                format!("'{s}' is not a role (passenger, clerk or admin)"),
            )),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A Bangladeshi mobile number, kept in the form `+8801XXXXXXXXX`.
///
/// Accepts `01712345678`, `8801712345678`, `+880 1712-345678`: operators'
/// prefixes are 013–019, followed by eight digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Phone(String);

impl Phone {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let digits: String = s
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '(' | ')'))
            .collect();
        let national = digits
            .strip_prefix("+880")
            .or_else(|| digits.strip_prefix("880"))
            .map(|rest| format!("0{rest}"))
            .unwrap_or(digits);
        let ok = national.len() == 11
            && national.starts_with("01")
            && matches!(national.as_bytes()[2], b'3'..=b'9')
            && national.chars().all(|c| c.is_ascii_digit());
        if ok {
            Ok(Phone(format!("+88{national}")))
        } else {
            Err(ParseError::new(
                "phone",
                format!("'{s}' is not a Bangladeshi mobile number like 01712345678"),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An e-mail address, lower-cased. Only the shape is checked; delivery proves the rest.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let s = s.trim().to_ascii_lowercase();
        let valid = s.len() <= 254
            && s.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !s.contains(char::is_whitespace)
                    && !domain.contains('@')
            });
        if valid {
            Ok(Email(s))
        } else {
            Err(ParseError::new(
                "email",
                format!("'{s}' is not an e-mail address"),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Password rule: long enough to resist guessing, short enough to hash cheaply.
pub fn check_password(password: &str) -> Result<(), ParseError> {
    let n = password.chars().count();
    if n < 8 {
        return Err(ParseError::new("password", "must be at least 8 characters"));
    }
    if n > 128 {
        return Err(ParseError::new(
            "password",
            "must be at most 128 characters",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_normalise_to_international_form() {
        for s in [
            "01712345678",
            "8801712345678",
            "+880 1712-345678",
            "+8801712345678",
        ] {
            assert_eq!(Phone::parse(s).unwrap().as_str(), "+8801712345678", "{s}");
        }
        for s in [
            "0171234567",
            "01212345678",
            "02712345678",
            "+9101712345678",
            "0171234567a",
        ] {
            assert!(Phone::parse(s).is_err(), "{s}");
        }
    }

    #[test]
    fn emails_need_a_domain() {
        assert_eq!(
            Email::parse(" Rahim@Example.COM ").unwrap().as_str(),
            "rahim@example.com"
        );
        for s in [
            "rahim",
            "rahim@",
            "@example.com",
            "rahim@example",
            "a b@example.com",
        ] {
            assert!(Email::parse(s).is_err(), "{s}");
        }
    }

    #[test]
    fn roles_and_passwords() {
        assert_eq!("Clerk".parse::<Role>().unwrap(), Role::Clerk);
        assert!("root".parse::<Role>().is_err());
        assert!(check_password("short").is_err());
        assert!(check_password("long enough").is_ok());
    }
}
