//! What the server records, one method per fact, so instrumentation calls
//! elsewhere stay one line and label values come from short fixed lists
//! (bounded cardinality): routes are templates, never raw paths.

use std::time::Duration;

use super::names;
use super::registry::Metrics;
use crate::domain::TripId;

/// Why a hold was refused (the `reason` label).
pub const HOLD_REFUSALS: [&str; 6] = ["sold_out", "busy", "conflict", "limit", "queue", "invalid"];
/// How an order ended (the `outcome` label).
pub const ORDER_OUTCOMES: [&str; 3] = ["confirmed", "failed", "cancelled"];
/// Outbox consumers (the `consumer` label).
pub const CONSUMERS: [&str; 4] = ["fulfillment", "notification", "audit", "relay"];

/// Why an SMS was given up (the `reason` label).
pub const SMS_FAILURES: [&str; 2] = ["rejected", "attempts"];
/// SMS encodings (the `encoding` label).
pub const SMS_ENCODINGS: [&str; 2] = ["gsm7", "ucs2"];

/// One backlog reading of an outbox consumer.
#[derive(Debug, Clone, Copy)]
pub struct Backlog {
    pub consumer: &'static str,
    pub unhandled: i64,
    pub oldest_age: Duration,
}

/// One reading of a queued sale's waiting room.
#[derive(Debug, Clone)]
pub struct RoomReading {
    pub sale: String,
    pub waiting: u64,
    pub admitted: u64,
    pub admissions: u64,
    pub rate_per_sec: f64,
}

impl Metrics {
    /// An answered HTTP request; `route` is the matched template ("unmatched" otherwise).
    pub fn http_request(&self, route: &str, method: &str, status: u16, took: Duration) {
        let status = status.to_string();
        self.counter(
            names::HTTP_REQUESTS,
            &[("route", route), ("method", method), ("status", &status)],
        )
        .increment(1);
        self.histogram(
            names::HTTP_DURATION,
            &[("route", route), ("method", method)],
        )
        .record(took.as_secs_f64());
    }

    /// A request refused by a rate limit of `scope` ("address" or "account").
    pub fn rate_limited(&self, scope: &'static str) {
        self.counter(names::HTTP_RATE_LIMITED, &[("scope", scope)])
            .increment(1);
    }

    /// A request shed by load shedding ("in_flight" or "read_timeout").
    pub fn shed(&self, reason: &'static str) {
        self.counter(names::HTTP_SHED, &[("reason", reason)])
            .increment(1);
    }

    /// A hold was tried on `trip`: demand, whatever the outcome.
    pub fn hold_tried(&self, trip: TripId) {
        self.hot_trips().note(trip);
    }

    pub fn hold_created(&self) {
        self.counter(names::HOLDS_CREATED, &[]).increment(1);
    }

    /// A hold refused, `reason` one of `HOLD_REFUSALS`.
    pub fn hold_refused(&self, reason: &'static str) {
        debug_assert!(HOLD_REFUSALS.contains(&reason));
        self.counter(names::HOLDS_REFUSED, &[("reason", reason)])
            .increment(1);
    }

    /// An order ended, `outcome` one of `ORDER_OUTCOMES`.
    pub fn order_ended(&self, outcome: &'static str, count: usize) {
        debug_assert!(ORDER_OUTCOMES.contains(&outcome));
        self.counter(names::ORDERS, &[("outcome", outcome)])
            .increment(count as u64);
    }

    /// A fraud-velocity rule tripped; `rule` is a built-in rule's name,
    /// `outcome` "step-up" or "block".
    pub fn risk_decision(&self, rule: &'static str, outcome: &'static str) {
        self.counter(
            names::RISK_DECISIONS,
            &[("rule", rule), ("outcome", outcome)],
        )
        .increment(1);
    }

    pub fn tickets_issued(&self, count: usize) {
        self.counter(names::TICKETS_ISSUED, &[])
            .increment(count as u64);
    }

