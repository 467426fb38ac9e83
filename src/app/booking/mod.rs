//! The booking saga: hold seats (TTL) → order (Idempotency-Key) → reserve →
//! charge → confirm → issue tickets; a failed or timed-out charge releases the
//! seats and fails the order. Cancelling refunds by the refund rule.

mod channel;
mod hold;
mod order;
pub mod order_keys;
mod order_view;
mod saga;
pub mod seat_choice;
mod wire;

pub(crate) use channel::Channel;
pub(crate) use saga::charge_key;
pub use wire::{
    HoldRequest, HoldView, OrderReply, OrderRequest, OrderSeat, OrderTicket, OrderView,
    PassengerBody,
};

use crate::domain::{OrderEvent, OrderStatus};
use crate::store::{OrderChange, OrderRecord};

use super::{App, AppError, AppResult};
use order_view::order_view_of;

impl App {
    pub(crate) async fn order_reply(&self, order: &OrderRecord) -> AppResult<OrderReply> {
        let view = self.order_view(order).await?;
        let body = serde_json::to_value(&view).expect("serialisable");
        Ok(match order.status {
            OrderStatus::Failed => OrderReply {
                status: 402,
                body: serde_json::json!({
                    "type": "/problems/payment-failed",
                    "title": "Payment failed",
                    "status": 402,
                    "detail": order.failure.clone().unwrap_or_default(),
                    "order": body,
                }),
            },
            _ => OrderReply { status: 201, body },
        })
    }

    pub async fn order_view(&self, order: &OrderRecord) -> AppResult<OrderView> {
        let hold = self
            .store
            .hold(order.hold_id)
            .await?
            .ok_or_else(|| AppError::Internal("order lost its hold".into()))?;
        let (trip, train) = self.trip_and_train(order.trip_id).await?;
        let tickets = self.store.tickets_of_order(order.id).await?;
        Ok(order_view_of(order, &hold, &trip, &train, &tickets))
    }

    /// An order of the user (staff may see any).
    pub async fn order_of(
        &self,
        order_id: i64,
        user_id: i64,
        staff: bool,
    ) -> AppResult<OrderRecord> {
        self.store
            .order(order_id)
            .await?
            .filter(|o| staff || o.user_id == user_id)
            .ok_or_else(|| AppError::NotFound(format!("no order {order_id}")))
    }

    pub async fn orders_of(&self, user_id: i64) -> AppResult<Vec<OrderView>> {
        let mut views = Vec::new();
        for o in self.store.orders_of_user(user_id).await? {
            views.push(self.order_view(&o).await?);
        }
        Ok(views)
    }

    /// Cancels a confirmed order: seats return to sale, tickets are voided, and the
    /// refund rule decides the refund.
    pub async fn cancel_order(
        &self,
        order_id: i64,
        user_id: i64,
        staff: bool,
    ) -> AppResult<OrderView> {
        let order = self.order_of(order_id, user_id, staff).await?;
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
        let refund =
            self.config
                .refund_rule
                .refund(order.amount, order.passengers.len() as i64, hours);
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

    /// Makes the gateway's refunded total match what the order says is owed.
    pub(crate) async fn settle_refund(&self, order: &OrderRecord) -> AppResult<()> {
        let owed = match order.status {
            OrderStatus::Refunded | OrderStatus::Cancelled => order.refunded_amount,
            OrderStatus::Failed | OrderStatus::Expired => order.amount,
            _ => return Ok(()),
        };
        if let Some(charge) = self.gateway.lookup(&charge_key(order.id)).await?
            && charge.status == "succeeded"
            && charge.refunded < owed
        {
            self.gateway.refund(&charge.charge_id, owed).await?;
            tracing::info!(order = order.id, owed, "refund settled with the gateway");
        }
        Ok(())
    }
}

fn not_cancellable(status: OrderStatus) -> AppError {
    AppError::Conflict(format!(
        "only a confirmed order can be cancelled; this one is {status}"
    ))
}
