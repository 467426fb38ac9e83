//! The schema and the process-wide settings kept in the database: which
//! backend, migrations, generated secrets, and table counts for reports.

use super::{Backend, Counts, StoreResult};
use async_trait::async_trait;

#[async_trait]
pub trait SchemaStore: Send + Sync {
    fn backend(&self) -> Backend;

    /// Applies pending migrations; returns how many were applied.
    async fn migrate(&self) -> StoreResult<usize>;

    /// True when the schema has been created (used by `serve` to migrate an empty database).
    async fn is_migrated(&self) -> StoreResult<bool>;

    /// Returns the stored value of `key`, storing `init` first if there is none.
    /// Every server process on one database thus agrees on generated secrets.
    async fn setting_or_init(&self, key: &str, init: &str) -> StoreResult<String>;

    /// Row counts of the main tables, for reports and for proving idempotency.
    async fn counts(&self) -> StoreResult<Counts>;
}
