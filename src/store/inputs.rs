//! What callers hand the store to write: new stations, fares, trips and
//! users; and the booking commands (a hold to take, an order to place, a
//! transition's changes, a confirmation with its tickets).
//! The entities the store reads back live in `domain`; its other answers in
//! `read_models`.

use chrono::{DateTime, Utc};

use crate::domain::{
    Fare, HoldId, Nid, OrderId, OrderStatus, PassengerName, Role, SeatCap, SeatClass, SeatId,
    SegmentMask, ServiceDate, StationCode, Ticket, TrainId, TripId, UserId,
};

use super::RecordedAnswer;

#[derive(Debug, Clone, PartialEq)]
pub struct NewStation {
    pub code: StationCode,
    pub name_en: String,
    pub name_bn: Option<String>,
    pub aliases: Vec<String>,
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
pub struct NewUser {
    pub name: String,
    pub phone: String,
    pub email: String,
    pub password_hash: String,
    pub role: Role,
    /// When the account was made (the app's clock).
    pub created_at: DateTime<Utc>,
    /// The NID verified at the registry, if one was given; one account per NID.
    pub nid: Option<Nid>,
}

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
    /// The cap on the seats the user may hold or own on the trip, checked
    /// with the hold's write; `None` for a counter clerk, who holds for many
    /// passengers (their cap is checked per phone when the order is placed).
    pub seat_cap: Option<SeatCap>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PassengerInput {
    pub name: PassengerName,
    pub nid: Option<Nid>,
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

/// What a transition writes besides the status.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrderChange {
    pub charge_id: Option<String>,
    pub failure: Option<String>,
    pub refunded_amount: Option<i64>,
}

/// What `Store::confirm_order` writes in one transaction: the charge and
/// `reserved → paid` (when `from` is `Reserved`), `paid → confirmed`, the
/// tickets, and (when `answer` is given) the order request's answer under
/// its Idempotency-Key (see `app::booking::outcome`).
pub struct Confirmation {
    pub order_id: OrderId,
    /// `Reserved` (then `charge_id` is recorded) or `Paid`.
    pub from: OrderStatus,
    pub charge_id: Option<String>,
    pub tickets: Vec<NewTicket>,
    pub now: DateTime<Utc>,
    pub answer: Option<AnswerToRecord>,
}

/// The answer to record under an Idempotency-Key with a confirmation, made
/// from the tickets it issues (their ids exist only once it has run). The
/// store calls `answer` once, records what it returns unless an answer is
/// recorded already (the first stands), and knows nothing of its shape.
pub struct AnswerToRecord {
    pub user_id: UserId,
    pub key: String,
    pub answer: MakeAnswer,
}

/// Makes the answer from the tickets a confirmation issued.
pub type MakeAnswer = Box<dyn FnOnce(&[Ticket]) -> RecordedAnswer + Send>;

/// What a confirmation wrote: the order's tickets, and the answer it
/// recorded (`None` when it was given none, or one was recorded before).
#[derive(Debug, Clone, PartialEq)]
pub struct Confirmed {
    pub tickets: Vec<Ticket>,
    pub answer: Option<RecordedAnswer>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewTicket {
    pub pnr: String,
    pub order_id: OrderId,
    pub passenger_seq: u32,
    pub seat_id: SeatId,
    pub payload: String,
}
