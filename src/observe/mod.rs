//! Observability: the metrics one server records and renders for
//! `GET /metrics`, and how the binary writes its logs.
//!
//! This module only records and formats. It reads no database and knows no
//! HTTP: `app::gauges` refreshes the gauges that need a query, and
//! `server::metrics` times requests and serves the text. See docs/slo.md for
//! what each metric is for.

mod hot_trips;
pub mod logging;
pub mod names;
pub mod process;
mod record;
mod registry;

pub use hot_trips::TOP_N as HOT_TRIPS_SHOWN;
pub use record::{Backlog, CONSUMERS, HOLD_REFUSALS, ORDER_OUTCOMES, RoomReading};
pub use registry::Metrics;
