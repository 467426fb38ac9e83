//! Postgres implementation of `Store`, via `sqlx` (rustls).
//!
//! Semantics match the SQLite store exactly (the conformance suite runs both).
//! Concurrency comes from row locks instead of a single writer: a hold locks
//! the user's row, then its seats in id order (no deadlocks), and takes them
//! only if all are free; expiry and audit use SKIP LOCKED and an advisory lock
//! so several `serve` processes can share one database.
//!
//! The booking steps (hold, release, expiry, order, transition, confirmation,
//! tickets) are plpgsql functions (migrations/postgres/0004): each step is one
//! round trip, and, called in autocommit, its own all-or-nothing transaction.

mod booking;
mod catalog;
mod codec;
mod counter;
mod event_slots;
mod export;
mod holds;
mod identity;
mod invariant;
mod limits;
mod monitor;
mod nid;
mod outbox;
mod payment;
mod personal;
mod region;
pub mod replication;
mod risk;
mod rows;
mod sales;
mod schema;
mod seat_feed;
mod sms;
mod ticket;
mod trains;
mod trip_ops;

use sqlx::postgres::{PgPool, PgPoolOptions};
use std::time::Duration;

use crate::store::{StoreError, StoreResult};

pub struct PgStore {
    pool: PgPool,
    /// Multi-region fencing of inventory writes (`region.rs`); empty in a
    /// deployment of one region.
    fence: crate::store::FenceSlot,
}

impl PgStore {
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let pool = PgPoolOptions::new()
            // Measured with 8 and 32 after the booking steps became single calls
            // (one rehearsal each, 2 cores): 32 was slower (227 vs 263 bookings/s),
            // since the server, the load and Postgres share the cores; more
            // connections only queue in Postgres. 16 was not measured.
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(5))
            .connect(url)
            .await
            .map_err(|e| StoreError::Open(format!("{}: {e}", super::redact_url(url))))?;
        Ok(PgStore {
            pool,
            fence: Default::default(),
        })
    }
}

/// Maps driver errors: unique violations are the caller's conflict, a lost or
/// refused connection is "unavailable" (the request may be tried again), the
/// rest are ours.
pub(crate) fn db(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(d) = &e {
        match d.code().as_deref() {
            // Unique (23505) and foreign-key (23503) violations are the caller's
            // conflict, as they are on SQLite.
            Some("23505" | "23503") => return StoreError::Conflict(d.message().to_owned()),
            // Raised by ticketctl_fence (migration 0018): multi-region fencing.
            Some("TKF01") => return StoreError::Fenced(d.message().to_owned()),
            Some(code) if unavailable_code(code) => return StoreError::Unavailable(e.to_string()),
            _ => {}
        }
    }
    match e {
        // No connection within the pool's acquire timeout (Postgres down or
        // restarting, or every connection slot taken), or the one in use broke.
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => StoreError::Unavailable(e.to_string()),
        e => StoreError::Backend(e.to_string()),
    }
}

/// SQLSTATEs that say the server cannot serve now rather than that the query
/// is wrong: connection exceptions (08…), insufficient resources (53…: disk
/// full, out of memory, too many connections), and an administrator or crash
/// shutdown, or a server still starting (57P01–57P03).
fn unavailable_code(code: &str) -> bool {
    code.starts_with("08") || code.starts_with("53") || matches!(code, "57P01" | "57P02" | "57P03")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_or_refused_connection_is_unavailable_not_ours() {
        for e in [
            sqlx::Error::PoolTimedOut,
            sqlx::Error::PoolClosed,
            sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset)),
        ] {
            assert!(matches!(db(e), StoreError::Unavailable(_)));
        }
        assert!(matches!(
            db(sqlx::Error::RowNotFound),
            StoreError::Backend(_)
        ));
        for code in ["08006", "08001", "53100", "53300", "57P01", "57P03"] {
            assert!(unavailable_code(code), "{code}");
        }
        for code in ["23505", "40001", "42P01", "57014"] {
            assert!(!unavailable_code(code), "{code}");
        }
    }
}
