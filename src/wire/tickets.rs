//! Ticket bodies: a ticket with its signed payload, and an inspector's verdict.

use serde::{Deserialize, Serialize};

use crate::domain::ticket::{TicketClaims, TicketVerdict};
use crate::domain::{OrderId, TicketId, TicketStatus};

#[derive(Debug, Clone, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    pub payload: String,
}

/// The verdict on a presented ticket.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Verdict {
    pub verdict: TicketVerdict,
    pub detail: String,
    pub claims: Option<TicketClaims>,
}
