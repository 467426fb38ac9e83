//! What the store answers that is not one of the domain's entities: catalog
//! read models (trains and trips with their keys, free-seat counts, table
//! counts), an Idempotency-Key's record, a payment token, outbox events and
//! audit entries, and the invariant checker's views.

use chrono::{DateTime, Utc};

use crate::domain::{
    AuditEntryId, Charge, Event, EventId, HoldId, HoldStatus, OrderId, OrderStatus, SeatClass,
    SeatId, SegmentMask, ServiceDate, SubjectId, Train, TrainId, TripId, UserId,
};

#[derive(Debug, Clone, PartialEq)]
pub struct TrainRecord {
    pub id: TrainId,
    pub train: Train,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TripRecord {
    pub id: TripId,
    pub train_id: TrainId,
    pub train_number: u32,
    pub date: ServiceDate,
    pub departs_at: DateTime<Utc>,
    pub sale_opens_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FreeCount {
    pub trip_id: TripId,
    pub class: SeatClass,
    pub free: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Counts {
    pub stations: i64,
    pub trains: i64,
    pub train_stops: i64,
    pub coaches: i64,
    pub fares: i64,
    pub trips: i64,
    pub seats: i64,
    pub users: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IdempotencyRecord {
    pub request_hash: String,
    pub order_id: Option<OrderId>,
    pub status_code: Option<u16>,
    pub response: Option<String>,
}

impl IdempotencyRecord {
    /// What the key's request was answered, once one was recorded.
    pub fn answer(&self) -> Option<RecordedAnswer> {
        match (self.status_code, &self.response) {
            (Some(status), Some(body)) => Some(RecordedAnswer {
                status,
                body: body.clone(),
            }),
            _ => None,
        }
    }
}

/// What an order request was answered, kept verbatim under its
/// Idempotency-Key so a repeat is answered byte for byte the same. The server
/// renders it and sends it; the store and the app only keep and hand it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedAnswer {
    pub status: u16,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PaymentToken {
    pub token: String,
    pub user_id: UserId,
    pub brand: String,
    pub last4: String,
    pub exp_month: u32,
    pub exp_year: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEvent {
    pub id: EventId,
    pub event: Event,
    pub subject_id: SubjectId,
    /// The payload as stored: the audit chain hashes this text, which rows
    /// written by older versions may spell differently from `Event::payload`.
    pub payload: String,
    pub created_at: DateTime<Utc>,
}

impl OutboxEvent {
    pub fn kind(&self) -> &'static str {
        self.event.kind()
    }
}

/// A consumer's claim on a batch of events: until `now + lease` no other
/// claimant (another process's consumer of the same kind) is given them. A
/// claimant that dies without marking them loses them when the lease lapses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxClaim {
    /// Who claims: one name per process (its consumers differ by column).
    pub owner: String,
    pub now: DateTime<Utc>,
    pub lease: chrono::Duration,
}

impl OutboxClaim {
    pub fn until(&self) -> DateTime<Utc> {
        self.now + self.lease
    }
}

/// The in-process consumers of the outbox; each tracks its own progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consumer {
    Fulfillment,
    Notification,
    Audit,
    /// The relay to the event stream (NATS JetStream), when one is configured.
    Relay,
}

impl Consumer {
    /// The outbox column that records this consumer's progress.
    pub fn column(self) -> &'static str {
        match self {
            Consumer::Fulfillment => "fulfilled_at",
            Consumer::Notification => "notified_at",
            Consumer::Audit => "audited_at",
            Consumer::Relay => "relayed_at",
        }
    }

    /// The outbox columns of this consumer's current claim: who holds it, and until when.
    pub fn claim_columns(self) -> (&'static str, &'static str) {
        match self {
            Consumer::Fulfillment => ("fulfil_claimed_by", "fulfil_claimed_until"),
            Consumer::Notification => ("notify_claimed_by", "notify_claimed_until"),
            Consumer::Audit => ("audit_claimed_by", "audit_claimed_until"),
            Consumer::Relay => ("relay_claimed_by", "relay_claimed_until"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    pub id: AuditEntryId,
    pub event_id: EventId,
    pub at: i64,
    pub kind: String,
    pub subject_id: SubjectId,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

/// One seat's claim by a hold, for checking the inventory invariants.
#[derive(Debug, Clone, PartialEq)]
pub struct SeatClaim {
    pub seat_id: SeatId,
    pub seat_taken: SegmentMask,
    pub hold_id: HoldId,
    pub hold_mask: SegmentMask,
    pub hold_status: HoldStatus,
    pub order_status: Option<OrderStatus>,
}

/// Money and ticket totals, for the invariants of DESIGN.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Ledger {
    pub confirmed_orders: i64,
    pub confirmed_passengers: i64,
    pub valid_tickets: i64,
    /// Valid tickets whose order is not confirmed (must be 0).
    pub stray_tickets: i64,
    /// What our orders say we kept: confirmed amounts, plus cancelled/refunded amounts less refunds.
    pub orders_net: i64,
    /// What the gateway says it took: succeeded charges less refunds.
    pub gateway_net: i64,
    /// Of `gateway_net`: what the card gateway, the wallet provider and the
    /// cash drawer each say they keep (filled in by the app, which asks them).
    pub card_net: i64,
    pub wallet_net: i64,
    pub cash_net: i64,
}

/// What our side says about one order's money.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderMoney {
    pub id: OrderId,
    pub status: OrderStatus,
    pub amount: i64,
    pub refunded_amount: i64,
    pub charge_id: Option<String>,
}

/// An order beside the gateway's own record of its charge (under the order's
/// charge key), or a gateway charge that no order claims. Reconciling them one
/// by one catches errors that cancel out in totals.
#[derive(Debug, Clone, PartialEq)]
pub struct MoneyPair {
    pub order: Option<OrderMoney>,
    pub charge: Option<Charge>,
}
