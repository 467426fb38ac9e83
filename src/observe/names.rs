//! Every metric the server exposes, with its kind and help text: one list, so
//! the HELP lines, the histogram buckets, the pre-registered zero series and
//! docs/slo.md all name the same things.
//!
//! Names follow Prometheus conventions: a `ticketctl_` prefix, base units
//! (seconds, bytes), `_total` on counters. `process_resident_memory_bytes`
//! keeps its standard name so stock dashboards find it.

/// What kind of series a metric is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    Counter,
    Gauge,
    /// A histogram with these bucket bounds (upper, inclusive).
    Histogram(&'static [f64]),
}

/// One metric: its name, kind and HELP text.
#[derive(Debug, Clone, Copy)]
pub struct Def {
    pub name: &'static str,
    pub kind: Kind,
    pub help: &'static str,
}

/// Request latency, 1 ms to 10 s: a search answers in milliseconds, an order
/// with a slow gateway in seconds, and the read deadline is 10 s.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Time a command waits for the SQLite writer: sub-millisecond when idle,
/// up to a second when the queue is deep.
pub const QUEUE_WAIT_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
];
/// Commands per writer batch: powers of two up to the batch cap (64).
pub const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0];
/// From an outbox event's writing to its handling: the workers poll about
/// once a second, so seconds to minutes.
pub const DELIVERY_BUCKETS: &[f64] = &[
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
];

pub const HTTP_REQUESTS: &str = "ticketctl_http_requests_total";
pub const HTTP_DURATION: &str = "ticketctl_http_request_duration_seconds";
pub const HTTP_RATE_LIMITED: &str = "ticketctl_http_rate_limited_total";
pub const HTTP_SHED: &str = "ticketctl_http_shed_total";
pub const HOLDS_CREATED: &str = "ticketctl_holds_created_total";
pub const HOLDS_REFUSED: &str = "ticketctl_holds_refused_total";
pub const ORDERS: &str = "ticketctl_orders_total";
pub const TICKETS_ISSUED: &str = "ticketctl_tickets_issued_total";
pub const TRIP_SEATS_FREE: &str = "ticketctl_trip_seats_free";
pub const ROOM_WAITING: &str = "ticketctl_waiting_room_waiting";
pub const ROOM_ADMITTED: &str = "ticketctl_waiting_room_admitted";
pub const ROOM_ADMISSIONS: &str = "ticketctl_waiting_room_admissions_total";
pub const ROOM_RATE: &str = "ticketctl_waiting_room_admission_rate";
pub const OUTBOX_UNHANDLED: &str = "ticketctl_outbox_unhandled_events";
pub const OUTBOX_OLDEST_AGE: &str = "ticketctl_outbox_oldest_unhandled_age_seconds";
pub const OUTBOX_DELAY: &str = "ticketctl_outbox_delivery_delay_seconds";
pub const WRITER_BATCH: &str = "ticketctl_sqlite_writer_batch_size";
pub const WRITER_WAIT: &str = "ticketctl_sqlite_writer_queue_wait_seconds";
pub const POOL_CONNECTIONS: &str = "ticketctl_db_pool_connections";
pub const POOL_MAX: &str = "ticketctl_db_pool_max_connections";
pub const INVARIANT_VIOLATIONS: &str = "ticketctl_invariant_violations";
pub const INVARIANT_CHECKED_AT: &str = "ticketctl_invariant_last_check_timestamp_seconds";
pub const SMS_SENT: &str = "ticketctl_sms_sent_total";
pub const RISK_DECISIONS: &str = "ticketctl_risk_decisions_total";
pub const SMS_SEGMENTS: &str = "ticketctl_sms_segments_total";
pub const SMS_RETRIES: &str = "ticketctl_sms_retries_total";
pub const SMS_FAILED: &str = "ticketctl_sms_failed_total";
pub const RESIDENT_MEMORY: &str = "process_resident_memory_bytes";

