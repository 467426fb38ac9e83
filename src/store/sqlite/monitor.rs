//! SQLite: monitoring figures. The outbox counts use the per-consumer
//! `(<consumer>_at, id)` indexes: only the unhandled (NULL) range is read.

use async_trait::async_trait;
use std::sync::Arc;

use super::{SqliteStore, db};
use crate::store::monitor::{MonitorStore, OutboxBacklog, PoolUsage, WriterObserver};
use crate::store::{Consumer, StoreResult, from_ts};

#[async_trait]
impl MonitorStore for SqliteStore {
    async fn outbox_backlog(&self, consumers: &[Consumer]) -> StoreResult<Vec<OutboxBacklog>> {
        let consumers = consumers.to_vec();
        self.engine
            .read(move |conn| {
                consumers
                    .into_iter()
                    .map(|consumer| {
                        let (unhandled, oldest): (i64, Option<i64>) = conn
                            .prepare_cached(&format!(
                                "SELECT COUNT(*), MIN(created_at) FROM outbox WHERE {} IS NULL",
                                consumer.column()
                            ))
                            .map_err(db)?
                            .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
                            .map_err(db)?;
                        Ok(OutboxBacklog {
                            consumer,
                            unhandled,
                            oldest: oldest.map(from_ts),
                        })
                    })
                    .collect()
            })
            .await
    }

    fn pool_usage(&self) -> Option<PoolUsage> {
        None
    }

    fn observe_writer(&self, observer: Arc<dyn WriterObserver>) {
        self.engine.observe(observer);
    }
}
