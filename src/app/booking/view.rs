//! The read views of orders: an order as the API shows it, the outcome of
//! `POST /v1/orders` for a settled order, and a user's orders.
//!
//! Reads only: may not change an order or a hold.

use crate::app::{App, AppError, AppResult};
use crate::domain::Order;
use crate::domain::{OrderId, UserId};

use super::order_view::order_view_of;
use super::outcome::OrderOutcome;
use crate::wire::booking::OrderView;

impl App {
    /// What a settled order request came to, with the order as it stands.
    pub(crate) async fn order_outcome(&self, order: &Order) -> AppResult<OrderOutcome> {
        Ok(OrderOutcome::of(self.order_view(order).await?))
    }

    pub async fn order_view(&self, order: &Order) -> AppResult<OrderView> {
        let hold = self
            .store
            .hold(order.hold_id)
            .await?
            .ok_or_else(|| AppError::Internal("order lost its hold".into()))?;
        let (trip, train) = self.trip_and_train(order.trip_id).await?;
        let tickets = self.store.tickets_of_order(order.id).await?;
        let mut view = order_view_of(order, &hold, &trip, &train, &tickets);
        view.wallet = self.wallet_view(order).await?;
        Ok(view)
    }

    /// An order of the user (staff may see any).
    pub async fn order_of(
        &self,
        order_id: OrderId,
        user_id: UserId,
        staff: bool,
    ) -> AppResult<Order> {
        self.any_order(order_id)
            .await
            .ok()
            .filter(|o| staff || o.user_id == user_id)
            .ok_or_else(|| AppError::NotFound(format!("no order {order_id}")))
    }

    /// Any order, whoever bought it (for staff).
    pub(crate) async fn any_order(&self, order_id: OrderId) -> AppResult<Order> {
        self.store
            .order(order_id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no order {order_id}")))
    }

    pub async fn orders_of(&self, user_id: UserId) -> AppResult<Vec<OrderView>> {
        let mut views = Vec::new();
        for o in self.store.orders_of_user(user_id).await? {
            views.push(self.order_view(&o).await?);
        }
        Ok(views)
    }
}