/// The whole catalogue.
pub const ALL: &[Def] = &[
    Def {
        name: HTTP_REQUESTS,
        kind: Kind::Counter,
        help: "HTTP requests answered, by route template, method and status code",
    },
    Def {
        name: HTTP_DURATION,
        kind: Kind::Histogram(LATENCY_BUCKETS),
        help: "Time to answer an HTTP request (until the response head), by route template and method",
    },
    Def {
        name: HTTP_RATE_LIMITED,
        kind: Kind::Counter,
        help: "Requests refused with 429 by a rate limit, by scope (address or account)",
    },
    Def {
        name: HTTP_SHED,
        kind: Kind::Counter,
        help: "Requests shed with 503 by load shedding, by reason (in_flight or read_timeout)",
    },
    Def {
        name: HOLDS_CREATED,
        kind: Kind::Counter,
        help: "Seat holds created",
    },
    Def {
        name: HOLDS_REFUSED,
        kind: Kind::Counter,
        help: "Seat holds refused, by reason",
    },
    Def {
        name: ORDERS,
        kind: Kind::Counter,
        help: "Orders that reached an outcome in this process (confirmed, failed, cancelled)",
    },
    Def {
        name: TICKETS_ISSUED,
        kind: Kind::Counter,
        help: "Tickets issued (one per passenger of a confirmed order)",
    },
    Def {
        name: TRIP_SEATS_FREE,
        kind: Kind::Gauge,
        help: "Seats with no segment taken, for the trips most in demand here (top N)",
    },
    Def {
        name: ROOM_WAITING,
        kind: Kind::Gauge,
        help: "Users waiting in a queued sale's waiting room (pre-queue and queue)",
    },
    Def {
        name: ROOM_ADMITTED,
        kind: Kind::Gauge,
        help: "Users admitted to a queued sale and shopping now",
    },
    Def {
        name: ROOM_ADMISSIONS,
        kind: Kind::Counter,
        help: "Admissions a queued sale has made since it started",
    },
    Def {
        name: ROOM_RATE,
        kind: Kind::Gauge,
        help: "Admissions per second a queued sale is set to make",
    },
    Def {
        name: OUTBOX_UNHANDLED,
        kind: Kind::Gauge,
        help: "Outbox events not yet handled, by consumer",
    },
    Def {
        name: OUTBOX_OLDEST_AGE,
        kind: Kind::Gauge,
        help: "Age of the oldest outbox event not yet handled, by consumer (0 when none)",
    },
    Def {
        name: OUTBOX_DELAY,
        kind: Kind::Histogram(DELIVERY_BUCKETS),
        help: "Time from an outbox event's writing to its handling, by consumer",
    },
    Def {
        name: WRITER_BATCH,
        kind: Kind::Histogram(BATCH_BUCKETS),
        help: "Commands committed together by the SQLite writer",
    },
    Def {
        name: WRITER_WAIT,
        kind: Kind::Histogram(QUEUE_WAIT_BUCKETS),
        help: "Time a command waited in the SQLite writer's queue before its batch began",
    },
    Def {
        name: POOL_CONNECTIONS,
        kind: Kind::Gauge,
        help: "Postgres pool connections, by state (in_use or idle)",
    },
    Def {
        name: POOL_MAX,
        kind: Kind::Gauge,
        help: "Most connections the Postgres pool may open",
    },
    Def {
        name: INVARIANT_VIOLATIONS,
        kind: Kind::Gauge,
        help: "Violations the last invariant check found, by kind (double_taken is an oversold seat-segment)",
    },
    Def {
        name: INVARIANT_CHECKED_AT,
        kind: Kind::Gauge,
        help: "When the invariants were last checked (Unix seconds)",
    },
    Def {
        name: RISK_DECISIONS,
        kind: Kind::Counter,
        help: "Fraud-velocity decisions by rule and outcome (step-up, block)",
    },
    Def {
        name: SMS_SENT,
        kind: Kind::Counter,
        help: "Traveller SMS the gateway accepted, by encoding (gsm7, ucs2)",
    },
    Def {
        name: SMS_SEGMENTS,
        kind: Kind::Counter,
        help: "Segments (billed SMS) of the accepted traveller SMS, by encoding",
    },
    Def {
        name: SMS_RETRIES,
        kind: Kind::Counter,
        help: "SMS attempts the gateway did not take for now, each retried after a backoff",
    },
    Def {
        name: SMS_FAILED,
        kind: Kind::Counter,
        help: "SMS given up, by reason: rejected (refused for good, e.g. an invalid number) or attempts (out of retries)",
    },
    Def {
        name: RESIDENT_MEMORY,
        kind: Kind::Gauge,
        help: "Resident set size of the server process",
    },
];

/// Metrics that only one backend has: the SQLite writer's, the Postgres pool's.
pub fn backend_specific(name: &str) -> Option<crate::store::Backend> {
    if name.starts_with("ticketctl_sqlite_") {
        Some(crate::store::Backend::Sqlite)
    } else if name.starts_with("ticketctl_db_pool_") {
        Some(crate::store::Backend::Postgres)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_conventional() {
        let mut seen = std::collections::BTreeSet::new();
        for def in ALL {
            assert!(seen.insert(def.name), "{} twice", def.name);
            assert!(
                def.name.starts_with("ticketctl_") || def.name.starts_with("process_"),
                "{}",
                def.name
            );
            let counter = matches!(def.kind, Kind::Counter);
            assert_eq!(counter, def.name.ends_with("_total"), "{}", def.name);
            if let Kind::Histogram(buckets) = def.kind {
                assert!(buckets.windows(2).all(|w| w[0] < w[1]), "{}", def.name);
            }
        }
    }
}
