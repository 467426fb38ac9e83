//! Peak-sale protection: rate limits per user and per address (429 with
//! Retry-After and RateLimit headers) and load shedding (fast 503s) while
//! health probes stay reachable and no seat is lost. Every case runs on SQLite
//! and on Postgres.

use crate::common::bursts::{assert_one_bucket, one_by_one};
use crate::common::server::{TestApp, quick_user, test_config, tiny_trip};
use reqwest::StatusCode;
use serde_json::json;
use std::num::NonZeroU32;
use std::time::{Duration, Instant};
use ticketctl::server::Limits;

fn limits(per_ip: Option<u32>, per_user: Option<u32>, max_in_flight: usize) -> Limits {
    Limits {
        per_ip: per_ip.and_then(NonZeroU32::new),
        per_user: per_user.and_then(NonZeroU32::new),
        max_in_flight,
        read_timeout: Duration::from_secs(5),
        ..Limits::default()
    }
}

async fn a_busy_user_is_slowed_down_and_others_are_not(db: crate::common::db::TestDb) {
    let t = TestApp::start_with_limits(db, test_config(), limits(None, Some(5), 64)).await;
    let (_, greedy) = quick_user(&t.app, 1).await;
    let (_, calm) = quick_user(&t.app, 2).await;
    let mut refused = None;
    for _ in 0..30 {
        let r = t.get_as("/v1/me", &greedy).await;
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            refused = Some(r);
            break;
        }
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.headers.contains_key("ratelimit-remaining"));
    }
    let refused = refused.expect("a burst of 30 requests is over 5/s with a burst of 10");
    refused.assert_problem(429, "rate-limited");
    let retry: u64 = refused.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    assert_eq!(refused.headers["ratelimit-remaining"], "0");
    assert_eq!(
        t.get_as("/v1/me", &calm).await.status,
        StatusCode::OK,
        "other users are unaffected"
    );
    assert_eq!(
        t.get("/healthz").await.status,
        StatusCode::OK,
        "health is never limited"
    );
}

async fn one_address_is_limited_too(db: crate::common::db::TestDb) {
    let t = TestApp::start_with_limits(db, test_config(), limits(Some(5), None, 64)).await;
    let mut statuses = Vec::new();
    for _ in 0..25 {
        statuses.push(t.get("/v1/stations").await.status);
    }
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    for _ in 0..20 {
        assert_eq!(t.get("/readyz").await.status, StatusCode::OK);
    }
}

async fn overload_is_shed_fast_and_loses_no_seat(db: crate::common::db::TestDb) {
    let mut config = test_config();
    config.gateway.latency = Duration::from_millis(1500);
    config.gateway.charge_timeout = Duration::from_secs(5);
    let t =
        std::sync::Arc::new(TestApp::start_with_limits(db, config, limits(None, None, 2)).await);
    let trip = tiny_trip(&t.app, 8).await;
    let mut orders = Vec::new();
    for n in 0..2 {
        let (_, token) = quick_user(&t.app, n).await;
        let held = t.post_as("/v1/holds", &token, json!({ "trip_id": trip, "from": "DHK", "to": "CTG", "class": "S_CHAIR", "count": 1 })).await;
        let card = crate::common::booking_flow::card(&t, &token, "4242424242424242").await;
        let body = json!({ "hold_id": held.body["hold_id"], "passengers": [{ "name": "P" }], "payment_token": card });
        let t = t.clone();
        orders.push(tokio::spawn(async move {
            let req = t
                .client
                .post(t.url("/v1/orders"))
                .bearer_auth(&token)
                .header("idempotency-key", format!("o{n}"))
                .json(&body);
            req.send().await.unwrap().status()
        }));
    }
    // Both slots are busy paying; the next request is refused at once, not queued.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let started = Instant::now();
    let shed = t.get("/v1/stations").await;
    assert!(
        started.elapsed() < Duration::from_millis(1000),
        "shed fast: {:?}",
        started.elapsed()
    );
    shed.assert_problem(503, "overloaded");
    assert!(shed.headers.contains_key("retry-after"));
    assert_eq!(
        t.get("/healthz").await.status,
        StatusCode::OK,
        "health answers under overload"
    );
    for o in orders {
        assert_eq!(
            o.await.unwrap(),
            StatusCode::CREATED,
            "admitted work completes"
        );
    }
    assert_eq!(t.get("/v1/stations").await.status, StatusCode::OK);
    t.app.settle().await.unwrap();
    let report = t.app.check_invariants(Some(trip)).await.unwrap();
    assert!(report.ok(), "{report:#?}");
    assert_eq!(report.ledger.confirmed_orders, 2);
}

/// `--redis-url` pointing at a port where nothing listens: the server starts,
/// answers every request promptly, and limits with its own buckets.
async fn an_unreachable_shared_limiter_leaves_the_limiting_to_this_process(
    db: crate::common::db::TestDb,
) {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = ticketctl::app::AppConfig {
        redis_url: Some(format!("redis://127.0.0.1:{closed}/")),
        ..test_config()
    };
    let t = TestApp::start_with_limits(db, config, limits(Some(1), None, 64)).await;
    let started = Instant::now();
    let requests = (0..6)
        .map(|_| t.client.get(t.url("/v1/stations")))
        .collect();
    let (replies, elapsed) = one_by_one(requests).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "answered without waiting on Redis: {:?}",
        started.elapsed()
    );
    assert_one_bucket(&replies, 1, elapsed, "address");
}

on_both_databases!(
    a_busy_user_is_slowed_down_and_others_are_not,
    an_unreachable_shared_limiter_leaves_the_limiting_to_this_process,
    one_address_is_limited_too,
    overload_is_shed_fast_and_loses_no_seat,
);
