//! What cancelling an order would refund now, so a passenger sees it before
//! confirming: `cancel_order`'s own rule, read without changing anything.

use crate::app::{App, AppResult};
use crate::domain::{OrderId, UserId};

impl App {
    /// The refund `cancel_order` would give now (0 when the rule gives none).
    pub async fn refund_quote(&self, order_id: OrderId, user_id: UserId) -> AppResult<i64> {
        let order = self.order_of(order_id, user_id, false).await?;
        Ok(self.refund_due(&order).await?.unwrap_or(0))
    }
}
