//! SQLite side of `ExportStore`: one read per page.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::params;

use super::rows::{ORDER_COLUMNS, order_row};
use super::{SqliteStore, db};
use crate::domain::{Order, OrderId};
use crate::store::export::ExportStore;
use crate::store::{StoreResult, ts};

#[async_trait]
impl ExportStore for SqliteStore {
    async fn orders_page(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        after: OrderId,
        limit: i64,
    ) -> StoreResult<Vec<Order>> {
        self.engine
            .read(move |conn| {
                conn.prepare_cached(&format!(
                    "{ORDER_COLUMNS} WHERE id > ?1 AND created_at >= ?2 AND created_at < ?3
                     ORDER BY id LIMIT ?4"
                ))
                .map_err(db)?
                .query_map(params![after, ts(from), ts(to), limit], order_row)
                .map_err(db)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db)
            })
            .await
    }
}
