//! The client address behind proxies: `X-Forwarded-For` / `Forwarded` are
//! believed only from a trusted peer, walked from the right; what a client
//! writes there itself changes nothing; hostile headers are answered (never
//! 5xx) and count as the peer. The per-address rate limit, hold cap and
//! live-stream cap all count the resolved client. Every case runs on SQLite
//! and on Postgres.

use reqwest::StatusCode;
use reqwest::header::HeaderValue;
use serde_json::json;
use std::num::NonZeroU32;
use ticketctl::app::AppConfig;
use ticketctl::server::Limits;
use ticketctl::server::limits::{StreamLimits, TrustedProxies};

use crate::common::bursts::{assert_one_bucket, one_by_one};
use crate::common::db::TestDb;
use crate::common::server::{Reply, TestApp, quick_user, test_config, tiny_trip};

fn trusting(nets: &[&str]) -> TrustedProxies {
    TrustedProxies::new(
        nets.iter()
            .map(|n| TrustedProxies::parse_net(n).unwrap())
            .collect(),
    )
}

/// 1 request/s per address (burst 2): a few requests tell the buckets apart.
fn one_per_second(trusted: &[&str]) -> Limits {
    Limits {
        per_ip: NonZeroU32::new(1),
        trusted_proxies: trusting(trusted),
        ..Limits::unlimited()
    }
}

async fn get_with(t: &TestApp, name: &str, value: HeaderValue) -> Reply {
    let r = t
        .client
        .get(t.url("/v1/stations"))
        .header(name, value)
        .send()
        .await
        .expect("answered");
    Reply::from_response(r).await
}

async fn spoofed_forwarding_from_an_untrusted_peer_is_ignored(db: TestDb) {
    // Only 10.0.0.0/8 is trusted; the test's peer is 127.0.0.1.
    let t = TestApp::start_with_limits(db, test_config(), one_per_second(&["10.0.0.0/8"])).await;
    let requests = (1..=6)
        .map(|i| {
            let request = t.client.get(t.url("/v1/stations"));
            if i % 2 == 0 {
                request.header("x-forwarded-for", format!("203.0.113.{i}"))
            } else {
                request.header("forwarded", format!("for=203.0.113.{i}"))
            }
        })
        .collect();
    let (replies, elapsed) = one_by_one(requests).await;
    assert_one_bucket(&replies, 1, elapsed, "address");
}

