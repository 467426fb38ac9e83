//! The saga after an order is placed: charge → paid → confirmed with its
//! tickets (in one write when it can), or → failed with the seats released;
//! resuming an order a crash cut short (asked for by a repeated
//! Idempotency-Key); and the single legal state transition every step goes
//! through.
//!
//! May not decide refunds (that is `cancel`) or shape replies beyond the
//! confirmation's own (that is `view`).

use crate::app::payments::ChargeOutcome;
use crate::app::{App, AppError, AppResult};
use crate::domain::{Hold, Order, OrderEvent, OrderId, OrderStatus};
use crate::store::{AnswerToRecord, Confirmation, OrderChange};

use super::order_keys::in_progress;
use super::order_view::{order_tickets, order_view_of, seat_labels};
use super::outcome::{AnswerTo, OrderAnswer, OrderOutcome};

impl App {
    /// Moves an order along one legal transition, or explains why not.
    pub(crate) async fn transition(
        &self,
        order: &Order,
        event: OrderEvent,
        change: OrderChange,
    ) -> AppResult<Order> {
        if let Some(moved) = self.try_transition(order, event, change).await? {
            return Ok(moved);
        }
        tracing::info!(order = %order.id, "order changed under us; reloading");
        self.reload(order.id).await
    }

    /// Like `transition`, but `None` when another request moved the order first,
    /// for callers whose answer depends on who won (a cancellation refunds once).
    pub(crate) async fn try_transition(
        &self,
        order: &Order,
        event: OrderEvent,
        change: OrderChange,
    ) -> AppResult<Option<Order>> {
        let to = order
            .status
            .apply(event)
            .map_err(|e| AppError::Conflict(e.to_string()))?;
        if !self
            .store
            .transition_order(order.id, order.status, to, &change, self.now())
            .await?
        {
            return Ok(None);
        }
        if order.status.holds_seats() && !to.holds_seats() {
            self.seats_freed(order.hold_id).await;
        }
        if let Some(outcome) = outcome_of(to) {
            self.metrics.order_ended(outcome, 1);
        }
        Ok(Some(self.reload(order.id).await?))
    }

    pub(crate) async fn reload(&self, order_id: OrderId) -> AppResult<Order> {
        self.store
            .order(order_id)
            .await?
            .ok_or_else(|| AppError::Internal(format!("order {order_id} vanished")))
    }

    /// reserved → charge → paid → confirmed (+ tickets), or → failed with the seats released.
    /// With the order's hold at hand a successful charge is confirmed and ticketed
    /// in one write, which records the request's answer `to` when given, and
    /// the request's answer is returned too.
    pub(crate) async fn charge_and_confirm(
        &self,
        order: Order,
        token: &crate::store::PaymentToken,
        hold: Option<&Hold>,
        to: Option<AnswerTo<'_>>,
    ) -> AppResult<(Order, Option<OrderAnswer>)> {
        let key = charge_key(order.id);
        let order = match self
            .payment_method(token)
            .charge(&key, token, order.amount)
            .await
        {
            ChargeOutcome::Succeeded { charge_id } => {
                if let Some(hold) = hold
                    && let Some((confirmed, answer)) = self
                        .confirm_at_once(&order, Some(charge_id.clone()), hold, to)
                        .await?
                {
                    return Ok((confirmed, Some(answer)));
                }
                let paid = self
                    .transition(
                        &order,
                        OrderEvent::ChargeSucceeded,
                        OrderChange {
                            charge_id: Some(charge_id),
                            ..Default::default()
                        },
                    )
                    .await?;
                if paid.status != OrderStatus::Paid {
                    // Recovery gave up on this order while the charge was in flight:
                    // the money must go back now, since the failure event is already handled.
                    self.settle_refund(&paid).await?;
                }
                self.confirm(paid).await?
            }
            ChargeOutcome::Declined { reason } => {
                self.risk_card_failed(order.user_id, crate::app::risk::card_of(token))
                    .await;
                self.transition(
                    &order,
                    OrderEvent::Fail,
                    OrderChange {
                        failure: Some(format!("payment declined: {reason}")),
                        ..Default::default()
                    },
                )
                .await?
            }
            ChargeOutcome::Unknown => {
                // Compensate now; if the charge did land, reconciliation refunds it.
                self.transition(
                    &order,
                    OrderEvent::Fail,
                    OrderChange {
                        failure: Some("payment timed out; any charge will be refunded".into()),
                        ..Default::default()
                    },
                )
                .await?
            }
        };
        Ok((order, None))
    }

