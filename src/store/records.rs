//! Plain records passed across the store boundary.

use chrono::{DateTime, Utc};

use crate::domain::{
    AuditEntryId, ChargeStatus, EventId, Fare, HoldId, HoldStatus, OrderId, Role, SeatClass,
    SeatId, SegmentMask, ServiceDate, StationCode, SubjectId, TicketId, TicketStatus, Train,
    TrainId, TripId, UserId,
};

#[derive(Debug, Clone, PartialEq)]
pub struct NewStation {
    pub code: StationCode,
    pub name_en: String,
    pub name_bn: Option<String>,
    pub aliases: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TrainRecord {
    pub id: TrainId,
    pub train: Train,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FareRow {
    pub from: StationCode,
    pub to: StationCode,
    pub class: SeatClass,
    pub fare: Fare,
}

/// One seat of a new trip's inventory.
#[derive(Debug, Clone, PartialEq)]
pub struct SeatSpec {
    pub coach_seq: u32,
    pub coach_code: String,
    pub seat_no: u32,
    pub class: SeatClass,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewTrip {
    pub train_id: TrainId,
    pub date: ServiceDate,
    pub departs_at: DateTime<Utc>,
    pub sale_opens_at: DateTime<Utc>,
    pub seats: Vec<SeatSpec>,
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

#[derive(Debug, Clone, PartialEq)]
pub struct SeatRecord {
    pub id: SeatId,
    pub coach_seq: u32,
    pub coach_code: String,
    pub seat_no: u32,
    pub class: SeatClass,
    /// Segments taken by holds and sales.
    pub taken: SegmentMask,
}

impl SeatRecord {
    /// The seat's printed label, e.g. "KA-12".
    pub fn label(&self) -> String {
        format!("{}-{}", self.coach_code, self.seat_no)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FreeCount {
    pub trip_id: TripId,
    pub class: SeatClass,
    pub free: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewUser {
    pub name: String,
    pub phone: String,
    pub email: String,
    pub password_hash: String,
    pub role: Role,
    /// When the account was made (the app's clock).
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: UserId,
    pub name: String,
    pub phone: String,
    pub email: String,
    pub password_hash: String,
    pub role: Role,
    pub totp_secret: Option<String>,
    pub mfa_enabled: bool,
    pub failed_logins: i64,
    pub locked_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
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

pub(crate) fn ts(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}

pub(crate) fn from_ts(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

// ---- booking ----

#[derive(Debug, Clone, PartialEq)]
pub struct NewHold {
    pub trip_id: TripId,
    pub user_id: UserId,
    pub from_stop: u32,
    pub to_stop: u32,
    pub mask: SegmentMask,
    pub class: SeatClass,
    /// Per seat, VAT included.
    pub fare: i64,
    pub seat_ids: Vec<SeatId>,
    pub now: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Seats one user may hold or own on one trip (Bangladesh Railway: 4).
    pub max_seats_per_user: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HoldRecord {
    pub id: HoldId,
    pub trip_id: TripId,
    pub user_id: UserId,
    pub from_stop: u32,
    pub to_stop: u32,
    pub mask: SegmentMask,
    pub class: SeatClass,
    pub fare: i64,
    pub status: HoldStatus,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub seats: Vec<SeatRecord>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PassengerInput {
    pub name: String,
    pub nid: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewOrder {
    pub user_id: UserId,
    pub hold_id: HoldId,
    pub passengers: Vec<PassengerInput>,
    pub payment_token: String,
    pub idempotency_key: String,
    pub request_hash: String,
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PassengerRecord {
    pub seq: u32,
    pub name: String,
    pub nid: Option<String>,
    pub seat_id: SeatId,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrderRecord {
    pub id: OrderId,
    pub user_id: UserId,
    pub hold_id: HoldId,
    pub trip_id: TripId,
    pub status: crate::domain::OrderStatus,
    pub amount: i64,
    pub payment_token: String,
    pub charge_id: Option<String>,
    pub refunded_amount: i64,
    pub failure: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub passengers: Vec<PassengerRecord>,
}

/// What a transition writes besides the status.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrderChange {
    pub charge_id: Option<String>,
    pub failure: Option<String>,
    pub refunded_amount: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IdempotencyRecord {
    pub request_hash: String,
    pub order_id: Option<OrderId>,
    pub status_code: Option<u16>,
    pub response: Option<String>,
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

/// Builds the reply stored under an Idempotency-Key from the tickets just issued
/// (their ids are only known inside the transaction that inserts them).
pub type ReplyBody = Box<dyn FnOnce(&[TicketRecord]) -> String + Send>;

/// The reply of an order request, stored in the same transaction that confirms it.
pub struct ReplyTo {
    pub user_id: UserId,
    pub key: String,
    pub status: u16,
    pub body: ReplyBody,
}

/// What `Store::confirm_order` writes in one transaction: the charge and
/// `reserved → paid` (when `from` is `Reserved`), `paid → confirmed`, the
/// tickets, and the finished Idempotency-Key.
pub struct Confirmation {
    pub order_id: OrderId,
    /// `Reserved` (then `charge_id` is recorded) or `Paid`.
    pub from: crate::domain::OrderStatus,
    pub charge_id: Option<String>,
    pub tickets: Vec<NewTicket>,
    pub now: DateTime<Utc>,
    pub reply: Option<ReplyTo>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GatewayCharge {
    pub idempotency_key: String,
    pub charge_id: String,
    pub token: String,
    pub amount: i64,
    pub status: ChargeStatus,
    pub refunded: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewTicket {
    pub pnr: String,
    pub order_id: OrderId,
    pub passenger_seq: u32,
    pub seat_id: SeatId,
    pub payload: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TicketRecord {
    pub id: TicketId,
    pub pnr: String,
    pub order_id: OrderId,
    pub passenger_seq: u32,
    pub seat_id: SeatId,
    pub status: TicketStatus,
    pub payload: String,
    pub issued_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEvent {
    pub id: EventId,
    pub kind: String,
    pub subject_id: SubjectId,
    pub payload: String,
    pub created_at: DateTime<Utc>,
}

/// The in-process consumers of the outbox; each tracks its own progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consumer {
    Fulfillment,
    Notification,
    Audit,
}

impl Consumer {
    /// The outbox column that records this consumer's progress.
    pub fn column(self) -> &'static str {
        match self {
            Consumer::Fulfillment => "fulfilled_at",
            Consumer::Notification => "notified_at",
            Consumer::Audit => "audited_at",
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
    pub order_status: Option<crate::domain::OrderStatus>,
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
}

/// What our side says about one order's money.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderMoney {
    pub id: OrderId,
    pub status: crate::domain::OrderStatus,
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
    pub charge: Option<GatewayCharge>,
}
