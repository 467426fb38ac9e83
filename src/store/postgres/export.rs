//! Postgres side of `ExportStore`: one query per page.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::rows::{ORDER_COLUMNS, order_row};
use super::{PgStore, db};
use crate::domain::{Order, OrderId};
use crate::store::export::ExportStore;
use crate::store::{StoreResult, ts};

#[async_trait]
impl ExportStore for PgStore {
    async fn orders_page(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        after: OrderId,
        limit: i64,
    ) -> StoreResult<Vec<Order>> {
        let sql = format!(
            "{ORDER_COLUMNS} WHERE id > $1 AND created_at >= $2 AND created_at < $3
             ORDER BY id LIMIT $4"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(after)
            .bind(ts(from))
            .bind(ts(to))
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .map_err(db)?
            .iter()
            .map(order_row)
            .collect()
    }
}
