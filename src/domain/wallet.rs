//! Mobile-wallet payments (bKash, Nagad, Rocket): the payer's wallet number,
//! the provider, what a provider says about a payment, and the signature its
//! callbacks carry. The mock provider signs with [`sign`]; the booking server
//! checks with [`verify`]: one rule, one home.
//!
//! Pure: no I/O, no HTTP; the time to judge a signature by is passed in.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::ParseError;
use super::charge::ChargeStatus;
use super::status::status_enum;

status_enum!(
    /// Which mobile wallet a passenger pays with.
    WalletProvider, "a mobile-wallet provider" {
        Bkash => "bkash",
        Nagad => "nagad",
        Rocket => "rocket",
    }
);

status_enum!(
    /// What the provider says about a payment.
    WalletState, "a wallet payment's state" {
        /// Created; the passenger has not approved it (yet).
        Initiated => "initiated",
        /// Approved on the wallet's page; the money is still moving.
        Processing => "processing",
        /// The money was taken.
        Completed => "completed",
        /// The passenger (or the merchant) cancelled it; nothing was taken.
        Cancelled => "cancelled",
        /// The wallet refused it (e.g. insufficient balance); nothing was taken.
        Failed => "failed",
    }
);

impl WalletState {
    /// Whether the payment can still change (the passenger may yet pay).
    pub fn is_open(self) -> bool {
        matches!(self, WalletState::Initiated | WalletState::Processing)
    }

    /// The payment as a charge's outcome: `None` while it is open.
    pub fn charge_status(self) -> Option<ChargeStatus> {
        match self {
            WalletState::Completed => Some(ChargeStatus::Succeeded),
            WalletState::Cancelled => Some(ChargeStatus::Declined),
            WalletState::Failed => Some(ChargeStatus::DeclinedFunds),
            WalletState::Initiated | WalletState::Processing => None,
        }
    }
}

/// A Bangladeshi mobile-wallet account number: the owner's mobile number,
/// `01` then an operator digit 3–9 then eight digits (`01712345678`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WalletNumber(String);

impl WalletNumber {
    pub fn parse(raw: &str) -> Result<WalletNumber, ParseError> {
        let b = raw.as_bytes();
        let ok = b.len() == 11
            && b.iter().all(u8::is_ascii_digit)
            && b.starts_with(b"01")
            && (b'3'..=b'9').contains(&b[2]);
        if ok {
            Ok(WalletNumber(raw.to_owned()))
        } else {
            Err(ParseError::new(
                "wallet.number",
                "must be an 11-digit mobile wallet number like 01712345678",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn last4(&self) -> &str {
        &self.0[7..]
    }
}

impl std::fmt::Display for WalletNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The header a provider's callback is signed in: `t=<unix seconds>,v1=<hex>`.
pub const SIGNATURE_HEADER: &str = "x-wallet-signature";

/// How far a callback's timestamp may be from our clock, either way.
pub const CALLBACK_TOLERANCE_SECS: i64 = 300;

/// Why a callback's signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the signature header is missing or not 't=<unix seconds>,v1=<hex>'")]
    Malformed,
    #[error("the signature does not match the body")]
    Mismatch,
    #[error("the signature's timestamp is too far from now (a replay?)")]
    Stale,
}

fn mac(key: &[u8], timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The signature header for `body` sent at `timestamp`: HMAC-SHA256 over
/// `"<timestamp>.<body>"` with the merchant key.
pub fn sign(key: &[u8], timestamp: i64, body: &[u8]) -> String {
    let tag = mac(key, timestamp, body).finalize().into_bytes();
    format!("t={timestamp},v1={}", hex::encode(tag))
}

/// Checks `header` against `body` (compared in constant time), and that its
/// timestamp is within `tolerance` seconds of `now`; answers the timestamp.
pub fn verify(
    key: &[u8],
    header: &str,
    body: &[u8],
    now: i64,
    tolerance: i64,
) -> Result<i64, SignatureError> {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", x)) => t = x.parse::<i64>().ok(),
            Some(("v1", x)) => v1 = hex::decode(x).ok(),
            _ => return Err(SignatureError::Malformed),
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return Err(SignatureError::Malformed);
    };
    mac(key, t, body)
        .verify_slice(&v1)
        .map_err(|_| SignatureError::Mismatch)?;
    if (now - t).abs() > tolerance {
        return Err(SignatureError::Stale);
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wallet_numbers_are_bangladeshi_mobile_numbers() {
        let n = WalletNumber::parse("01712345678").unwrap();
        assert_eq!(n.last4(), "5678");
        for bad in [
            "",
            "0171234567",
            "017123456789",
            "02712345678",
            "01212345678",
            "0171234567x",
            "+8801712345678",
        ] {
            assert!(WalletNumber::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_signature_verifies_only_its_body_key_and_time() {
        let key = b"merchant";
        let h = sign(key, 1_000, b"{\"a\":1}");
        assert_eq!(verify(key, &h, b"{\"a\":1}", 1_000, 300), Ok(1_000));
        assert_eq!(verify(key, &h, b"{\"a\":1}", 1_299, 300), Ok(1_000));
        assert_eq!(
            verify(key, &h, b"{\"a\":2}", 1_000, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"other", &h, b"{\"a\":1}", 1_000, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(key, &h, b"{\"a\":1}", 1_301, 300),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(key, &h, b"{\"a\":1}", 699, 300),
            Err(SignatureError::Stale)
        );
        for bad in [
            "",
            "t=1",
            "v1=00",
            "t=x,v1=00",
            "t=1,v1=zz",
            "t=1,v1=00,x=1",
        ] {
            assert_eq!(
                verify(key, bad, b"", 1, 300),
                Err(SignatureError::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn only_closed_payments_are_charges() {
        assert_eq!(
            WalletState::Completed.charge_status(),
            Some(ChargeStatus::Succeeded)
        );
        assert_eq!(WalletState::Processing.charge_status(), None);
        assert!(WalletState::Initiated.is_open() && !WalletState::Failed.is_open());
    }
}
