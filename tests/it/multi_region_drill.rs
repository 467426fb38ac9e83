//! The two-region drill (docs/multi-region.md §8): two regions, each with its
//! own Postgres cluster (wal_level=logical) and its own `serve` processes,
//! replicating by logical replication with row filters, fenced by epochs at
//! a witness in Redis. Passengers buy in both regions (a trip homed in A,
//! sold at A and, forwarded, at B); region A's processes are killed (kill -9)
//! and its database server crashes; B takes A's trips over under a new epoch
//! and sells on; A comes back, catches up by replication and sells nothing
//! itself (its old epoch is refused). The invariants are checked on both
//! databases, and no seat-segment is sold twice across them.

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

use ticketctl::app::region::RegionConfig;
use ticketctl::app::{App, AppConfig};
use ticketctl::domain::{Role, TripId};

use crate::common::db::{TestDb, open_store, postgres_unowned, scalar};
use crate::common::gateway::GatewayProcess;
use crate::common::private_pg::{PrivatePg, StopMode};
use crate::common::process::{ServeFlags, ServedBinary};
use crate::common::redis::TestRedis;
use crate::common::server::{TEST_JWT_SECRET, quick_user, test_config, tiny_trip};

const LEASE_MS: u64 = 2000;
const PASSENGERS: u32 = 24;

fn logical() -> [&'static str; 4] {
    [
        "wal_level=logical",
        "max_wal_senders=10",
        "max_replication_slots=10",
        "max_connections=80",
    ]
}

fn region_config(name: &str, witness: &TestRedis) -> AppConfig {
    AppConfig {
        jwt_secret: Some(TEST_JWT_SECRET.into()),
        region: Some(RegionConfig {
            name: name.into(),
            peers: Default::default(),
            witness_url: witness.url.clone(),
            witness_prefix: witness.prefix.clone(),
            lease_ttl: Duration::from_millis(LEASE_MS),
            skew_margin: Duration::from_millis(400),
        }),
        ..test_config()
    }
}

/// The same catalog in a region's database, its trips homed among B, A (the
/// tiny trip's train goes to A), its ids in its range.
async fn stage(db: &TestDb, name: &str, witness: &TestRedis) -> (App, TripId) {
    let app = App::new(open_store(db).await, region_config(name, witness))
        .await
        .expect("app");
    let trip = tiny_trip(&app, 40).await;
    app.init_regions(name, &["B".into(), "A".into()])
        .await
        .expect("regions init");
    (app, trip)
}

fn serve_flags(
    region: &str,
    peer: (&str, &str),
    witness: &TestRedis,
    gateway: &GatewayProcess,
) -> Vec<String> {
    let mut flags: Vec<String> = ServeFlags::new()
        .with("region", region)
        .with("peer", format!("{}={}", peer.0, peer.1))
        .with("witness-url", &witness.url)
        .with("witness-prefix", &witness.prefix)
        .with("lease-ttl-ms", LEASE_MS)
        .with("skew-margin-ms", 400)
        .with("max-holds-per-address", 0)
        .rates(0, 0)
        .args()
        .iter()
        .map(|s| s.to_string())
        .collect();
    // One card gateway for both regions, as the real one is outside both.
    flags.extend(gateway.serve_flags());
    flags
}

/// DESIGN.md's invariants on one region's database, with the shared gateway.
async fn assert_invariants(db: &TestDb, trip: TripId, gateway: &GatewayProcess) {
    let config = AppConfig {
        jwt_secret: Some(TEST_JWT_SECRET.into()),
        gateway: gateway.config(Default::default()),
        ..test_config()
    };
    let app = App::new(open_store(db).await, config).await.expect("app");
    app.settle().await.expect("settle");
    let report = app.check_invariants(Some(trip)).await.expect("check");
    assert!(report.ok(), "invariants: {report:#?}");
    let audit = app.verify_audit().await.expect("verify audit");
    assert!(audit.intact(), "audit chain: {audit:?}");
}

fn args(f: &[String]) -> Vec<&str> {
    f.iter().map(String::as_str).collect()
}

