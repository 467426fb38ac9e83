//! Gauges that need a query (outbox backlog, free seats of the hottest trips,
//! waiting rooms, the Postgres pool, resident memory, the invariants), set by
//! a periodic task: a scrape only renders, so scraping often costs the
//! database nothing and a slow database never slows a scrape.
//!
//! Every refresh sets every gauge again (the last invariant findings too),
//! because a gauge not set for a while expires from the registry: a trip that
//! left the top N goes away, and so does a figure whose query keeps failing.

use parking_lot::Mutex;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

use crate::domain::SegmentMask;
use crate::observe::{Backlog, Metrics, process};
use crate::store::{Consumer, OutboxEvent, WriterObserver};

use super::{App, AppResult};

/// How often the gauges are refreshed and the invariants checked.
#[derive(Debug, Clone, Copy)]
pub struct GaugeSettings {
    pub refresh_every: Duration,
    /// `None`: never (the check reads every live seat claim and the ledger).
    pub invariants_every: Option<Duration>,
}

impl Default for GaugeSettings {
    fn default() -> Self {
        GaugeSettings {
            refresh_every: Duration::from_secs(5),
            invariants_every: Some(Duration::from_secs(300)),
        }
    }
}

impl GaugeSettings {
    /// How long a gauge may go unset before it leaves the scrape: a few
    /// refreshes, so one slow refresh does not make gauges flicker.
    pub fn ttl(&self) -> Duration {
        (self.refresh_every * 3).max(Duration::from_secs(15))
    }
}

/// What the last invariant check found, re-published at every refresh.
#[derive(Default)]
pub(crate) struct GaugeState {
    invariants: Mutex<Option<Checked>>,
}

struct Checked {
    at: Instant,
    unix: i64,
    found: Vec<(&'static str, usize)>,
}

/// The SQLite writer's figures go to the app's metrics.
pub(crate) struct WriterMetrics(pub Metrics);

impl WriterObserver for WriterMetrics {
    fn batch_done(&self, commands: usize) {
        self.0.writer_batch(commands);
    }

    fn command_waited(&self, waited: Duration) {
        self.0.writer_wait(waited);
    }
}

fn consumer_label(c: Consumer) -> &'static str {
    match c {
        Consumer::Fulfillment => "fulfillment",
        Consumer::Notification => "notification",
        Consumer::Audit => "audit",
        Consumer::Relay => "relay",
    }
}

impl App {
    /// This server's metrics registry.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Refreshes every queried gauge once, now; checks the invariants too
    /// when `with_invariants` or when they are due. A part that fails is
    /// logged and skipped (its gauges then expire); the first error is returned.
    pub async fn refresh_gauges(&self, with_invariants: bool) -> AppResult<()> {
        let m = &self.metrics;
        let mut first_error = None;
        let mut note = |part: &str, r: AppResult<()>| {
            if let Err(e) = r {
                tracing::warn!(part, error = %e, "refreshing gauges failed");
                first_error.get_or_insert(e);
            }
        };
        note("outbox", self.refresh_outbox().await);
        note("seats", self.refresh_hot_trips().await);
        note("waiting room", self.refresh_rooms().await);
        note("invariants", self.refresh_invariants(with_invariants).await);
        if let Some(pool) = self.store.pool_usage() {
            m.db_pool(pool.in_use, pool.idle, pool.max);
        }
        if let Some(bytes) = process::resident_memory_bytes() {
            m.resident_memory(bytes);
        }
        m.upkeep();
        first_error.map_or(Ok(()), Err)
    }

    async fn refresh_outbox(&self) -> AppResult<()> {
        let mut consumers = vec![
            Consumer::Fulfillment,
            Consumer::Notification,
            Consumer::Audit,
        ];
        // Without a relay nobody will ever handle its column: not a backlog.
        if self.events.is_some() {
            consumers.push(Consumer::Relay);
        }
        let now = self.now();
        for b in self.store.outbox_backlog(&consumers).await? {
            let oldest_age = b
                .oldest
                .and_then(|t| (now - t).to_std().ok())
                .unwrap_or_default();
            self.metrics.outbox_backlog(Backlog {
                consumer: consumer_label(b.consumer),
                unhandled: b.unhandled,
                oldest_age,
            });
        }
        Ok(())
    }

    async fn refresh_hot_trips(&self) -> AppResult<()> {
        let everything = SegmentMask::from_bits(u64::MAX);
        for trip in self.metrics.hot_trips_now() {
            let seats = self.availability.get(self.store.as_ref(), trip).await?;
            // Free on every segment: a seat sold for part of the route is not counted.
            let free: i64 = seats.free_counts(everything).values().sum();
            self.metrics.trip_seats_free(trip, free);
        }
        Ok(())
    }

    async fn refresh_rooms(&self) -> AppResult<()> {
        for reading in self.queue.census().await? {
            self.metrics.waiting_room(&reading);
        }
        Ok(())
    }

    async fn refresh_invariants(&self, now: bool) -> AppResult<()> {
        let due = {
            let last = self.gauges.invariants.lock();
            match (&*last, self.config.gauges.invariants_every) {
                _ if now => true,
                (None, Some(_)) => true,
                (Some(c), Some(every)) => c.at.elapsed() >= every,
                (_, None) => false,
            }
        };
        if due {
            let report = self.check_invariants(None).await?;
            let l = &report.ledger;
            let missing = l.confirmed_passengers - (l.valid_tickets - l.stray_tickets);
            let money = report.money_mismatches.len() + usize::from(l.orders_net != l.gateway_net);
            let found = vec![
                ("double_taken", report.double_taken.len()),
                ("mask_mismatch", report.mask_mismatches.len()),
                ("missing_tickets", missing.unsigned_abs() as usize),
                ("stray_tickets", l.stray_tickets.max(0) as usize),
                ("money_mismatch", money),
            ];
            *self.gauges.invariants.lock() = Some(Checked {
                at: Instant::now(),
                unix: self.now().timestamp(),
                found,
            });
        }
        if let Some(c) = &*self.gauges.invariants.lock() {
            self.metrics.invariants(&c.found, c.unix);
        }
        Ok(())
    }

    /// Records how long after their writing `events` were handled by `consumer`
    /// (the notification consumer's is the notification delay of docs/slo.md).
    pub(crate) fn events_delivered(&self, consumer: Consumer, events: &[OutboxEvent]) {
        let now = self.now();
        for e in events {
            let delay = (now - e.created_at).to_std().unwrap_or_default();
            self.metrics
                .event_delivered(consumer_label(consumer), delay);
        }
    }

    /// Refreshes the gauges every `refresh_every` until `stop` turns true.
    pub(crate) fn spawn_gauge_refresher(
        &self,
        mut stop: watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let app = self.clone();
        let every = self.config.gauges.refresh_every;
        tokio::spawn(async move {
            loop {
                // Errors are logged inside; the next round tries again.
                let _ = app.refresh_gauges(false).await;
                tokio::select! {
                    () = tokio::time::sleep(every) => {}
                    _ = stop.changed() => return,
                }
                if *stop.borrow() {
                    return;
                }
            }
        })
    }
}

/// The writer observer for a new app's store.
pub(crate) fn writer_observer(metrics: &Metrics) -> Arc<dyn WriterObserver> {
    Arc::new(WriterMetrics(metrics.clone()))
}
