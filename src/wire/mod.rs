//! The HTTP API's contract, written once: every request and response body the
//! server takes and answers, with both serde derives, so the server, the
//! clerks' TUI and the rehearsal's passengers read and write the same shapes.
//!
//! Plain data only: no rules, no I/O, no HTTP (status codes and problem
//! mapping are `server/error.rs`'s). Ids are the domain's typed ids
//! (serde-transparent). Request bodies refuse unknown fields; response bodies
//! ignore them when read, so a client keeps working while the server grows.
//!
//! By area: `catalog`, `identity`, `booking` (holds, cards, orders),
//! `counter`, `queue`, `tickets`, `admin`, `health` (the probes), and
//! `problem` (what every error looks like). Every type derives `ToSchema`:
//! the OpenAPI document (`server/openapi.rs`) is generated from them.

pub mod admin;
pub mod booking;
pub mod catalog;
pub mod counter;
pub mod gateway;
pub mod health;
pub mod identity;
pub mod nid;
pub mod problem;
pub mod queue;
pub mod region;
pub mod risk;
pub mod sms_gateway;
pub mod tickets;
pub mod trip_ops;
pub mod wallet;
