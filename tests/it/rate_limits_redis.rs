//! Rate limits kept in Redis: two `serve` processes on one database and one
//! Redis prefix limit a client as one process would; requests arriving
//! together never pass more than the burst; and when Redis goes away the
//! server keeps answering with its own buckets, and returns to Redis when
//! Redis does. Each test has its own key prefix (or its own `redis-server`).

use reqwest::StatusCode;
use std::num::NonZeroU32;
use std::time::{Duration, Instant};
use ticketctl::app::{App, AppConfig};
use ticketctl::server::Limits;

use crate::common::bursts::{all_at_once, assert_one_bucket, one_by_one, warmed_client};
use crate::common::db::{open_store, postgres, sqlite};
use crate::common::process::ServedBinary;
use crate::common::redis::{OwnRedis, keys, shared};
use crate::common::server::{TEST_JWT_SECRET, TestApp, quick_user, test_config};

fn limits(per_ip: u32, per_user: u32) -> Limits {
    Limits {
        per_ip: NonZeroU32::new(per_ip),
        per_user: NonZeroU32::new(per_user),
        ..Limits::unlimited()
    }
}

fn shared_config(url: &str, prefix: &str) -> AppConfig {
    AppConfig {
        redis_url: Some(url.to_owned()),
        redis_prefix: prefix.to_owned(),
        ..test_config()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_serve_processes_share_the_limits_postgres() {
    // Ask for both before skipping, so each service is counted.
    let (db, redis) = (postgres().await, shared());
    let (Some(db), Some(redis)) = (db, redis) else {
        return;
    };
    let (user, token) = {
        let config = AppConfig {
            jwt_secret: Some(TEST_JWT_SECRET.into()),
            ..test_config()
        };
        let app = App::new(open_store(&db).await, config).await.unwrap();
        quick_user(&app, 1).await
    };
    // 4/s per address (burst 8) and 3/s per user (burst 6); the test's own
    // address is a trusted proxy, so each request can name its client.
    let flags = [
        "--redis-url",
        &redis.url,
        "--redis-prefix",
        &redis.prefix,
        "--rate-per-ip",
        "4",
        "--rate-per-user",
        "3",
        "--trusted-proxy",
        "127.0.0.1",
    ];
    let one = ServedBinary::start(db.url(), &flags).await;
    let two = ServedBinary::start(db.url(), &flags).await;
    let bases = [one.base.as_str(), two.base.as_str()];
    let client = warmed_client(&bases, 16).await;

    // One address, its requests spread over both processes.
    let requests = (0..32)
        .map(|i| {
            client
                .get(format!("{}/v1/stations", bases[i % 2]))
                .header("x-forwarded-for", "203.0.113.10")
        })
        .collect();
    let (replies, elapsed) = all_at_once(requests).await;
    let passed = assert_one_bucket(&replies, 4, elapsed, "address");
    assert!(passed < 16, "two separate buckets would pass 16: {passed}");

    // One account, each request from an address of its own: only the
    // account's bucket is shared.
    let requests = (0..24)
        .map(|i| {
            client
                .get(format!("{}/v1/stations", bases[i % 2]))
                .bearer_auth(&token)
                .header("x-forwarded-for", format!("198.51.100.{}", i + 1))
        })
        .collect();
    let (replies, elapsed) = all_at_once(requests).await;
    let passed = assert_one_bucket(&replies, 3, elapsed, "account");
    assert!(passed < 12, "two separate buckets would pass 12: {passed}");

    let stored = redis.keys();
    for key in [
        "ratelimit:ip:203.0.113.10",
        &format!("ratelimit:user:{user}"),
    ] {
        assert!(
            stored.contains(&format!("{}{key}", redis.prefix)),
            "{key} in {stored:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_at_once_never_pass_more_than_the_burst_redis() {
    let Some(redis) = shared() else { return };
    let config = shared_config(&redis.url, &redis.prefix);
    // Per address: 5/s, burst 10, 60 requests released together.
    let t = TestApp::start_with_limits(sqlite(), config.clone(), limits(5, 0)).await;
    let base = format!("http://{}", t.addr);
    let client = warmed_client(&[&base], 60).await;
    let requests = (0..60)
        .map(|_| client.get(format!("{base}/v1/stations")))
        .collect();
    let (replies, elapsed) = all_at_once(requests).await;
    assert_one_bucket(&replies, 5, elapsed, "address");
    assert_eq!(
        redis.keys(),
        [format!("{}ratelimit:ip:127.0.0.1", redis.prefix)],
        "the bucket is in Redis"
    );

    // Per user: 4/s, burst 8, 40 requests of one account released together.
    let t = TestApp::start_with_limits(sqlite(), config, limits(0, 4)).await;
    let (user, token) = quick_user(&t.app, 1).await;
    let base = format!("http://{}", t.addr);
    let client = warmed_client(&[&base], 40).await;
    let requests = (0..40)
        .map(|_| client.get(format!("{base}/v1/me")).bearer_auth(&token))
        .collect();
    let (replies, elapsed) = all_at_once(requests).await;
    assert_one_bucket(&replies, 4, elapsed, "account");
    assert!(
        redis
            .keys()
            .contains(&format!("{}ratelimit:user:{user}", redis.prefix))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_redis_dies_the_process_limits_alone_until_it_is_back_redis() {
    let Some(mut redis) = OwnRedis::start() else {
        return;
    };
    let prefix = "ticketctl:";
    let config = shared_config(&redis.url(), prefix);
    // 1/s, burst 2: a handful of requests in well under a second tells
    // exactly which bucket answered.
    let t = TestApp::start_with_limits(sqlite(), config, limits(1, 0)).await;
    let stations = || -> Vec<_> {
        (0..5)
            .map(|_| t.client.get(t.url("/v1/stations")))
            .collect()
    };

    let (replies, elapsed) = one_by_one(stations()).await;
    assert_one_bucket(&replies, 1, elapsed, "address");
    assert_eq!(
        keys(&redis.url(), prefix),
        ["ticketctl:ratelimit:ip:127.0.0.1"]
    );

    redis.kill();
    // Redis is gone: every request is still answered, promptly, and this
    // process's own bucket (fresh, so a full burst) does the limiting.
    let started = Instant::now();
    let (replies, elapsed) = one_by_one(stations()).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "answered without waiting on Redis: {:?}",
        started.elapsed()
    );
    assert_one_bucket(&replies, 1, elapsed, "address");

    // A new, empty Redis on the same port: the limiter goes back to it.
    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(10);
    while keys(&redis.url(), prefix).is_empty() {
        assert!(
            Instant::now() < deadline,
            "the limits did not go back to Redis"
        );
        let r = t.get("/v1/stations").await;
        assert!(
            matches!(r.status, StatusCode::OK | StatusCode::TOO_MANY_REQUESTS),
            "{}",
            r.status
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
