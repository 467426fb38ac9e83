//! Ticket payloads: what the QR code carries, signed with Ed25519 so an
//! inspector's device can check a ticket offline with only the public key.
//!
//! Format: `TKT1.<base64url(JSON)>.<base64url(signature over the JSON bytes)>`.
//! An issued ticket's status says whether it still lets its passenger travel.

use super::status::status_enum;
use super::{OrderId, SeatId, TicketId};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use rand::Rng;
use serde::{Deserialize, Serialize};

const PREFIX: &str = "TKT1";

status_enum!(
    /// Whether an issued ticket still lets its passenger travel.
    TicketStatus, "a ticket status" {
        Valid => "valid",
        /// Its order was cancelled; the signature still checks, the server says no.
        Cancelled => "cancelled",
    }
);

/// One passenger's ticket for a confirmed order.
#[derive(Debug, Clone, PartialEq)]
pub struct Ticket {
    pub id: TicketId,
    pub pnr: String,
    pub order_id: OrderId,
    pub passenger_seq: u32,
    pub seat_id: SeatId,
    pub status: TicketStatus,
    /// The signed QR payload.
    pub payload: String,
    pub issued_at: chrono::DateTime<chrono::Utc>,
}

status_enum!(
    /// What checking a presented ticket found.
    TicketVerdict, "a ticket verdict" {
        /// Signed with our key, issued, and not cancelled (or, offline, the signature holds).
        Valid => "valid",
        /// The signature does not match, or it was never issued.
        Forged => "forged",
        /// Issued and since cancelled.
        Cancelled => "cancelled",
        /// Not a ticket payload at all.
        Malformed => "malformed",
    }
);

/// Everything printed on a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TicketClaims {
    pub pnr: String,
    pub train: u32,
    pub train_name: String,
    pub date: String,
    pub from: String,
    pub to: String,
    pub departs: String,
    pub coach: String,
    pub seat: String,
    pub class: String,
    pub passenger: String,
    pub order_id: OrderId,
    pub issued_at: String,
}

pub fn sign(claims: &TicketClaims, key: &SigningKey) -> String {
    let json = serde_json::to_vec(claims).expect("claims serialise");
    let sig = key.sign(&json);
    format!(
        "{PREFIX}.{}.{}",
        B64.encode(&json),
        B64.encode(sig.to_bytes())
    )
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TicketError {
    #[error("not a ticketctl ticket")]
    Malformed,
    #[error("the signature does not match: the ticket is forged or altered")]
    Forged,
}

/// Checks the signature and returns the claims.
pub fn verify(payload: &str, key: &VerifyingKey) -> Result<TicketClaims, TicketError> {
    let mut parts = payload.trim().split('.');
    let (Some(PREFIX), Some(body), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TicketError::Malformed);
    };
    let json = B64.decode(body).map_err(|_| TicketError::Malformed)?;
    let sig: [u8; 64] = B64
        .decode(sig)
        .ok()
        .and_then(|s| s.try_into().ok())
        .ok_or(TicketError::Malformed)?;
    key.verify(&json, &Signature::from_bytes(&sig))
        .map_err(|_| TicketError::Forged)?;
    serde_json::from_slice(&json).map_err(|_| TicketError::Malformed)
}

/// A PNR: 10 characters from an alphabet without look-alikes (no 0/O, 1/I/L).
pub fn new_pnr<R: Rng>(rng: &mut R) -> String {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
    (0..10)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> TicketClaims {
        TicketClaims {
            pnr: "AB23CD45EF".into(),
            train: 702,
            train_name: "Suborno Express".into(),
            date: "2026-11-25".into(),
            from: "DHK".into(),
            to: "CTG".into(),
            departs: "2026-11-25T16:30:00+06:00".into(),
            coach: "KA".into(),
            seat: "KA-12".into(),
            class: "S_CHAIR".into(),
            passenger: "Rahima Akter".into(),
            order_id: OrderId(1),
            issued_at: "2026-11-24T10:00:00+06:00".into(),
        }
    }

    #[test]
    fn a_signed_ticket_verifies_and_any_change_is_caught() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let payload = sign(&claims(), &key);
        assert_eq!(verify(&payload, &key.verifying_key()).unwrap(), claims());

        // Change the passenger's name inside the payload, keep the signature.
        let mut altered = claims();
        altered.passenger = "Someone Else".into();
        let body = B64.encode(serde_json::to_vec(&altered).unwrap());
        let sig = payload.rsplit('.').next().unwrap();
        let forged = format!("{PREFIX}.{body}.{sig}");
        assert_eq!(
            verify(&forged, &key.verifying_key()),
            Err(TicketError::Forged)
        );

        let other = SigningKey::from_bytes(&[8u8; 32]);
        assert_eq!(
            verify(&payload, &other.verifying_key()),
            Err(TicketError::Forged)
        );
        assert_eq!(
            verify("hello", &key.verifying_key()),
            Err(TicketError::Malformed)
        );
    }

    #[test]
    fn pnrs_avoid_look_alike_characters() {
        let mut rng = rand::thread_rng();
        for _ in 0..100 {
            let p = new_pnr(&mut rng);
            assert_eq!(p.len(), 10);
            assert!(!p.contains(['0', 'O', '1', 'I', 'L']), "{p}");
        }
    }
}
