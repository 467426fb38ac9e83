//! Drill: Redis dies during a queued sale (runbook: "Redis is unavailable").
//! The waiting room lives in a `redis-server` of the test's own, killed
//! mid-sale and started again empty (it keeps nothing on disk).
//!
//! Clients see 503 problem+json with Retry-After for joins, holds and orders
//! of the queued trip while Redis is down, never a 500: the sale fails closed,
//! nothing is sold past the waiting room. Once Redis is back the sale goes on
//! from its settings in the database (buyers join again), and nothing is lost.

use std::time::Duration;

use crate::common::db::{TestDb, open_store};
use crate::common::drill::{Cards, Crowd, SERVE_FLAGS, assert_nothing_lost, stage, wait_settled};
use crate::common::process::ServedBinary;
use crate::common::redis::OwnRedis;
use crate::common::server::{TEST_JWT_SECRET, suite_clock};
use ticketctl::app::{App, AppConfig};
use ticketctl::domain::waiting_room::SaleSettings;

async fn redis_down_during_a_queued_sale(db: TestDb) {
    let Some(mut redis) = OwnRedis::start() else {
        return;
    };
    let stage = stage(&db, 200).await;
    // The queued sale, made as an admin would, in the database and in Redis.
    let config = AppConfig {
        jwt_secret: Some(TEST_JWT_SECRET.into()),
        redis_url: Some(redis.url()),
        clock: suite_clock(),
        ..AppConfig::default()
    };
    let app = App::new(open_store(&db).await, config).await.unwrap();
    app.waiting_room()
        .create(SaleSettings {
            id: "eid".into(),
            opens_at: suite_clock().now(),
            trip_ids: vec![stage.trip],
            rate_per_sec: 1000.0,
            max_active: 1000,
            idle_secs: 600,
        })
        .await
        .unwrap();
    drop(app);
    let url = redis.url();
    let mut flags = SERVE_FLAGS.to_vec();
    flags.extend(["--redis-url", &url]);
    let server = ServedBinary::start(db.url(), &flags).await;
    let crowd = Crowd::start_queued(
        &server.base,
        stage.trip,
        &stage.tokens,
        Cards::Mostly,
        Some("eid"),
    );

    tokio::time::sleep(Duration::from_millis(1500)).await;
    let down_at = crowd.elapsed();
    redis.kill();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let restarting_at = crowd.elapsed();
    redis.restart();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let seen = crowd.finish().await;

    // While Redis was down: refused, with a time to come back, and nothing sold.
    let during = seen.in_flight_between(down_at + Duration::from_millis(200), restarting_at);
    let refused: Vec<_> = during.iter().filter(|s| s.status == 503).collect();
    assert!(!refused.is_empty(), "{:?}", seen.statuses());
    for s in &refused {
        assert!(s.is_unavailable_with_retry_after(), "{s:?}");
        assert_eq!(s.problem.as_deref(), Some("/problems/unavailable"), "{s:?}");
    }
    let sold_while_down = seen
        .between(down_at + Duration::from_millis(200), restarting_at)
        .into_iter()
        .filter(|s| s.step == "order" && s.status == 201)
        .count();
    assert_eq!(sold_while_down, 0, "the queued sale failed closed");
    seen.assert_no_500s();
    seen.assert_answered_within(Duration::from_secs(5));
    assert!(
        seen.confirmed_after(restarting_at) > 0,
        "the sale went on once Redis was back: {:?}",
        seen.statuses()
    );

    wait_settled(&db, Duration::from_secs(15)).await;
    server.stop();
    assert_nothing_lost(&db, stage.trip, &seen).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_during_a_queued_sale_sqlite_redis() {
    redis_down_during_a_queued_sale(crate::common::db::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_during_a_queued_sale_postgres_redis() {
    if let Some(db) = crate::common::db::postgres().await {
        redis_down_during_a_queued_sale(db).await;
    }
}
