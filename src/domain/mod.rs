//! Pure types and rules of railway ticketing: no I/O, no HTTP, no SQL.
//!
//! Everything here is deterministic and unit-tested; the store and the
//! server convert to and from these types at their edges.

pub mod admission;
pub mod allocation;
pub mod audit;
pub mod card;
pub mod charge;
pub mod event;
pub mod fare;
pub mod hold;
pub mod ids;
pub mod order;
pub mod passenger;
pub mod pseudonym;
pub mod risk;
pub mod search;
pub mod seat;
pub mod seat_cap;
pub mod segment;
pub mod sms;
pub mod station;
mod status;
pub mod text;
pub mod ticket;
pub mod time;
pub mod train;
pub mod trip;
pub mod user;
pub mod waiting_room;
pub mod wallet;

pub use charge::{Charge, ChargeStatus};
pub use event::{Event, EventError, OrderMove};
pub use fare::{Fare, FareRate, SeatClass, journey_fare};
pub use hold::{Hold, HoldNotLive, HoldStatus};
pub use ids::{
    AuditEntryId, EventId, HoldId, OrderId, RiskDecisionId, SeatId, SessionId, SmsId, StationId,
    SubjectId, TicketId, TrainId, TripId, UserId,
};
pub use order::{Order, OrderEvent, OrderStatus, Passenger, RefundRule};
pub use passenger::{BirthDate, Nid, PassengerName};
pub use seat::Seat;
pub use seat_cap::{
    CapScope, NidCapReached, NidCaps, SEATS_PER_NID_PER_DAY, SEATS_PER_PASSENGER, SeatCap,
    SeatCapReached,
};
pub use segment::{Journey, MAX_SEGMENTS, SegmentMask};
pub use station::{Station, StationCode};
pub use ticket::{Ticket, TicketStatus, TicketVerdict};
pub use time::{DHAKA_OFFSET_SECS, ServiceDate, TripTime};
pub use train::{Coach, SeatLayout, Stop, Train, Weekdays};
pub use trip::SalePolicy;
pub use user::{Email, Phone, Role, User};

/// Why a value from outside (a flag, a JSON field, a fixture) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ParseError {
    pub field: &'static str,
    pub message: String,
}

impl ParseError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}