    /// An SMS the gateway accepted, in `segments` billed parts.
    pub fn sms_sent(&self, encoding: crate::domain::sms::SmsEncoding, segments: u32) {
        let encoding = encoding.to_string();
        self.counter(names::SMS_SENT, &[("encoding", &encoding)])
            .increment(1);
        self.counter(names::SMS_SEGMENTS, &[("encoding", &encoding)])
            .increment(u64::from(segments));
    }

    /// An SMS attempt to be retried after a backoff.
    pub fn sms_retried(&self) {
        self.counter(names::SMS_RETRIES, &[]).increment(1);
    }

    /// An SMS given up for `reason` (one of `SMS_FAILURES`).
    pub fn sms_failed(&self, reason: &'static str) {
        self.counter(names::SMS_FAILED, &[("reason", reason)])
            .increment(1);
    }

    /// An outbox event handled by `consumer` this long after it was written.
    pub fn event_delivered(&self, consumer: &'static str, delay: Duration) {
        self.histogram(names::OUTBOX_DELAY, &[("consumer", consumer)])
            .record(delay.as_secs_f64());
    }

    /// The SQLite writer committed a batch of `commands`.
    pub fn writer_batch(&self, commands: usize) {
        self.histogram(names::WRITER_BATCH, &[])
            .record(commands as f64);
    }

    /// A command waited this long for the SQLite writer.
    pub fn writer_wait(&self, waited: Duration) {
        self.histogram(names::WRITER_WAIT, &[])
            .record(waited.as_secs_f64());
    }

    /// The trips to read free seats for at this refresh (the hottest).
    pub fn hot_trips_now(&self) -> Vec<TripId> {
        self.hot_trips().top_and_decay()
    }

    pub fn trip_seats_free(&self, trip: TripId, free: i64) {
        self.gauge(names::TRIP_SEATS_FREE, &[("trip", &trip.to_string())])
            .set(free as f64);
    }

    pub fn waiting_room(&self, r: &RoomReading) {
        let sale = [("sale", r.sale.as_str())];
        self.gauge(names::ROOM_WAITING, &sale).set(r.waiting as f64);
        self.gauge(names::ROOM_ADMITTED, &sale)
            .set(r.admitted as f64);
        // The room (perhaps in Redis, shared) keeps the running total.
        self.counter(names::ROOM_ADMISSIONS, &sale)
            .absolute(r.admissions);
        self.gauge(names::ROOM_RATE, &sale).set(r.rate_per_sec);
    }

    pub fn outbox_backlog(&self, b: Backlog) {
        let consumer = [("consumer", b.consumer)];
        self.gauge(names::OUTBOX_UNHANDLED, &consumer)
            .set(b.unhandled as f64);
        self.gauge(names::OUTBOX_OLDEST_AGE, &consumer)
            .set(b.oldest_age.as_secs_f64());
    }

    pub fn db_pool(&self, in_use: u32, idle: u32, max: u32) {
        self.gauge(names::POOL_CONNECTIONS, &[("state", "in_use")])
            .set(in_use);
        self.gauge(names::POOL_CONNECTIONS, &[("state", "idle")])
            .set(idle);
        self.gauge(names::POOL_MAX, &[]).set(max);
    }

    /// The last invariant check's findings, `kind` → how many, at `checked_at` (Unix s).
    pub fn invariants(&self, found: &[(&'static str, usize)], checked_at: i64) {
        for (kind, n) in found {
            self.gauge(names::INVARIANT_VIOLATIONS, &[("kind", kind)])
                .set(*n as f64);
        }
        self.gauge(names::INVARIANT_CHECKED_AT, &[])
            .set(checked_at as f64);
    }

    pub fn resident_memory(&self, bytes: u64) {
        self.gauge(names::RESIDENT_MEMORY, &[]).set(bytes as f64);
    }
}
