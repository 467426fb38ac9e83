//! Storage for the outbox (events per consumer) and the hash-chained audit log
//! the audit consumer appends them to.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{AuditRecord, Consumer, OutboxEvent, StoreResult};
use crate::domain::EventId;

#[async_trait]
pub trait OutboxStore: Send + Sync {
    async fn outbox_pending(&self, consumer: Consumer, limit: i64)
    -> StoreResult<Vec<OutboxEvent>>;

    async fn outbox_mark(
        &self,
        consumer: Consumer,
        ids: &[EventId],
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Appends an outbox event to the hash-chained audit log (once per event).
    async fn audit_append(&self, event: &OutboxEvent) -> StoreResult<()>;

    /// Appends the events in order, all or none, in one transaction: the audit
    /// consumer sees several events per booking, and one commit each was most
    /// of the SQLite writer's commits during a sale.
    async fn audit_append_all(&self, events: &[OutboxEvent]) -> StoreResult<()>;

    async fn audit_log(&self) -> StoreResult<Vec<AuditRecord>>;
}
