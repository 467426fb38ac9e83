//! Ticket bodies: a ticket with its signed payload, and an inspector's verdict.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::ticket::{TicketClaims, TicketVerdict};
use crate::domain::{OrderId, TicketId, TicketStatus};

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TicketView {
    pub ticket_id: TicketId,
    pub pnr: String,
    pub status: TicketStatus,
    pub order_id: OrderId,
    pub claims: TicketClaims,
    /// The signed QR payload.
    pub payload: String,
}

/// `POST /v1/tickets/verify`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    pub payload: String,
}

/// The verdict on a presented ticket.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Verdict {
    pub verdict: TicketVerdict,
    pub detail: String,
    pub claims: Option<TicketClaims>,
}

/// `GET /v1/tickets/public-key`: what inspectors' devices check tickets with, offline.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TicketKey {
    /// Always "Ed25519".
    pub algorithm: String,
    /// The public key, hex.
    pub public_key: String,
}
