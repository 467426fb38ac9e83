//! SQLite: the outbox and the audit log.

use super::*;

#[async_trait]
impl OutboxStore for SqliteStore {
    async fn outbox_pending(
        &self,
        consumer: Consumer,
        limit: i64,
    ) -> StoreResult<Vec<OutboxEvent>> {
        self.engine
            .read(move |c| booking::outbox_pending(c, consumer, limit))
            .await
    }

    async fn outbox_mark(
        &self,
        consumer: Consumer,
        ids: &[i64],
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let ids = ids.to_vec();
        self.engine
            .write(move |c| booking::outbox_mark(c, consumer, &ids, now))
            .await
    }

    async fn audit_append(&self, event: &OutboxEvent) -> StoreResult<()> {
        let event = event.clone();
        self.engine
            .write(move |c| booking::audit_append(c, &event))
            .await
    }

    async fn audit_append_all(&self, events: &[OutboxEvent]) -> StoreResult<()> {
        let events = events.to_vec();
        self.engine
            .write(move |c| events.iter().try_for_each(|e| booking::audit_append(c, e)))
            .await
    }

    async fn audit_log(&self) -> StoreResult<Vec<AuditRecord>> {
        self.engine.read(booking::audit_log).await
    }
}
