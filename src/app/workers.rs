//! Background work of a server process: outbox consumers (fulfillment,
//! notification, audit, and the event relay when one is plugged in), the hold
//! sweeper and saga recovery.
//!
//! Each consumer claims a batch before handling it (a lease of
//! `OUTBOX_LEASE`), so with several processes on one database each event is
//! handled by one of them. Delivery is still at-least-once: a consumer marks
//! an event done only after handling it, so a crash means the event is
//! handled again once the lease lapses; every handler is idempotent (tickets
//! by order and passenger, audit entries by event id, notification files by
//! event id, refunds as a target total).

use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;

use crate::domain::{ChargeStatus, Event, EventId, OrderEvent, OrderStatus};
use crate::store::{Consumer, OrderChange, OutboxClaim, OutboxEvent};

use super::booking::charge_key;
use super::{App, AppError, AppResult};

const BATCH: i64 = 200;

/// How often the retention worker runs (and once at start): retention is
/// counted in days, so hourly is soon enough.
const RETENTION_EVERY: Duration = Duration::from_secs(3600);

/// How long a claimed batch is the claimant's alone, unless configured
/// (`AppConfig::outbox_lease`). Long enough for a batch's notifications to go
/// out; a process killed mid-batch delays its events by at most this much.
pub const OUTBOX_LEASE: chrono::Duration = chrono::Duration::seconds(60);

/// A name for this app's claims, unique per app (hence per process).
pub(crate) fn outbox_owner() -> String {
    format!("{}-{:016x}", std::process::id(), rand::random::<u64>())
}

/// One batch at a time per consumer within an app. An app may re-claim its
/// own live claims (so a batch that failed part-way is retried next round, not
/// after the lease), so two batches of one consumer running at once in one app
/// (its worker loop and a `settle` call, say) would both take the same events
/// and send a notification twice.
///
/// Each turn also holds the events the consumer's worker loop handled but has
/// not marked yet: the loop marks them with its next claim, in the same write
/// (see `outbox_mark_and_claim`), and whoever claims next for this consumer
/// in this app marks them first.
#[derive(Default)]
pub(crate) struct OutboxTurns {
    fulfillment: tokio::sync::Mutex<Vec<EventId>>,
    notification: tokio::sync::Mutex<Vec<EventId>>,
    audit: tokio::sync::Mutex<Vec<EventId>>,
    relay: tokio::sync::Mutex<Vec<EventId>>,
}

