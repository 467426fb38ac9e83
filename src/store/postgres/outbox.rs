//! Postgres: the outbox and the audit log.

use super::*;

#[async_trait]
impl OutboxStore for PgStore {
    async fn outbox_pending(
        &self,
        consumer: Consumer,
        limit: i64,
    ) -> StoreResult<Vec<OutboxEvent>> {
        booking::outbox_pending(&self.pool, consumer, limit).await
    }

    async fn outbox_mark(
        &self,
        consumer: Consumer,
        ids: &[i64],
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let sql = format!(
            "UPDATE outbox SET {} = $2 WHERE id = ANY($1)",
            consumer.column()
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(ids.to_vec())
            .bind(ts(now))
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn audit_append(&self, event: &OutboxEvent) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        booking::audit_append(&mut tx, event).await?;
        tx.commit().await.map_err(db)?;
        Ok(())
    }

    async fn audit_append_all(&self, events: &[OutboxEvent]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        booking::audit_append_all(&mut tx, events).await?;
        tx.commit().await.map_err(db)?;
        Ok(())
    }

    async fn audit_log(&self) -> StoreResult<Vec<AuditRecord>> {
        booking::audit_log(&self.pool).await
    }
}