    /// Confirms `order` (reserved with `charge_id`, or paid) with its tickets in one
    /// write, which records the request's answer `to` when given, and answers
    /// with what it recorded or else the order with the tickets the write
    /// issued. `None` when the order moved meanwhile (recovery settled it); the
    /// caller then takes the long way.
    async fn confirm_at_once(
        &self,
        order: &Order,
        charge_id: Option<String>,
        hold: &Hold,
        to: Option<AnswerTo<'_>>,
    ) -> AppResult<Option<(Order, OrderAnswer)>> {
        let mut status = order.status;
        if charge_id.is_some() {
            status = status
                .apply(OrderEvent::ChargeSucceeded)
                .map_err(|e| AppError::Conflict(e.to_string()))?;
        }
        let confirmed_status = status
            .apply(OrderEvent::Confirm)
            .map_err(|e| AppError::Conflict(e.to_string()))?;
        let (trip, train) = self.trip_and_train(order.trip_id).await?;
        let now = self.now();
        let tickets = self.new_tickets(order, hold, &trip, &train, &[], now);
        let confirmed = Order {
            status: confirmed_status,
            charge_id: charge_id.clone().or_else(|| order.charge_id.clone()),
            updated_at: now,
            ..order.clone()
        };
        let answer = to.map(|to| {
            // Everything but the tickets is known now; the closure only adds
            // them and renders, on the writer's time.
            let mut view = order_view_of(&confirmed, hold, &trip, &train, &[]);
            let labels = seat_labels(hold);
            AnswerToRecord {
                user_id: order.user_id,
                key: to.key.to_owned(),
                answer: Box::new(move |issued| {
                    view.tickets = order_tickets(&labels, issued);
                    (to.render)(OrderOutcome::Confirmed(view))
                }),
            }
        });
        let confirmation = Confirmation {
            order_id: order.id,
            from: order.status,
            charge_id,
            tickets,
            now,
            answer,
        };
        let Some(done) = self.store.confirm_order(confirmation).await? else {
            tracing::info!(
                order = %order.id,
                "order changed under us; taking the long way"
            );
            return Ok(None);
        };
        self.metrics.order_ended("confirmed", 1);
        self.metrics.tickets_issued(done.tickets.len());
        let answer = match done.answer {
            Some(recorded) => OrderAnswer::Recorded(recorded),
            None => OrderAnswer::settled(OrderOutcome::Confirmed(order_view_of(
                &confirmed,
                hold,
                &trip,
                &train,
                &done.tickets,
            ))),
        };
        Ok(Some((confirmed, answer)))
    }

    pub(crate) async fn confirm(&self, paid: Order) -> AppResult<Order> {
        if paid.status != OrderStatus::Paid {
            return Ok(paid);
        }
        let hold = self
            .store
            .hold(paid.hold_id)
            .await?
            .ok_or_else(|| AppError::Internal("order lost its hold".into()))?;
        // Tickets are issued in the same write; the fulfillment worker would also
        // issue them from the outbox, so the order always ends with its tickets.
        if let Some((confirmed, _)) = self.confirm_at_once(&paid, None, &hold, None).await? {
            return Ok(confirmed);
        }
        self.store
            .order(paid.id)
            .await?
            .ok_or_else(|| AppError::Internal(format!("order {} vanished", paid.id)))
    }

    /// Carries on an order a crash left mid-saga: a reserved order whose hold
    /// is still valid is charged and confirmed; a paid one is confirmed. An
    /// order past its hold is left to recovery (which refunds any late charge).
    pub(super) async fn resume_order(
        &self,
        order: Order,
        to: AnswerTo<'_>,
    ) -> AppResult<OrderAnswer> {
        let hold = self
            .store
            .hold(order.hold_id)
            .await?
            .ok_or_else(|| AppError::Internal("order lost its hold".into()))?;
        let settled = match order.status {
            OrderStatus::Reserved if hold.within_time(self.now()) => {
                let token = self
                    .store
                    .payment_token(&order.payment_token)
                    .await?
                    .ok_or_else(|| AppError::Internal("order lost its payment token".into()))?;
                if App::is_wallet_token(&token) {
                    self.resume_wallet_order(order).await?
                } else {
                    tracing::info!(
                        order = %order.id,
                        "resuming an order cut short before its charge"
                    );
                    let (settled, answered) = self
                        .charge_and_confirm(order, &token, Some(&hold), Some(to))
                        .await?;
                    if let Some(answer) = answered {
                        return Ok(answer);
                    }
                    settled
                }
            }
            OrderStatus::Paid => self.confirm(order).await?,
            _ => {
                return Err(in_progress(format!(
                    "order {} for this Idempotency-Key is being settled",
                    order.id
                )));
            }
        };
        if settled.status.is_final()
            || matches!(
                settled.status,
                OrderStatus::Confirmed | OrderStatus::AwaitingPayment
            )
        {
            return Ok(OrderAnswer::settled(self.order_outcome(&settled).await?));
        }
        Err(in_progress(format!(
            "order {} for this Idempotency-Key is still being processed",
            settled.id
        )))
    }
}

/// The `outcome` label of an order that has just reached `status`, if final.
fn outcome_of(status: OrderStatus) -> Option<&'static str> {
    match status {
        OrderStatus::Confirmed => Some("confirmed"),
        OrderStatus::Failed | OrderStatus::Expired => Some("failed"),
        OrderStatus::Cancelled | OrderStatus::Refunded => Some("cancelled"),
        OrderStatus::Pending
        | OrderStatus::Reserved
        | OrderStatus::Paid
        | OrderStatus::AwaitingPayment => None,
    }
}

/// The gateway idempotency key of an order's charge: one charge per order, ever.
pub(crate) fn charge_key(order_id: OrderId) -> String {
    format!("order-{order_id}")
}
