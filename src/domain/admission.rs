//! Admission tokens of the waiting room: `<base64url(JSON claims)>.<base64url(HMAC-SHA256)>`.
//! A token names the sale and the user it was issued to, carries a unique id
//! (so a token from an earlier, finished admission is recognised as a replay)
//! and a hard expiry; the server keeps the inactivity timeout.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdmissionClaims {
    pub sale: String,
    pub user: i64,
    /// Unique per admission.
    pub jti: String,
    /// Unix seconds after which the token is void whatever the server says.
    pub exp: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AdmissionError {
    #[error("the admission token is malformed")]
    Malformed,
    #[error("the admission token's signature does not match")]
    Forged,
    #[error("the admission token has expired; join the queue again")]
    Expired,
}

fn mac(key: &[u8], body: &[u8]) -> HmacSha256 {
    let mut m = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    m.update(body);
    m
}

pub fn sign(claims: &AdmissionClaims, key: &[u8]) -> String {
    let body = serde_json::to_vec(claims).expect("claims serialise");
    let tag = mac(key, &body).finalize().into_bytes();
    format!("{}.{}", B64.encode(&body), B64.encode(tag))
}

/// Checks the signature (in constant time) and the hard expiry.
pub fn verify(token: &str, key: &[u8], now: i64) -> Result<AdmissionClaims, AdmissionError> {
    let (body, tag) = token
        .trim()
        .split_once('.')
        .ok_or(AdmissionError::Malformed)?;
    let body = B64.decode(body).map_err(|_| AdmissionError::Malformed)?;
    let tag = B64.decode(tag).map_err(|_| AdmissionError::Malformed)?;
    mac(key, &body)
        .verify_slice(&tag)
        .map_err(|_| AdmissionError::Forged)?;
    let claims: AdmissionClaims =
        serde_json::from_slice(&body).map_err(|_| AdmissionError::Malformed)?;
    if claims.exp <= now {
        return Err(AdmissionError::Expired);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> AdmissionClaims {
        AdmissionClaims {
            sale: "eid-2026".into(),
            user: 7,
            jti: "abc".into(),
            exp: 1_000,
        }
    }

    #[test]
    fn tokens_verify_and_resist_tampering() {
        let key = b"a key of the waiting room";
        let t = sign(&claims(), key);
        assert_eq!(verify(&t, key, 999).unwrap(), claims());
        assert_eq!(verify(&t, key, 1_000), Err(AdmissionError::Expired));
        assert_eq!(verify(&t, b"another key", 999), Err(AdmissionError::Forged));
        let mut other = claims();
        other.user = 8;
        let forged = format!(
            "{}.{}",
            B64.encode(serde_json::to_vec(&other).unwrap()),
            t.split_once('.').unwrap().1
        );
        assert_eq!(verify(&forged, key, 999), Err(AdmissionError::Forged));
        assert_eq!(verify("nonsense", key, 999), Err(AdmissionError::Malformed));
    }
}
