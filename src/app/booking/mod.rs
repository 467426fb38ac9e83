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
//! - `outcome`: what an order request comes to, and how its answer is kept;
//! - `channel`: which gates a sale passes, online or at a counter.
//!
//! The bodies the steps take and the views they answer are the wire
//! contract's (`crate::wire::booking`).
//!
//! This file only declares the steps and re-exports their public names, so
//! `app::booking::…` paths stay as they were; it may not hold logic.

mod cancel;
mod channel;
mod hold;
mod order;
pub mod order_keys;
mod order_view;
mod outcome;
mod refund_quote;
mod saga;
pub mod seat_choice;
mod view;

pub(crate) use channel::Channel;
pub(crate) use order::parse_passengers;
pub use outcome::{OrderAnswer, OrderOutcome, RenderAnswer};
pub(crate) use saga::charge_key;
