//! Operations staff perform on whole trips: cancelling one (every confirmed
//! order refunded in full through its own payment method, holds released,
//! passengers told through the order events' notifications), and the checks
//! that keep a cancelled trip from being sold.
//!
//! A cancellation is recorded before any order is touched, then the trip's
//! orders are walked in id order. Each order is moved to `refunded` (a
//! conditional transition: only one run can move it) and then settled with
//! its payment method, whose refund raises the refunded total to what is owed
//! (repeating it pays nothing more). So a run killed anywhere can be run again:
//! it skips what is done and settles what was left. May not decide refunds for
//! a passenger's own cancellation (that is `booking::cancel`).

use std::time::Duration;

use crate::app::{App, AppResult};
use crate::domain::time::to_local_rfc3339;
use crate::domain::{OrderEvent, OrderId, OrderStatus, ParseError, TripId};
use crate::store::OrderChange;
use crate::wire::trip_ops::{TripCancelled, TripDelayed};

/// The longest delay that is a delay (beyond it, cancel the trip).
pub const MAX_DELAY_MINUTES: i64 = 24 * 60;

/// Orders read per page while walking a trip.
const PAGE: i64 = 200;

/// How a cancellation run goes.
#[derive(Debug, Clone, Copy, Default)]
pub struct CancelPace {
    /// A pause after each order refunded, to spare the payment providers
    /// when a full train is cancelled at once.
    pub per_order: Duration,
}

impl App {
    /// Cancels `trip_id` for `reason`, acting as `actor`, or finishes a
    /// cancellation an earlier run left unfinished.
    pub async fn cancel_trip(
        &self,
        trip_id: TripId,
        reason: &str,
        actor: &str,
        pace: CancelPace,
    ) -> AppResult<TripCancelled> {
        let reason = crate::domain::text::clean("reason", reason)
            .map_err(|e| ParseError::new("reason", e.to_string()))?;
        if reason.is_empty() {
            return Err(ParseError::new("reason", "say why the trip is cancelled").into());
        }
        // Existence first: nothing is recorded for a trip that is not there.
        self.trip_and_train(trip_id).await?;
        let (record, newly) = self
            .store
            .record_trip_cancellation(trip_id, reason, actor, self.now())
            .await?;
        if newly {
            tracing::info!(trip = %trip_id, actor, reason, "trip cancelled");
        }
        let mut report = TripCancelled {
            trip_id,
            reason: record.reason.clone(),
            actor: record.actor.clone(),
            cancelled_at: to_local_rfc3339(record.cancelled_at),
            newly_cancelled: newly,
            orders_refunded: 0,
            amount_refunded: 0,
            refunds_settled: 0,
            holds_released: 0,
            orders_in_flight: 0,
            finished: false,
        };
        let mut after = OrderId(0);
        loop {
            let page = self.store.trip_orders_after(trip_id, after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.id;
            for order in page {
                self.cancel_trip_order(order, &mut report, pace).await?;
            }
        }
        for (hold_id, user_id) in self.store.trip_active_holds(trip_id).await? {
            if self.store.release_hold(hold_id, user_id).await? {
                self.seats_freed(hold_id).await;
                report.holds_released += 1;
            }
        }
        if report.orders_in_flight == 0 {
            self.store
                .finish_trip_cancellation(trip_id, self.now())
                .await?;
            report.finished = true;
        }
        Ok(report)
    }

    /// One order of a cancelled trip: a confirmed one is refunded in full
    /// (whatever the refund table says: the railway, not the passenger,
    /// cancelled); one already cancelled has its refund settled.
    async fn cancel_trip_order(
        &self,
        order: crate::domain::Order,
        report: &mut TripCancelled,
        pace: CancelPace,
    ) -> AppResult<()> {
        let mut order = order;
        if order.status == OrderStatus::Confirmed {
            let event = OrderEvent::Cancel {
                refund: order.amount > 0,
            };
            let change = OrderChange {
                refunded_amount: Some(order.amount),
                ..Default::default()
            };
            match self.try_transition(&order, event, change).await? {
                Some(moved) => {
                    report.orders_refunded += 1;
                    report.amount_refunded += moved.refunded_amount;
                    order = moved;
                }
                // A passenger cancelled it meanwhile: settle what that decided.
                None => order = self.reload(order.id).await?,
            }
        }
        match order.status {
            OrderStatus::Refunded | OrderStatus::Cancelled => {
                self.settle_refund(&order).await?;
                report.refunds_settled += 1;
                if !pace.per_order.is_zero() {
                    tokio::time::sleep(pace.per_order).await;
                }
            }
            OrderStatus::Pending
            | OrderStatus::Reserved
            | OrderStatus::Paid
            | OrderStatus::AwaitingPayment
            // Moved under us and back to confirmed cannot happen; if it did,
            // a later run must see to it.
            | OrderStatus::Confirmed => report.orders_in_flight += 1,
            // Failed and expired orders owe a refund of any charge that landed;
            // recovery settles those.
            OrderStatus::Failed | OrderStatus::Expired => {}
        }
        Ok(())
    }

    /// Delays a trip by `minutes`: every passenger with a confirmed order is
    /// told (through the notification outbox) and may then cancel with a full
    /// refund. A later delay replaces an earlier one.
    pub async fn delay_trip(
        &self,
        trip_id: TripId,
        minutes: i64,
        reason: &str,
        actor: &str,
    ) -> AppResult<TripDelayed> {
        let reason = crate::domain::text::clean("reason", reason)
            .map_err(|e| ParseError::new("reason", e.to_string()))?;
        if reason.is_empty() {
            return Err(ParseError::new("reason", "say why the trip is late").into());
        }
        if !(1..=MAX_DELAY_MINUTES).contains(&minutes) {
            return Err(
                ParseError::new("minutes", format!("1 to {MAX_DELAY_MINUTES} minutes")).into(),
            );
        }
        let (trip, _) = self.trip_and_train(trip_id).await?;
        let told = self
            .store
            .record_trip_delay(trip_id, minutes, reason, actor, self.now())
            .await?;
        let departs = trip.departs_at + chrono::Duration::minutes(minutes);
        Ok(TripDelayed {
            trip_id,
            minutes,
            departs_at: to_local_rfc3339(departs),
            orders_told: told,
        })
    }
}