async fn forwarded_clients_behind_a_trusted_proxy_get_their_own_buckets(db: TestDb) {
    let t = TestApp::start_with_limits(db, test_config(), one_per_second(&["127.0.0.0/8"])).await;
    // Each header names one client; a trusted hop (127.0.0.9) is skipped.
    let clients = [
        ("x-forwarded-for", "203.0.113.1"),
        ("x-forwarded-for", "198.51.100.99, 203.0.113.2"),
        ("x-forwarded-for", "203.0.113.3:4711, 127.0.0.9"),
        ("x-forwarded-for", "[2001:db8::4]:443"),
        ("forwarded", "for=203.0.113.5;proto=https;by=127.0.0.1"),
        ("forwarded", r#"for="[2001:db8::6]:4711""#),
        ("forwarded", "for=198.51.100.1, for=203.0.113.7"),
    ];
    for (i, (name, value)) in clients.into_iter().enumerate() {
        let requests = (0..3)
            .map(|_| t.client.get(t.url("/v1/stations")).header(name, value))
            .collect();
        let (replies, elapsed) = one_by_one(requests).await;
        assert_one_bucket(&replies, 1, elapsed, "address");
        if i == 0 {
            // Writing another address in front changes nothing: the walk
            // starts at the right, where the trusted proxy wrote what it saw.
            let r = get_with(
                &t,
                "x-forwarded-for",
                HeaderValue::from_static("192.0.2.200, 203.0.113.1"),
            )
            .await;
            r.assert_problem(429, "rate-limited");
        }
    }
    // The peer itself still has its own, untouched bucket.
    assert_eq!(t.get("/v1/stations").await.status, StatusCode::OK);
}

async fn hostile_forwarding_headers_are_answered_and_count_as_the_peer(db: TestDb) {
    let t = TestApp::start_with_limits(db, test_config(), one_per_second(&["127.0.0.0/8"])).await;
    let mut hostile: Vec<(&str, HeaderValue)> = [
        ("x-forwarded-for", "garbage"),
        ("x-forwarded-for", "unknown"),
        ("x-forwarded-for", ""),
        ("x-forwarded-for", " , ,"),
        ("x-forwarded-for", "203.0.113.1, _hidden"),
        ("x-forwarded-for", "999.0.0.1"),
        ("x-forwarded-for", "203.0.113.1:"),
        ("x-forwarded-for", "2001:db8::1:_port"),
        ("x-forwarded-for", "fe80::1%eth0"),
        ("x-forwarded-for", "example.com"),
        ("forwarded", "for=unknown"),
        ("forwarded", "for=_gazonk"),
        ("forwarded", r#"for="_gazonk:_port""#),
        ("forwarded", r#"for="203.0.113.1"#),
        ("forwarded", "for=203.0.113.1;for=203.0.113.2"),
        ("forwarded", "proto=https"),
        ("forwarded", "for="),
        ("forwarded", ";;;,,,==="),
    ]
    .into_iter()
    .map(|(name, value)| (name, HeaderValue::from_str(value).unwrap()))
    .collect();
    // Bytes that are not text, a chain far over the bound, too many hops.
    hostile.push((
        "x-forwarded-for",
        HeaderValue::from_bytes(b"203.0.113.1, \xff\xfe").unwrap(),
    ));
    let huge = vec!["203.0.113.50"; 20_000].join(", ");
    hostile.push(("x-forwarded-for", HeaderValue::from_str(&huge).unwrap()));
    let many = vec!["127.0.0.2"; 100].join(",") + ", 203.0.113.51";
    hostile.push(("x-forwarded-for", HeaderValue::from_str(&many).unwrap()));
    let huge_forwarded = vec!["for=203.0.113.52"; 5_000].join(", ");
    hostile.push(("forwarded", HeaderValue::from_str(&huge_forwarded).unwrap()));

    let requests = hostile
        .into_iter()
        .map(|(name, value)| t.client.get(t.url("/v1/stations")).header(name, value))
        .collect();
    let (replies, elapsed) = one_by_one(requests).await;
    // Not one 5xx, and all of them drew from one bucket: the peer's.
    assert_one_bucket(&replies, 1, elapsed, "address");
    t.get("/v1/stations")
        .await
        .assert_problem(429, "rate-limited");
}

async fn the_hold_and_stream_caps_count_the_forwarded_client(db: TestDb) {
    let config = AppConfig {
        max_holds_per_address: Some(1),
        ..test_config()
    };
    let limits = Limits {
        streams: StreamLimits {
            per_ip: 1,
            ..StreamLimits::default()
        },
        trusted_proxies: trusting(&["127.0.0.1"]),
        ..Limits::unlimited()
    };
    let t = TestApp::start_with_limits(db, config, limits).await;
    let trip = tiny_trip(&t.app, 8).await;
    let hold = |token: String, client: &'static str| {
        let request = t
            .client
            .post(t.url("/v1/holds"))
            .bearer_auth(token)
            .header("x-forwarded-for", client)
            .json(&json!({ "trip_id": trip, "from": "DHK", "to": "CTG", "class": "S_CHAIR", "count": 1 }));
        async move { Reply::from_response(request.send().await.expect("answered")).await }
    };
    let (_, first) = quick_user(&t.app, 1).await;
    let (_, second) = quick_user(&t.app, 2).await;
    let r = hold(first, "203.0.113.1").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = hold(second.clone(), "203.0.113.1").await;
    r.assert_problem(429, "hold-limit");
    assert_eq!(r.body["limit"], "active_holds_per_address", "{}", r.body);
    let r = hold(second, "203.0.113.2").await;
    assert_eq!(r.status, StatusCode::CREATED, "another client: {}", r.body);

    let stream = |client: &'static str| {
        t.client
            .get(t.url(&format!("/v1/trips/{trip}/live")))
            .header("x-forwarded-for", client)
            .send()
    };
    let open = stream("203.0.113.1").await.expect("answered");
    assert_eq!(open.status(), StatusCode::OK);
    let over = stream("203.0.113.1").await.expect("answered");
    assert_eq!(over.status(), StatusCode::TOO_MANY_REQUESTS);
    let other = stream("203.0.113.2").await.expect("answered");
    assert_eq!(other.status(), StatusCode::OK, "another client");
    drop((open, other));
}

on_both_databases!(
    spoofed_forwarding_from_an_untrusted_peer_is_ignored,
    forwarded_clients_behind_a_trusted_proxy_get_their_own_buckets,
    hostile_forwarding_headers_are_answered_and_count_as_the_peer,
    the_hold_and_stream_caps_count_the_forwarded_client,
);
