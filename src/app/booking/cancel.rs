//! Cancellation and refunds: cancelling a confirmed order under the refund
//! rule, and settling with the gateway whatever an order says is owed.
//!
//! May not charge or confirm; the state change itself goes through the saga's
//! `try_transition`.

use crate::app::{App, AppError, AppResult};
use crate::domain::{Order, OrderEvent, OrderId, OrderStatus, UserId};
use crate::store::OrderChange;

use super::saga::charge_key;
use crate::wire::booking::OrderView;

impl App {
    /// Cancels a confirmed order: seats return to sale, tickets are voided, and the
    /// refund rule decides the refund.
    pub async fn cancel_order(
        &self,
        order_id: OrderId,
        user_id: UserId,
        staff: bool,
    ) -> AppResult<OrderView> {
        let order = self.order_of(order_id, user_id, staff).await?;
        let refund = self.refund_due(&order).await?;
        let event = OrderEvent::Cancel {
            refund: refund.is_some_and(|r| r > 0),
        };
        let change = OrderChange {
            refunded_amount: Some(refund.unwrap_or(0)),
            ..Default::default()
        };
        // Record the cancellation first: if we crash before the gateway refund,
        // reconciliation sees a refunded order short of its refund and pays it.
        // Of several cancellations at once, one wins; the others are answered
        // as a repeat after it would be.
        let Some(cancelled) = self.try_transition(&order, event, change).await? else {
            return Err(not_cancellable(self.reload(order_id).await?.status));
        };
        self.settle_refund(&cancelled).await?;
        self.order_view(&cancelled).await
    }

    /// What cancelling `order` now would refund (`None`: the rule gives
    /// nothing), or why it cannot be cancelled. `cancel_order` and the quote a
    /// passenger sees before confirming both ask here, so they never differ.
    pub(super) async fn refund_due(&self, order: &Order) -> AppResult<Option<i64>> {
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
        // A train staff delayed may be given up with everything back.
        let delayed = self
            .store
            .trip_ops_state(trip.id)
            .await?
            .delay_minutes
            .is_some();
        Ok(if delayed {
            Some(order.amount)
        } else {
            self.config
                .refund_rule
                .refund(order.amount, order.passengers.len() as i64, hours)
        })
    }

    /// Makes the gateway's refunded total match what the order says is owed.
    pub(crate) async fn settle_refund(&self, order: &Order) -> AppResult<()> {
        let Some(owed) = order.refund_owed() else {
            return Ok(());
        };
        let method = self.payment_method_of(order).await?;
        if let Some(charge) = method.lookup(&charge_key(order.id)).await?
            && charge.owes_refund(owed)
        {
            method.refund(&charge.charge_id, owed).await?;
            tracing::info!(order = %order.id, owed, "refund settled with the gateway");
        }
        Ok(())
    }
}

pub(super) fn not_cancellable(status: OrderStatus) -> AppError {
    AppError::Conflict(format!(
        "only a confirmed order can be cancelled; this one is {status}"
    ))
}