fn port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn wait_for(what: &str, within: Duration, mut check: impl AsyncFnMut() -> bool) {
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < within, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

struct Buyer {
    client: reqwest::Client,
    token: String,
    user: i64,
}

/// One purchase at `base`: card (registered where the passenger is), hold,
/// order. Returns the order's final status code and body.
async fn buy(b: &Buyer, base: &str, trip: TripId, key: &str, home: &TestDb) -> (u16, Value) {
    let card =
        crate::common::gateway::card_token(&b.client, base, &b.token, "4242424242424242").await;
    // The card was registered in this region's database; the order runs at
    // the trip's home, which learns it by replication.
    let user = b.user;
    wait_for(
        "the card replicated to the home",
        Duration::from_secs(10),
        async || {
            scalar(
                home,
                &format!("SELECT COUNT(*) FROM payment_tokens WHERE user_id = {user}"),
            )
            .await
                > 0
        },
    )
    .await;
    let hold = b
        .client
        .post(format!("{base}/v1/holds"))
        .bearer_auth(&b.token)
        .json(
            &json!({ "trip_id": trip, "from": "DHK", "to": "CTG", "class": "S_CHAIR", "count": 1 }),
        )
        .send()
        .await
        .expect("hold answered");
    let status = hold.status().as_u16();
    let body: Value = hold.json().await.unwrap_or(Value::Null);
    if status != 201 {
        return (status, body);
    }
    let order = b
        .client
        .post(format!("{base}/v1/orders"))
        .bearer_auth(&b.token)
        .header("idempotency-key", key)
        .json(&json!({ "hold_id": body["hold_id"], "passengers": [{ "name": "Passenger" }], "payment_token": card }))
        .send()
        .await
        .expect("order answered");
    let status = order.status().as_u16();
    (status, order.json().await.unwrap_or(Value::Null))
}

/// Seat-segments sold (confirmed orders' tickets) on `trip`: (seat, mask).
async fn sold(db: &TestDb, trip: TripId) -> Vec<(i64, i64)> {
    let url = db.url().to_owned();
    use sqlx::Connection;
    let mut c = sqlx::PgConnection::connect(&url).await.expect("connect");
    sqlx::query_as(
        "SELECT t.seat_id, h.mask FROM tickets t JOIN orders o ON o.id = t.order_id
         JOIN holds h ON h.id = o.hold_id
         WHERE o.trip_id = $1 AND o.status = 'confirmed' ORDER BY t.seat_id, h.mask",
    )
    .bind(trip)
    .fetch_all(&mut c)
    .await
    .expect("sold seats")
}

fn no_segment_twice(sold: &[(i64, i64)]) {
    for (i, (seat, mask)) in sold.iter().enumerate() {
        for (other, m) in &sold[i + 1..] {
            assert!(
                other != seat || m & mask == 0,
                "seat {seat} sold twice for overlapping segments"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_region_drill_postgres_redis() {
    let Some(witness) = crate::common::redis::shared() else {
        return;
    };
    let Some(mut pg_a) = PrivatePg::start(&logical()) else {
        return;
    };
    let Some(pg_b) = PrivatePg::start(&logical()) else {
        return;
    };
    let (url_a, url_b) = (
        pg_a.url("postgres", "postgres"),
        pg_b.url("postgres", "postgres"),
    );
    let (db_a, db_b) = (postgres_unowned(&url_a), postgres_unowned(&url_b));
    let (app_a, trip) = stage(&db_a, "A", &witness).await;
    let (app_b, trip_b) = stage(&db_b, "B", &witness).await;
    assert_eq!(trip, trip_b);
    // Both publish before either subscribes: a subscription whose publication
    // does not exist yet at its slot's start never streams.
    app_a
        .replicate_regions("A", &[])
        .await
        .expect("A publishes");
    app_b
        .replicate_regions("B", &[])
        .await
        .expect("B publishes");
    app_a
        .replicate_regions("A", &[("B".into(), url_b.clone())])
        .await
        .expect("A replicates");
    app_b
        .replicate_regions("B", &[("A".into(), url_a.clone())])
        .await
        .expect("B replicates");
    // A's commits wait for B's subscriber: no confirmed order of A is lost
    // when A is (§5.4; here for every commit of A, not only confirmations).
    pg_a.admin(
        "postgres",
        "ALTER SYSTEM SET synchronous_standby_names = 'ticketctl_from_a'",
    )
    .await;
    pg_a.admin("postgres", "SELECT pg_reload_conf()").await;

    // Passengers are made in A; replication brings them to B.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let mut buyers = Vec::new();
    for n in 0..PASSENGERS {
        let (user, token) = quick_user(&app_a, 100 + n).await;
        buyers.push(Buyer {
            client: client.clone(),
            token,
            user: user.get(),
        });
    }
    drop((app_a, app_b));
    wait_for(
        "users replicated to B",
        Duration::from_secs(20),
        async || scalar(&db_b, "SELECT COUNT(*) FROM users").await >= PASSENGERS as i64,
    )
    .await;

    let (port_a, port_a2, port_b) = (port(), port(), port());
    let base_a = format!("http://127.0.0.1:{port_a}");
    let base_b = format!("http://127.0.0.1:{port_b}");
    let ledger = tempfile::tempdir().expect("temp dir");
    let gateway = GatewayProcess::start(ledger.path().join("gateway.sqlite"), &[]).await;
    let flags_a = serve_flags("A", ("B", &base_b), &witness, &gateway);
    let flags_b = serve_flags("B", ("A", &base_a), &witness, &gateway);
    let b1 = ServedBinary::start_on(port_b, &url_b, &args(&flags_b)).await;
    let a1 = ServedBinary::start_on(port_a, &url_a, &args(&flags_a)).await;
    let a2 = ServedBinary::start_on(port_a2, &url_a, &args(&flags_a)).await;
    let base_a2 = a2.base.clone();

    // Both regions up: purchases at A (the home) and at B (forwarded to A).
    let mut requests = 0;
    let mut before = 0;
    let started = Instant::now();
    for (i, b) in buyers.iter().take(8).enumerate() {
        let base = [&base_a, &base_a2, &base_b][i % 3];
        let mut attempt = 0;
        loop {
            // The first writes may meet a lease not renewed yet: 503, retried.
            let (status, body) = buy(b, base, trip, &format!("before-{i}-{attempt}"), &db_a).await;
            requests += 3;
            if status == 201 {
                before += 1;
                break;
            }
            assert_eq!(status, 503, "{body}");
            attempt += 1;
            assert!(attempt < 30, "never sold: {body}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    assert_eq!(before, 8);
    let sold_before = sold(&db_a, trip).await;
    assert_eq!(sold_before.len(), 8);
    assert_eq!(
        sold(&db_b, trip).await,
        sold_before,
        "B has A's confirmed sales"
    );

    // Region A is lost: its processes are killed, its database server crashes.
    a1.kill_9();
    a2.kill_9();
    pg_a.stop(StopMode::Immediate);
    let lost = Instant::now();
    let admin = {
        let store = open_store(&db_b).await;
        let app = App::new(store, region_config("B", &witness))
            .await
            .expect("app");
        let (id, _) = quick_user(&app, 900).await;
        app.set_role(id, Role::Admin).await.expect("admin");
        crate::common::server::mint_token_at(app.now(), id, Role::Admin, 600)
    };
    // At B, A's trip answers 503 until B takes it over, which the witness
    // allows only once A's lease has expired.
    let (status, _) = buy(&buyers[8], &base_b, trip, "during", &db_b).await;
    requests += 1;
    assert_eq!(status, 503);
    let epoch = loop {
        let r = client
            .post(format!("{base_b}/v1/admin/regions/takeover"))
            .bearer_auth(&admin)
            .json(&json!({ "from": "A" }))
            .send()
            .await
            .unwrap();
        requests += 1;
        let status = r.status();
        let body: Value = r.json().await.unwrap();
        if status == StatusCode::OK {
            break body["epoch"].as_i64().unwrap();
        }
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        assert!(
            lost.elapsed() < Duration::from_secs(15),
            "A's lease never expired"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let failover = lost.elapsed();
    assert_eq!(epoch, 3, "epochs 1 and 2 were B's and A's first");

    // Sales continue at B, on the seats A had not sold.
    let mut after = 0;
    for (i, b) in buyers.iter().enumerate().skip(8).take(8) {
        let (status, body) = buy(b, &base_b, trip, &format!("after-{i}"), &db_b).await;
        requests += 3;
        assert_eq!(status, 201, "{body}");
        after += 1;
    }
    let sold_b = sold(&db_b, trip).await;
    assert_eq!(sold_b.len(), 16);
    no_segment_twice(&sold_b);

    // A comes back: its database catches up from B (the new home and B's
    // sales), its servers hold no epoch, and sell nothing themselves.
    pg_a.start_again();
    let a1 = ServedBinary::start_on(port_a, &url_a, &args(&flags_a)).await;
    wait_for("A caught up with B", Duration::from_secs(30), async || {
        sold(&db_a, trip).await == sold_b
    })
    .await;
    assert_eq!(
        scalar(
            &db_a,
            &format!("SELECT epoch FROM trip_homes WHERE trip_id = {trip}")
        )
        .await,
        epoch
    );
    // A passenger at A: forwarded to B, the home now; sold once, at B.
    let (status, body) = buy(&buyers[16], &base_a, trip, "rejoined", &db_b).await;
    requests += 3;
    assert_eq!(status, 201, "{body}");
    // A write at A's own database under A's old epoch is refused.
    let stale = App::new(open_store(&db_a).await, region_config("A", &witness))
        .await
        .expect("app");
    assert!(stale.renew_region_lease().await.expect("renew").is_empty());
    let refused = client
        .post(format!("{base_a}/v1/holds"))
        .bearer_auth(&buyers[17].token)
        .header("x-ticketctl-hop", "B")
        .json(
            &json!({ "trip_id": trip, "from": "DHK", "to": "CTG", "class": "S_CHAIR", "count": 1 }),
        )
        .send()
        .await
        .unwrap();
    requests += 1;
    assert_eq!(
        refused.status().as_u16(),
        503,
        "A holds no epoch for the trip"
    );

    wait_for("A caught up again", Duration::from_secs(30), async || {
        sold(&db_a, trip).await.len() == 17
    })
    .await;
    let (sold_a, sold_b) = (sold(&db_a, trip).await, sold(&db_b, trip).await);
    assert_eq!(sold_a, sold_b, "both databases agree");
    no_segment_twice(&sold_b);
    drop(a1);
    drop(b1);
    assert_invariants(&db_b, trip, &gateway).await;
    assert_invariants(&db_a, trip, &gateway).await;
    println!(
        "multi-region drill: {requests} requests in {:?}; {before} sold before the loss of A, \
         {} after (B {after}, then at A forwarded to B); takeover {failover:?} after A was lost \
         (lease {LEASE_MS} ms), at epoch {epoch}",
        started.elapsed(),
        after + 1
    );
}
