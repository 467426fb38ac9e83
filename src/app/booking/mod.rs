//! The booking saga: hold seats (TTL) → order (Idempotency-Key) → reserve →
//! charge → confirm → issue tickets; a failed or timed-out charge releases the
//! seats and fails the order. Cancelling refunds by the refund rule.
//!
//! One file per step, each adding its own `App` methods:
//! - `hold`: choosing and holding seats, viewing and releasing a hold
//!   (seats picked by `seat_choice`);
//! - `order`: placing an order under an Idempotency-Key (repeats answered by
//!   `order_keys`);
//! - `saga`: charge → paid → confirmed with tickets, or failed and compensated,
//!   and resuming an order cut before its charge;
//! - `cancel`: cancellation and refunds;
//! - `view`: the read views of orders (built by `order_view`);
//! - `channel`: which gates a sale passes, online or at a counter;
//! - `wire`: the request bodies and views the steps take and answer.
//!
//! This file only declares the steps and re-exports their public names, so
//! `app::booking::…` paths stay as they were; it may not hold logic.

mod cancel;
mod channel;
mod hold;
mod order;
pub mod order_keys;
mod order_view;
mod saga;
pub mod seat_choice;
mod view;
mod wire;

pub(crate) use channel::Channel;
pub(crate) use order::parse_passengers;
pub(crate) use saga::charge_key;
pub use wire::{
    HoldRequest, HoldView, OrderReply, OrderRequest, OrderSeat, OrderTicket, OrderView,
    PassengerBody,
};
