//! SQLite implementation of `Store` (the embedded default), via `rusqlite`.

mod booking;
mod catalog;
mod codec;
mod counter;
mod engine;
mod holds;
mod identity;
mod invariant;
mod limits;
mod monitor;
mod outbox;
mod payment;
mod rows;
mod sales;
mod schema;
mod seat_feed;
mod ticket;
mod trains;

use std::path::Path;

use crate::store::{StoreError, StoreResult};
use engine::Engine;

pub struct SqliteStore {
    engine: Engine,
}

impl SqliteStore {
    pub fn open(path: &Path) -> StoreResult<Self> {
        Ok(SqliteStore {
            engine: Engine::open(path)?,
        })
    }
}

/// Maps driver errors: constraint violations are the caller's conflict, the rest are ours.
pub(super) fn db(e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(f, msg)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            StoreError::Conflict(msg.clone().unwrap_or_else(|| e.to_string()))
        }
        _ => StoreError::Backend(e.to_string()),
    }
}
