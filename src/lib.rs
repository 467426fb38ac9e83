//! ticketctl: an open railway ticketing system in one binary.
//!
//! Data flows one way: `bin → commands → {server, tui} → app → {domain, store}`.
//! The domain knows nothing of HTTP or SQL; handlers hold no business rules.

pub mod adapters;
pub mod app;
pub mod commands;
pub mod domain;
pub mod observe;
pub mod outside;
pub mod rehearse;
pub mod server;
pub mod sim;
pub mod store;
pub mod tui;
pub mod web;
pub mod wire;
