//! `GET /metrics`: a known sequence of requests moves the counters by exactly
//! what it did, the queried gauges show the database after a refresh, rate
//! limits and load shedding are counted as the clients saw them, and the
//! route label is the template, never the raw path. On both backends.

use reqwest::StatusCode;
use serde_json::json;
use std::num::NonZeroU32;
use std::time::Duration;

use crate::common::booking_flow::{book, hold};
use crate::common::db::TestDb;
use crate::common::scrape::{Scrape, scrape};
use crate::common::server::{TestApp, quick_user, test_config, tiny_trip};
use ticketctl::server::Limits;

const GOOD_CARD: &str = "4242424242424242";
const DECLINED_CARD: &str = "4000000000000002";

async fn metrics_of(t: &TestApp) -> Scrape {
    scrape(&t.client, &format!("http://{}", t.addr)).await
}

/// How much each series moved between two scrapes.
fn moved(before: &Scrape, after: &Scrape, series: &str) -> f64 {
    after.value(series) - before.value(series)
}

async fn a_known_sequence_moves_each_counter_by_what_it_did(t: TestApp) {
    let trip = tiny_trip(&t.app, 4).await;
    let seats = t.app.raw_store().seats(trip).await.unwrap().len() as f64;
    let before = metrics_of(&t).await;

    // Two trip reads, one of an id that does not exist: one route, two statuses.
    assert_eq!(
        t.get(&format!("/v1/trips/{trip}")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        t.get("/v1/trips/999999").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        t.get("/v1/no/such/path").await.status,
        StatusCode::NOT_FOUND
    );
    // A confirmed booking of two seats, and one whose card is declined.
    let sold = book(&t, trip, 1, 2, GOOD_CARD).await;
    assert_eq!(
        sold.reply.body["status"], "confirmed",
        "{}",
        sold.reply.body
    );
    let declined = book(&t, trip, 2, 1, DECLINED_CARD).await;
    assert_ne!(declined.reply.status, StatusCode::CREATED);
    // A hold for more seats than a booking may have.
    let (_, token) = quick_user(&t.app, 3).await;
    let refused = t
        .post_as(
            "/v1/holds",
            &token,
            json!({ "trip_id": trip, "from": "DHK", "to": "CTG", "class": "S_CHAIR", "count": 99 }),
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );

    let after = metrics_of(&t).await;
    let m = |series: &str| moved(&before, &after, series);
    let trips = r#"route="/v1/trips/{id}",method="GET""#;
    assert_eq!(
        m(&format!(
            r#"ticketctl_http_requests_total{{{trips},status="200"}}"#
        )),
        1.0
    );
    assert_eq!(
        m(&format!(
            r#"ticketctl_http_requests_total{{{trips},status="404"}}"#
        )),
        1.0
    );
    assert_eq!(
        m(&format!(
            "ticketctl_http_request_duration_seconds_count{{{trips}}}"
        )),
        2.0
    );
    assert_eq!(
        m(r#"ticketctl_http_requests_total{route="unmatched",method="GET",status="404"}"#),
        1.0
    );
    assert!(
        !after.text.contains("/v1/trips/999999")
            && !after.text.contains(&format!("/v1/trips/{trip}\"")),
        "raw paths must never become labels"
    );
    let orders = r#"route="/v1/orders",method="POST""#;
    assert_eq!(
        m(&format!(
            r#"ticketctl_http_requests_total{{{orders},status="201"}}"#
        )),
        1.0
    );
    assert_eq!(
        m(&format!(
            "ticketctl_http_request_duration_seconds_count{{{orders}}}"
        )),
        2.0
    );
    assert_eq!(m("ticketctl_holds_created_total"), 2.0);
    assert_eq!(m(r#"ticketctl_holds_refused_total{reason="invalid"}"#), 1.0);
    assert_eq!(m(r#"ticketctl_orders_total{outcome="confirmed"}"#), 1.0);
    assert_eq!(m(r#"ticketctl_orders_total{outcome="failed"}"#), 1.0);
    assert_eq!(m("ticketctl_tickets_issued_total"), 2.0);

    // Queried gauges: set by a refresh, never by the scrape itself.
    t.app.refresh_gauges(true).await.unwrap();
    let gauges = metrics_of(&t).await;
    assert_eq!(
        gauges.must(&format!(r#"ticketctl_trip_seats_free{{trip="{trip}"}}"#)),
        seats - 2.0,
        "two seats sold, the declined order's seat back on sale"
    );
    assert_eq!(
        gauges.must(r#"ticketctl_invariant_violations{kind="double_taken"}"#),
        0.0
    );
    for consumer in ["fulfillment", "notification", "audit"] {
        let unhandled = format!(r#"ticketctl_outbox_unhandled_events{{consumer="{consumer}"}}"#);
        assert!(gauges.must(&unhandled) >= 0.0);
    }
    assert!(gauges.must("process_resident_memory_bytes") > 1e6);
    match &t.db {
        TestDb::Sqlite { .. } => {
            assert!(gauges.must("ticketctl_sqlite_writer_batch_size_count") >= 1.0);
            assert!(gauges.must("ticketctl_sqlite_writer_queue_wait_seconds_count") >= 1.0);
            assert!(!gauges.text.contains("ticketctl_db_pool_connections"));
        }
        TestDb::Postgres(_) => {
            let in_use = gauges.must(r#"ticketctl_db_pool_connections{state="in_use"}"#);
            let idle = gauges.must(r#"ticketctl_db_pool_connections{state="idle"}"#);
            assert!(in_use + idle >= 1.0);
            assert!(in_use + idle <= gauges.must("ticketctl_db_pool_max_connections"));
        }
    }

    // Once the workers drained the outbox, nothing is left and nothing is old.
    t.app.settle().await.unwrap();
    t.app.refresh_gauges(false).await.unwrap();
    let drained = metrics_of(&t).await;
    for consumer in ["fulfillment", "notification", "audit"] {
        let labels = format!(r#"{{consumer="{consumer}"}}"#);
        assert_eq!(
            drained.must(&format!("ticketctl_outbox_unhandled_events{labels}")),
            0.0
        );
        assert_eq!(
            drained.must(&format!(
                "ticketctl_outbox_oldest_unhandled_age_seconds{labels}"
            )),
            0.0
        );
    }
    let delivered = r#"ticketctl_outbox_delivery_delay_seconds_count{consumer="notification"}"#;
    assert!(
        drained.must(delivered) >= 1.0,
        "notifications were delivered and timed"
    );
}

async fn rate_limits_and_shedding_are_counted_as_clients_saw_them(db: TestDb) {
    let limits = Limits {
        per_ip: NonZeroU32::new(1),
        ..Limits::unlimited()
    };
    let t = TestApp::start_with_limits(db, test_config(), limits).await;
    let before = metrics_of(&t).await;
    let mut refused = 0;
    for _ in 0..8 {
        if t.get("/v1/stations").await.status == StatusCode::TOO_MANY_REQUESTS {
            refused += 1;
        }
    }
    assert!(
        refused >= 1,
        "a burst of 2 per second lets 8 at once through"
    );
    let after = metrics_of(&t).await;
    assert_eq!(
        moved(
            &before,
            &after,
            r#"ticketctl_http_rate_limited_total{scope="address"}"#
        ),
        f64::from(refused),
        "the scrape itself is not rate limited"
    );
    assert_eq!(
        moved(
            &before,
            &after,
            r#"ticketctl_http_requests_total{route="/v1/stations",method="GET",status="429"}"#
        ),
        f64::from(refused)
    );
    t.shutdown().await;
}

async fn shed_requests_are_counted(db: TestDb) {
    // One request at a time, and a gateway that takes its time: the orders
    // sent together while one is charging are shed.
    let config = ticketctl::app::AppConfig {
        gateway: ticketctl::app::payments::GatewayConfig {
            latency: Duration::from_millis(400),
            charge_timeout: Duration::from_secs(5),
            ..Default::default()
        },
        ..test_config()
    };
    let limits = Limits {
        max_in_flight: 1,
        ..Limits::unlimited()
    };
    let t = TestApp::start_with_limits(db, config, limits).await;
    let trip = tiny_trip(&t.app, 4).await;
    let (_, token, hold_id) = hold(&t, trip, 1, 1).await;
    let card = crate::common::booking_flow::card(&t, &token, GOOD_CARD).await;
    let before = metrics_of(&t).await;
    let slow = crate::common::booking_flow::order(&t, &token, "shed-1", hold_id, 1, &card);
    let others = async {
        // Let the slow order take the only slot first.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut shed = 0;
        for _ in 0..5 {
            if t.get("/v1/stations").await.status == StatusCode::SERVICE_UNAVAILABLE {
                shed += 1;
            }
        }
        shed
    };
    let (order, shed) = tokio::join!(slow, others);
    assert_eq!(order.status, StatusCode::CREATED, "{}", order.body);
    assert!(
        shed >= 1,
        "requests during a 400 ms charge with one slot are shed"
    );
    let after = metrics_of(&t).await;
    assert_eq!(
        moved(
            &before,
            &after,
            r#"ticketctl_http_shed_total{reason="in_flight"}"#
        ),
        f64::from(shed)
    );
    t.shutdown().await;
}

async fn a_request_id_is_echoed_or_made(t: TestApp) {
    let sent = t
        .client
        .get(t.url("/v1/stations"))
        .header("x-request-id", "lb-7f3a:01")
        .send()
        .await
        .unwrap();
    assert_eq!(sent.headers()["x-request-id"], "lb-7f3a:01");
    let mut made = std::collections::BTreeSet::new();
    for path in ["/v1/stations", "/healthz", "/metrics", "/v1/nowhere"] {
        let r = t.get(path).await;
        let id = r.headers["x-request-id"].to_str().unwrap().to_owned();
        assert_eq!(id.len(), 32, "{path}: {id}");
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
        made.insert(id);
    }
    assert_eq!(made.len(), 4, "every answer gets its own id");
    // An id that could forge a log line is replaced, not echoed.
    let forged = t
        .client
        .get(t.url("/v1/stations"))
        .header("x-request-id", "a b\"c")
        .send()
        .await
        .unwrap();
    let id = forged.headers()["x-request-id"].to_str().unwrap();
    assert_ne!(id, "a b\"c");
    assert_eq!(id.len(), 32);
}

on_both_backends!(
    a_known_sequence_moves_each_counter_by_what_it_did,
    a_request_id_is_echoed_or_made,
);

mod limits {
    use super::*;
    on_both_databases!(
        rate_limits_and_shedding_are_counted_as_clients_saw_them,
        shed_requests_are_counted,
    );
}
