//! Storage for the accounts office's exports: rows read in keyset pages (by
//! id, after the last one seen), so an export of any size holds one page at
//! a time, never the whole table.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreResult;
use crate::domain::{Order, OrderId};

#[async_trait]
pub trait ExportStore: Send + Sync {
    /// Orders created in `from..to` with ids above `after`, in id order, at most `limit`.
    async fn orders_page(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        after: OrderId,
        limit: i64,
    ) -> StoreResult<Vec<Order>>;
}
