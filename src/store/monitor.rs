//! Read-only figures for monitoring: how far each outbox consumer is behind,
//! how busy the Postgres pool is, and a hook through which the SQLite writer
//! reports its batches. Nothing here changes data; `app::gauges` reads it on
//! a timer, never per request.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;

use super::{Consumer, StoreResult};

/// Events one consumer has not handled yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboxBacklog {
    pub consumer: Consumer,
    pub unhandled: i64,
    /// When the oldest of them was written (`None`: nothing is waiting).
    pub oldest: Option<DateTime<Utc>>,
}

/// Connections of a pool at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUsage {
    pub in_use: u32,
    pub idle: u32,
    pub max: u32,
}

/// Told by the SQLite writer about its work; the store does not know where
/// the figures go (the app feeds them to its metrics).
pub trait WriterObserver: Send + Sync {
    /// A batch of `commands` was committed (or rolled back) together.
    fn batch_done(&self, commands: usize);
    /// A command waited this long between being queued and its batch starting.
    fn command_waited(&self, waited: Duration);
}

#[async_trait]
pub trait MonitorStore: Send + Sync {
    /// The backlog of each of `consumers`, in that order.
    async fn outbox_backlog(&self, consumers: &[Consumer]) -> StoreResult<Vec<OutboxBacklog>>;

    /// The connection pool's use (`None`: this backend has no pool).
    fn pool_usage(&self) -> Option<PoolUsage>;

    /// Has the database writer report to `observer` from now on (a no-op on
    /// backends without a writer of their own).
    fn observe_writer(&self, observer: Arc<dyn WriterObserver>);
}
