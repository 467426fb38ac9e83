//! SQLite implementation of `Store` (the embedded default), via `rusqlite`.

mod booking;
mod catalog;
mod codec;
mod counter;
mod engine;
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
mod risk;
mod rows;
mod sales;
mod schema;
mod seat_feed;
mod sms;
mod tally;
mod ticket;
mod trains;
mod trip_ops;

use std::path::Path;

use crate::store::{StoreError, StoreResult};
use engine::Engine;

pub struct SqliteStore {
    engine: Engine,
    /// Multi-region fencing of inventory writes (`region.rs`); empty in a
    /// deployment of one region.
    fence: crate::store::FenceSlot,
}

impl SqliteStore {
    pub fn open(path: &Path) -> StoreResult<Self> {
        Ok(SqliteStore {
            engine: Engine::open(path)?,
            fence: Default::default(),
        })
    }
}

/// Maps driver errors: constraint violations are the caller's conflict, a
/// full disk or a lock held too long is "unavailable" (the write was rolled
/// back and may be tried again), the rest are ours.
pub(super) fn db(e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(f, msg)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            StoreError::Conflict(msg.clone().unwrap_or_else(|| e.to_string()))
        }
        _ if is_transient(&e) => StoreError::Unavailable(e.to_string()),
        _ => StoreError::Backend(e.to_string()),
    }
}

/// Whether an error says "not now" rather than "wrong": the disk (or the
/// database's size limit) is full, or another connection held the lock past
/// the busy timeout.
pub(super) fn is_transient(e: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode as C;
    matches!(
        e.sqlite_error_code(),
        Some(C::DiskFull | C::DatabaseBusy | C::DatabaseLocked)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(code: i32) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None)
    }

    #[test]
    fn a_full_disk_or_a_busy_lock_is_unavailable_a_constraint_a_conflict() {
        use rusqlite::ffi;
        for code in [ffi::SQLITE_FULL, ffi::SQLITE_BUSY, ffi::SQLITE_LOCKED] {
            assert!(matches!(db(failure(code)), StoreError::Unavailable(_)));
        }
        assert!(matches!(
            db(failure(ffi::SQLITE_CONSTRAINT)),
            StoreError::Conflict(_)
        ));
        assert!(matches!(
            db(failure(ffi::SQLITE_CORRUPT)),
            StoreError::Backend(_)
        ));
    }
}
