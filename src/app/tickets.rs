//! Tickets: issued for confirmed orders, one per passenger, each with a PNR and
//! a QR code whose payload is signed (Ed25519) for offline checking. Drawing
//! the QR code itself is `adapters::qr`'s job.

use crate::wire::tickets::{TicketView, Verdict};
use ed25519_dalek::{SigningKey, VerifyingKey};

use crate::domain::Train;
use crate::domain::ticket::{TicketClaims, new_pnr, sign, verify};
use crate::domain::time::to_local_rfc3339;
use crate::domain::{
    Hold, Order, OrderId, OrderStatus, Ticket, TicketId, TicketStatus, TicketVerdict, UserId,
};
use crate::store::prelude::*;
use crate::store::{NewTicket, TripRecord};
use chrono::{DateTime, Utc};

use super::{App, AppError, AppResult};

/// Loads the signing key: the configured hex seed, or the one kept in the database.
pub(crate) async fn load_signing_key(
    store: &dyn Store,
    configured: Option<&str>,
) -> AppResult<SigningKey> {
    let seed_hex = match configured {
        Some(s) => s.to_owned(),
        None => {
            let mut seed = [0u8; 32];
            rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut seed);
            store
                .setting_or_init("ticket_signing_key", &hex::encode(seed))
                .await?
        }
    };
    let seed: [u8; 32] = hex::decode(seed_hex.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| AppError::Internal("the ticket signing key must be 64 hex digits".into()))?;
    Ok(SigningKey::from_bytes(&seed))
}

pub fn parse_public_key(hex_key: &str) -> AppResult<VerifyingKey> {
    let bytes: [u8; 32] = hex::decode(hex_key.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| crate::domain::ParseError::new("public_key", "must be 64 hex digits"))?;
    VerifyingKey::from_bytes(&bytes)
        .map_err(|_| crate::domain::ParseError::new("public_key", "not an Ed25519 key").into())
}

/// Checks a payload offline (signature only).
pub fn verify_offline(payload: &str, key: &VerifyingKey) -> Verdict {
    match verify(payload, key) {
        Ok(claims) => Verdict {
            verdict: TicketVerdict::Valid,
            detail: "signature valid".into(),
            claims: Some(claims),
        },
        Err(crate::domain::ticket::TicketError::Forged) => Verdict {
            verdict: TicketVerdict::Forged,
            detail: "the signature does not match: forged or altered".into(),
            claims: None,
        },
        Err(e) => Verdict {
            verdict: TicketVerdict::Malformed,
            detail: e.to_string(),
            claims: None,
        },
    }
}

impl App {
    pub fn ticket_public_key(&self) -> String {
        hex::encode(self.ticket_key.verifying_key().to_bytes())
    }

    /// Issues the tickets of a confirmed order; running it again issues nothing new.
    pub async fn issue_tickets(&self, order_id: OrderId) -> AppResult<usize> {
        let order = self
            .store
            .order(order_id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no order {order_id}")))?;
        if order.status != OrderStatus::Confirmed {
            return Ok(0);
        }
        let existing = self.store.tickets_of_order(order_id).await?;
        if order
            .passengers
            .iter()
            .all(|p| existing.iter().any(|t| t.passenger_seq == p.seq))
        {
            // The usual case for the fulfillment worker: the saga issued them already.
            return Ok(0);
        }
        let hold = self
            .store
            .hold(order.hold_id)
            .await?
            .ok_or_else(|| AppError::Internal(format!("order {order_id} lost its hold")))?;
        let (trip, train) = self
            .trip_and_train(order.trip_id)
            .await
            .map_err(|_| AppError::Internal(format!("order {order_id} lost its trip")))?;
        let now = self.now();
        let tickets = self.new_tickets(&order, &hold, &trip, &train, &existing, now);
        if tickets.is_empty() {
            return Ok(0);
        }
        let issued = self.store.issue_tickets(&tickets, now).await?;
        self.metrics.tickets_issued(issued);
        Ok(issued)
    }

    /// Signed tickets for the passengers of `order` who have none in `existing`.
    pub(crate) fn new_tickets(
        &self,
        order: &Order,
        hold: &Hold,
        trip: &TripRecord,
        train: &Train,
        existing: &[Ticket],
        now: DateTime<Utc>,
    ) -> Vec<NewTicket> {
        let (from, to) = (
            &train.stops[hold.from_stop as usize],
            &train.stops[hold.to_stop as usize],
        );
        let mut rng = rand::thread_rng();
        order
            .passengers
            .iter()
            .filter(|p| !existing.iter().any(|t| t.passenger_seq == p.seq))
            .map(|p| {
                let seat = hold
                    .seats
                    .iter()
                    .find(|s| s.id == p.seat_id)
                    .expect("passenger seat is in the hold");
                let claims = TicketClaims {
                    pnr: new_pnr(&mut rng),
                    train: train.number,
                    train_name: train.name.clone(),
                    date: trip.date.to_string(),
                    from: from.station.to_string(),
                    to: to.station.to_string(),
                    departs: to_local_rfc3339(trip.date.at(from.boards_at())),
                    coach: seat.coach_code.clone(),
                    seat: seat.label(),
                    class: hold.class.to_string(),
                    passenger: p.name.to_string(),
                    order_id: order.id,
                    issued_at: to_local_rfc3339(now),
                };
                NewTicket {
                    pnr: claims.pnr.clone(),
                    order_id: order.id,
                    passenger_seq: p.seq,
                    seat_id: p.seat_id,
                    payload: sign(&claims, &self.ticket_key),
                }
            })
            .collect()
    }

    pub fn ticket_view(&self, t: &Ticket) -> AppResult<TicketView> {
        let claims = verify(&t.payload, &self.ticket_key.verifying_key())?;
        Ok(TicketView {
            ticket_id: t.id,
            pnr: t.pnr.clone(),
            status: t.status,
            order_id: t.order_id,
            claims,
            payload: t.payload.clone(),
        })
    }

    /// A ticket, visible to its buyer and to clerks and admins.
    pub async fn ticket_for(
        &self,
        id: TicketId,
        user_id: UserId,
        staff: bool,
    ) -> AppResult<Ticket> {
        let ticket = self
            .store
            .ticket(id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no ticket {id}")))?;
        let order = self.store.order(ticket.order_id).await?;
        if !staff && order.is_none_or(|o| o.user_id != user_id) {
            return Err(AppError::NotFound(format!("no ticket {id}")));
        }
        Ok(ticket)
    }

    /// Verifies a presented payload: the signature offline, then whether the
    /// ticket was cancelled since (which only the server knows).
    pub async fn verify_ticket(&self, payload: &str) -> AppResult<Verdict> {
        let mut verdict = verify_offline(payload, &self.ticket_key.verifying_key());
        if let Some(claims) = &verdict.claims {
            match self.store.ticket_by_pnr(&claims.pnr).await? {
                Some(t) if t.status == TicketStatus::Cancelled => {
                    verdict.verdict = TicketVerdict::Cancelled;
                    verdict.detail = "the ticket was cancelled".into();
                }
                Some(t) if t.payload == payload => {}
                _ => {
                    verdict.verdict = TicketVerdict::Forged;
                    verdict.detail = "signed with our key but never issued".into();
                }
            }
        }
        Ok(verdict)
    }
}
