//! Postgres implementation of `Store`, via `sqlx`.
//! (Being written: placeholder so the crate compiles.)

use crate::store::{StoreError, StoreResult};

pub struct PgStore;

impl PgStore {
    pub async fn connect(_url: &str) -> StoreResult<Self> {
        Err(StoreError::Open("postgres backend not built yet".into()))
    }
}
