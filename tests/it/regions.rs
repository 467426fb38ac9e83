//! Multi-region serving (docs/multi-region.md §4–§5.3) on both backends: a
//! write for a trip homed in another region is forwarded there; when that
//! region is lost, the survivor takes its trips over under a new epoch once
//! its lease has expired at the witness (Redis), and the lost region, back
//! with its old epoch, is refused: it sells nothing.
//!
//! Each region has its own database. Without replication (SQLite has none;
//! Postgres replication is the drill's subject) the passenger is created in
//! both databases in the same order, so it has the same id in both, as
//! replication would have made it.

use reqwest::StatusCode;
use serde_json::json;
use std::time::{Duration, Instant};

use ticketctl::app::region::RegionConfig;
use ticketctl::app::{App, AppConfig};
use ticketctl::domain::{Role, TripId};

use crate::common::db::{self, TestDb, open_store};
use crate::common::redis::TestRedis;
use crate::common::server::{TEST_JWT_SECRET, TestApp, quick_user, test_config, tiny_trip};

const LEASE: Duration = Duration::from_millis(1000);

fn region(name: &str, peers: &[(&str, String)], witness: &TestRedis) -> RegionConfig {
    RegionConfig {
        name: name.into(),
        peers: peers
            .iter()
            .map(|(n, u)| (n.to_string(), u.clone()))
            .collect(),
        witness_url: witness.url.clone(),
        witness_prefix: witness.prefix.clone(),
        lease_ttl: LEASE,
        skew_margin: Duration::from_millis(200),
    }
}

fn config(region: RegionConfig) -> AppConfig {
    AppConfig {
        region: Some(region),
        ..test_config()
    }
}

/// The same trip and passenger in a region's database, homed among A, B.
async fn stage(db: &TestDb, name: &str, witness: &TestRedis) -> (TripId, String) {
    let plain = App::new(
        open_store(db).await,
        AppConfig {
            jwt_secret: Some(TEST_JWT_SECRET.into()),
            ..test_config()
        },
    )
    .await
    .expect("app");
    let trip = tiny_trip(&plain, 20).await;
    let (_, token) = quick_user(&plain, 1).await;
    let app = App::new(open_store(db).await, config(region(name, &[], witness)))
        .await
        .expect("app with a region");
    app.init_regions(name, &["A".into(), "B".into()])
        .await
        .expect("regions init");
    (trip, token)
}

fn hold_body(trip: TripId) -> serde_json::Value {
    json!({ "trip_id": trip, "from": "DHK", "to": "CTG", "class": "S_CHAIR", "count": 1 })
}

async fn forwarded_writes_and_takeover(a_db: TestDb, b_db: TestDb) {
    let Some(witness) = crate::common::redis::shared() else {
        return;
    };
    let (trip, token) = stage(&a_db, "A", &witness).await;
    let (trip_b, _) = stage(&b_db, "B", &witness).await;
    assert_eq!(trip, trip_b, "both regions hold the same catalog");

    let b = TestApp::start_with(b_db, config(region("B", &[], &witness))).await;
    b.app.renew_region_lease().await.expect("B's lease");
    let a = TestApp::start_with(a_db, config(region("A", &[("B", b.url(""))], &witness))).await;
    a.app.renew_region_lease().await.expect("A's lease");
    let admin = a.user_token("+8801900000001", Role::Admin).await;

    // The tiny trip's train is homed in B (train id 1 of regions A, B).
    let status = a.get_as("/v1/admin/regions", &admin).await;
    assert_eq!(status.status, StatusCode::OK, "{}", status.body);
    assert_eq!(status.body["region"], "A");
    assert_eq!(status.body["homes"][0]["region"], "B", "{}", status.body);

    // A passenger at A holds a seat on B's trip: forwarded to B, made there.
    let held = a.post_as("/v1/holds", &token, hold_body(trip)).await;
    assert_eq!(held.status, StatusCode::CREATED, "{}", held.body);
    assert_eq!(held.headers["x-ticketctl-home"], "B");
    let hold_id = held.body["hold_id"].as_i64().unwrap();
    let at_b = b.get_as(&format!("/v1/holds/{hold_id}"), &token).await;
    assert_eq!(at_b.status, StatusCode::OK, "the hold is in B's database");

    // Bad takeovers change nothing.
    for (body, want) in [
        (json!({ "from": "A" }), StatusCode::UNPROCESSABLE_ENTITY),
        (
            json!({ "from": "no such!" }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({ "from": "B", "x": 1 }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (json!({ "from": "B" }), StatusCode::CONFLICT),
    ] {
        let r = a
            .post_as("/v1/admin/regions/takeover", &admin, body.clone())
            .await;
        assert_eq!(r.status, want, "{body}: {}", r.body);
    }
    let r = a
        .post_as("/v1/admin/regions/takeover", &token, json!({ "from": "B" }))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // Region B is lost. Its trips answer 503 at A until A takes them over,
    // which the witness allows only once B's lease has expired.
    let b_db = b.shutdown().await;
    let lost = Instant::now();
    let r = a.post_as("/v1/holds", &token, hold_body(trip)).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    assert!(r.headers.contains_key("retry-after"));
    let mut refused = 0;
    let epoch = loop {
        let r = a
            .post_as("/v1/admin/regions/takeover", &admin, json!({ "from": "B" }))
            .await;
        if r.status == StatusCode::OK {
            assert_eq!(r.body["trips"], 1, "{}", r.body);
            break r.body["epoch"].as_i64().unwrap();
        }
        assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
        refused += 1;
        assert!(lost.elapsed() < LEASE * 5, "B's lease never expired");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // B's last renewal was at most a fifth of the lease before it stopped.
    assert!(refused > 0, "taken over while B's lease was alive");
    assert_eq!(epoch, 3, "epochs 1 and 2 were A's and B's first");

    // A sells B's trip now, itself.
    let r = a.post_as("/v1/holds", &token, hold_body(trip)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert!(!r.headers.contains_key("x-ticketctl-home"));

    // B comes back with its database still saying "B, epoch 2": it holds no
    // epoch at the witness any more, so its fence refuses the write.
    let b = TestApp::start_with(b_db, config(region("B", &[], &witness))).await;
    let held = b.app.renew_region_lease().await.expect("B renews");
    assert!(held.is_empty(), "B holds {held:?}");
    let r = b.post_as("/v1/holds", &token, hold_body(trip)).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    let status = a.get_as("/v1/admin/regions", &admin).await;
    let grants = status.body["grants"].as_array().unwrap();
    assert!(
        grants.iter().all(|g| g["region"] == "A"),
        "every epoch is A's: {}",
        status.body
    );
    assert_eq!(status.body["held"], json!([1, 3]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regions_forward_and_take_over_sqlite_redis() {
    forwarded_writes_and_takeover(db::sqlite(), db::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regions_forward_and_take_over_postgres_redis() {
    let (Some(a), Some(b)) = (db::postgres().await, db::postgres().await) else {
        return;
    };
    forwarded_writes_and_takeover(a, b).await;
}