impl OutboxTurns {
    pub(crate) fn of(&self, consumer: Consumer) -> &tokio::sync::Mutex<Vec<EventId>> {
        match consumer {
            Consumer::Fulfillment => &self.fulfillment,
            Consumer::Notification => &self.notification,
            Consumer::Audit => &self.audit,
            Consumer::Relay => &self.relay,
        }
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct RecoveryReport {
    pub holds_expired: usize,
    pub orders_confirmed: usize,
    pub orders_failed: usize,
}

/// Asks for one sweep now, answered with its outcome.
type SweepRequest = oneshot::Sender<AppResult<RecoveryReport>>;

/// Lets a caller run the background sweeper once, now, and wait for it: tests
/// advance a manual clock and then sweep, instead of sleeping past a period.
pub(crate) struct SweepRequests {
    tx: mpsc::UnboundedSender<SweepRequest>,
    /// Taken by the first `spawn_workers`; still here means no sweeper runs.
    rx: std::sync::Mutex<Option<mpsc::UnboundedReceiver<SweepRequest>>>,
}

impl Default for SweepRequests {
    fn default() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        SweepRequests {
            tx,
            rx: std::sync::Mutex::new(Some(rx)),
        }
    }
}

impl SweepRequests {
    /// The receiver slot; a panic elsewhere cannot poison it for good (the
    /// slot holds no invariant a half-finished holder could break).
    fn waiting_receiver(
        &self,
    ) -> std::sync::MutexGuard<'_, Option<mpsc::UnboundedReceiver<SweepRequest>>> {
        self.rx.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl App {
    /// Has the background sweeper run once now (expire holds, recover stuck
    /// orders) and returns what it did. Without running workers, sweeps here.
    pub async fn sweep_now(&self) -> AppResult<RecoveryReport> {
        if self.sweeps.waiting_receiver().is_some() {
            return self.recover_once().await;
        }
        let (reply, answer) = oneshot::channel();
        if self.sweeps.tx.send(reply).is_err() {
            return self.recover_once().await;
        }
        answer
            .await
            .map_err(|_| AppError::Internal("the sweeper stopped before answering".into()))?
    }

    /// Handles one batch of pending events for `consumer` and marks what it
    /// handled before returning; returns how many.
    pub async fn run_outbox_once(&self, consumer: Consumer) -> AppResult<usize> {
        if consumer == Consumer::Relay {
            // Relaying needs a publisher, and batches its own way (see `relay`).
            return match &self.events {
                Some(publisher) => Ok(self.relay_once(publisher.as_ref()).await?),
                None => Ok(0),
            };
        }
        let mut unmarked = self.outbox_turns.of(consumer).lock().await;
        let handled = self.outbox_round(consumer, &mut unmarked).await?;
        self.mark_handled(consumer, &mut unmarked).await?;
        Ok(handled)
    }

    /// The worker loop's round: like `run_outbox_once`, but what it handled is
    /// marked by the next round's claim, so a consumer keeping up with a stream
    /// of events costs one write per batch, not two.
    async fn run_outbox_round(&self, consumer: Consumer) -> AppResult<usize> {
        let mut unmarked = self.outbox_turns.of(consumer).lock().await;
        self.outbox_round(consumer, &mut unmarked).await
    }

    /// Marks what `consumer` handled and has not marked yet (a worker loop
    /// that stops marks its last batch here).
    async fn mark_handled(&self, consumer: Consumer, unmarked: &mut Vec<EventId>) -> AppResult<()> {
        if !unmarked.is_empty() {
            self.store
                .outbox_mark(consumer, unmarked, self.now())
                .await?;
            unmarked.clear();
        }
        Ok(())
    }

    /// Marks `unmarked` and claims the next batch in one write, handles it, and
    /// leaves what it handled in `unmarked` (the audit batch is marked with its
    /// own append). Returns how many it handled.
    async fn outbox_round(
        &self,
        consumer: Consumer,
        unmarked: &mut Vec<EventId>,
    ) -> AppResult<usize> {
        let events = self.claim_events_marking(consumer, unmarked).await?;
        unmarked.clear();
        if consumer == Consumer::Audit && !events.is_empty() {
            // One transaction for the whole batch and its marks; a failure leaves it all for the next round.
            self.store
                .audit_append_and_mark(&events, self.now())
                .await?;
            self.events_delivered(consumer, &events);
            return Ok(events.len());
        }
        let mut done = Vec::with_capacity(events.len());
        for event in &events {
            let handled = match consumer {
                Consumer::Fulfillment => self.fulfil(event).await,
                Consumer::Notification => self.notify(event).await,
                Consumer::Audit => Ok(self.store.audit_append(event).await?),
                Consumer::Relay => Ok(()), // handled above
            };
            match handled {
                Ok(()) => done.push(event.id),
                Err(e @ (AppError::Invalid(_) | AppError::NotFound(_))) => {
                    // Retrying cannot fix bad data; a poison event must not block the rest.
                    tracing::error!(event = %event.id, kind = event.kind(), ?consumer, error = %e, "skipping an event that cannot be handled");
                    done.push(event.id);
                }
                Err(e) => {
                    // Stop here to keep order; the event comes round again.
                    tracing::warn!(event = %event.id, kind = event.kind(), ?consumer, error = %e, "outbox handler failed; will retry");
                    break;
                }
            }
        }
        self.events_delivered(consumer, &events[..done.len()]);
        let handled = done.len();
        *unmarked = done;
        Ok(handled)
    }

    /// Claims the next batch of `consumer`'s events for this app.
    pub(crate) async fn claim_events(&self, consumer: Consumer) -> AppResult<Vec<OutboxEvent>> {
        self.claim_events_marking(consumer, &[]).await
    }

    /// Marks `done` handled and claims the next batch, in one write.
    async fn claim_events_marking(
        &self,
        consumer: Consumer,
        done: &[EventId],
    ) -> AppResult<Vec<OutboxEvent>> {
        let claim = OutboxClaim {
            owner: self.outbox_owner.to_string(),
            now: self.now(),
            lease: self.config.outbox_lease,
        };
        Ok(self
            .store
            .outbox_mark_and_claim(consumer, done, &claim, BATCH)
            .await?)
    }

    async fn fulfil(&self, event: &OutboxEvent) -> AppResult<()> {
        match &event.event {
            Event::OrderConfirmed(m) => {
                self.issue_tickets(m.order_id).await?;
            }
            Event::OrderFailed(m)
            | Event::OrderExpired(m)
            | Event::OrderRefunded(m)
            | Event::OrderCancelled(m) => {
                if let Some(order) = self.store.order(m.order_id).await? {
                    self.settle_refund(&order).await?;
                }
            }
            Event::OrderReserved { .. }
            | Event::OrderPaid(_)
            | Event::OrderAwaitingPayment(_)
            | Event::HoldExpired { .. }
            | Event::TicketIssued { .. }
            | Event::RiskDecided { .. }
            | Event::RiskCleared { .. }
            | Event::TripOperated { .. }
            | Event::OrderTripDelayed { .. } => {}
        }
        Ok(())
    }

    /// Ends expired holds and settles orders a crash left mid-saga.
    pub async fn recover_once(&self) -> AppResult<RecoveryReport> {
        let now = self.now();
        let mut report = RecoveryReport::default();
        loop {
            let expired = self.store.expire_holds(now, 500).await?;
            if !expired.is_empty() {
                // Their seats are free again on trips we do not know: read them all again.
                self.availability.freed_somewhere();
            }
            report.holds_expired += expired.len();
            if expired.len() < 500 {
                break;
            }
        }
        // Never settle an order whose charge may still be in flight in some server.
        let in_flight = chrono::Duration::from_std(
            self.config.gateway.charge_timeout * 2 + self.config.gateway.latency,
        )
        .unwrap_or(chrono::Duration::MAX);
        let before = now - self.config.recovery_after.max(in_flight);
        let stuck = self
            .store
            .orders_stuck(
                &[
                    OrderStatus::Pending,
                    OrderStatus::Reserved,
                    OrderStatus::Paid,
                ],
                before,
            )
            .await?;
        for order in stuck {
            let settled = match order.status {
                OrderStatus::Paid => self.confirm(order).await?,
                _ => match self
                    .payment_method_of(&order)
                    .await?
                    .lookup(&charge_key(order.id))
                    .await?
                {
                    Some(c) if c.status == ChargeStatus::Succeeded => {
                        let change = OrderChange {
                            charge_id: Some(c.charge_id),
                            ..Default::default()
                        };
                        let paid = self
                            .transition(&order, OrderEvent::ChargeSucceeded, change)
                            .await?;
                        self.confirm(paid).await?
                    }
                    Some(_) => {
                        let change = OrderChange {
                            failure: Some("payment declined".into()),
                            ..Default::default()
                        };
                        self.transition(&order, OrderEvent::Fail, change).await?
                    }
                    None if self.hold_still_valid(&order).await? => {
                        // Cut short before its charge, but its seats are still held
                        // for it: a retry with its Idempotency-Key carries it on. It
                        // fails here once its hold runs out.
                        continue;
                    }
                    None => {
                        let change = OrderChange {
                            failure: Some("interrupted before payment; nothing was charged".into()),
                            ..Default::default()
                        };
                        self.transition(&order, OrderEvent::Fail, change).await?
                    }
                },
            };
            match settled.status {
                OrderStatus::Confirmed => report.orders_confirmed += 1,
                OrderStatus::Failed => report.orders_failed += 1,
                _ => {}
            }
        }
        // Wallet payments awaited past their timeout: settled by asking the provider.
        let (confirmed, failed) = self.settle_overdue_wallet_payments().await?;
        report.orders_confirmed += confirmed;
        report.orders_failed += failed;
        // And money that reached the provider for an order that gave up, with
        // no callback to tell us: refunded.
        self.refund_lost_late_payments().await?;
        Ok(report)
    }

    /// Whether the order's hold has not yet run out.
    async fn hold_still_valid(&self, order: &crate::domain::Order) -> AppResult<bool> {
        Ok(self
            .store
            .hold(order.hold_id)
            .await?
            .is_some_and(|h| h.within_time(self.now())))
    }

    /// Drains every consumer and runs recovery until nothing is left (tests, CLI).
    pub async fn settle(&self) -> AppResult<()> {
        self.recover_once().await?;
        loop {
            let mut n = 0;
            for c in [
                Consumer::Fulfillment,
                Consumer::Notification,
                Consumer::Audit,
            ] {
                n += self.run_outbox_once(c).await?;
            }
            n += self.drain_sms_once().await?;
            if n == 0 {
                return Ok(());
            }
        }
    }

    /// Starts the background workers; they stop when `shutdown` turns true.
    pub fn spawn_workers(&self, shutdown: watch::Receiver<bool>) -> JoinSet<()> {
        tracing::debug!(sweep_every = ?self.config.sweep_every, recovery_after = %self.config.recovery_after, "starting background workers");
        let mut set = JoinSet::new();
        for consumer in [
            Consumer::Fulfillment,
            Consumer::Notification,
            Consumer::Audit,
        ] {
            let app = self.clone();
            let shutdown = shutdown.clone();
            set.spawn(async move {
                let looping = app.clone();
                every(Duration::from_millis(100), shutdown, move || {
                    let app = looping.clone();
                    async move {
                        if let Err(e) = app.run_outbox_round(consumer).await {
                            tracing::warn!(?consumer, error = %e, "outbox consumer failed");
                        }
                    }
                })
                .await;
                let mut unmarked = app.outbox_turns.of(consumer).lock().await;
                if let Err(e) = app.mark_handled(consumer, &mut unmarked).await {
                    tracing::warn!(?consumer, error = %e, "outbox consumer could not mark its last batch");
                }
            });
        }
        if self.sends_sms() {
            set.spawn(
                self.clone()
                    .sms_loop(Duration::from_millis(100), shutdown.clone()),
            );
        }
        if let Some(publisher) = &self.events {
            set.spawn(super::relay::relay_loop(
                self.clone(),
                publisher.clone(),
                shutdown.clone(),
            ));
        }
        if self.config.follow_seat_changes {
            set.spawn(super::seat_feed::follow(self.clone(), shutdown.clone()));
        }
        if let Some(days) = self.config.personal_data_retention_days {
            let app = self.clone();
            set.spawn(every(RETENTION_EVERY, shutdown.clone(), move || {
                let app = app.clone();
                async move {
                    if let Err(e) = app.purge_personal_data(days).await {
                        tracing::warn!(error = %e, "personal data retention failed");
                    }
                }
            }));
        }
        let app = self.clone();
        let requests = self.sweeps.waiting_receiver().take();
        set.spawn(sweeper(app, requests, shutdown));
        set
    }
}

/// Sweeps every `sweep_every`, and at once whenever `sweep_now` asks.
async fn sweeper(
    app: App,
    requests: Option<mpsc::UnboundedReceiver<SweepRequest>>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut requests = requests;
    let mut interval = tokio::time::interval(app.config.sweep_every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let asked = async {
            match requests.as_mut() {
                Some(rx) => rx.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = interval.tick() => log_sweep(&app.recover_once().await),
            Some(reply) = asked => {
                let outcome = app.recover_once().await;
                log_sweep(&outcome);
                let _ = reply.send(outcome);
            }
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
    }
}

fn log_sweep(outcome: &AppResult<RecoveryReport>) {
    match outcome {
        Ok(r) if *r != RecoveryReport::default() => tracing::info!(?r, "recovery"),
        Ok(_) => tracing::trace!("recovery: nothing to do"),
        Err(e) => tracing::warn!(error = %e, "recovery failed"),
    }
}

/// Runs `tick` now and then every `period` until shutdown.
async fn every<F, Fut>(period: Duration, mut shutdown: watch::Receiver<bool>, tick: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut interval = tokio::time::interval(period);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = interval.tick() => tick().await,
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
    }
}
