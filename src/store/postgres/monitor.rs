//! Postgres: monitoring figures. The outbox counts use the per-consumer
//! `(<consumer>_at, id)` indexes: only the unhandled (NULL) range is read.

use async_trait::async_trait;
use std::sync::Arc;

use super::{PgStore, db};
use crate::store::monitor::{MonitorStore, OutboxBacklog, PoolUsage, WriterObserver};
use crate::store::{Consumer, StoreResult, from_ts};

#[async_trait]
impl MonitorStore for PgStore {
    async fn outbox_backlog(&self, consumers: &[Consumer]) -> StoreResult<Vec<OutboxBacklog>> {
        let mut backlog = Vec::with_capacity(consumers.len());
        for &consumer in consumers {
            // The column name comes from a fixed list (`Consumer::column`), never from input.
            let sql = format!(
                "SELECT COUNT(*), MIN(created_at) FROM outbox WHERE {} IS NULL",
                consumer.column()
            );
            let (unhandled, oldest): (i64, Option<i64>) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .fetch_one(&self.pool)
                .await
                .map_err(db)?;
            backlog.push(OutboxBacklog {
                consumer,
                unhandled,
                oldest: oldest.map(from_ts),
            });
        }
        Ok(backlog)
    }

    fn pool_usage(&self) -> Option<PoolUsage> {
        let size = self.pool.size();
        let idle = u32::try_from(self.pool.num_idle())
            .unwrap_or(u32::MAX)
            .min(size);
        Some(PoolUsage {
            in_use: size - idle,
            idle,
            max: self.pool.options().get_max_connections(),
        })
    }

    /// Postgres has no writer of ours: each booking step is its own call.
    fn observe_writer(&self, _observer: Arc<dyn WriterObserver>) {}
}
