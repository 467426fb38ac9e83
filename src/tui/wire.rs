//! The TUI's names for the shapes it reads from the server: the wire contract
//! itself (`crate::wire`), written once for the server and its clients. Unknown
//! fields are ignored when read, so the server may grow.

pub use crate::domain::ticket::TicketClaims;
pub use crate::wire::booking::{HoldView as Hold, OrderSeat, OrderView as Order};
pub use crate::wire::catalog::{
    ClassOffer, CoachSeats as Coach, SaleView as Sale, SearchResult, SeatMap, SeatState,
    SeatView as Seat, StationList as Stations, StationView as Station, TrainRef, TripOption,
};
pub use crate::wire::counter::{
    CounterCancelView as Cancelled, CounterLookup as Lookup, CounterOrderView as CounterOrder,
    ShiftView as Shift,
};
pub use crate::wire::identity::{TokenPair as Tokens, UserView as Me};
pub use crate::wire::problem::Problem;
pub use crate::wire::tickets::TicketView as Ticket;
