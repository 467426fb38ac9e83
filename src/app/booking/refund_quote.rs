//! What cancelling an order would refund now, so a passenger sees it before
//! confirming. The same rule and the same "hours before departure" as
//! `cancel_order`, read without changing anything.

use super::cancel::not_cancellable;
use crate::app::{App, AppError, AppResult};
use crate::domain::{OrderId, OrderStatus, UserId};

impl App {
    /// The refund `cancel_order` would give now (0 when the rule gives none).
    pub async fn refund_quote(&self, order_id: OrderId, user_id: UserId) -> AppResult<i64> {
        let order = self.order_of(order_id, user_id, false).await?;
        if order.status != OrderStatus::Confirmed {
            return Err(not_cancellable(order.status));
        }
        let hold = self
            .store
            .hold(order.hold_id)
            .await?
            .ok_or_else(|| AppError::Internal("order lost its hold".into()))?;
        let (trip, train) = self.trip_and_train(order.trip_id).await?;
        let departs = trip
            .date
            .at(train.stops[hold.from_stop as usize].boards_at());
        let now = self.now();
        if departs <= now {
            return Err(AppError::Conflict(
                "the train has left; this ticket can no longer be cancelled".into(),
            ));
        }
        let hours = (departs - now).num_hours();
        Ok(self
            .config
            .refund_rule
            .refund(order.amount, order.passengers.len() as i64, hours)
            .unwrap_or(0))
    }
}
