//! kill -9 in the middle of a saga: the real binary is killed while a payment
//! is in flight, restarted, and must lose no confirmed order, keep no seat
//! blocked, and leave no order stuck in a middle state.

use crate::common::process::ServedBinary;
use crate::common::server::{TEST_JWT_SECRET, quick_user, tiny_trip};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use ticketctl::app::{App, AppConfig};

/// The binary with quick recovery; an order cut off before its charge waits
/// for a retry while its hold lasts, and a short hold lets recovery settle
/// Bob's order soon.
async fn start(db_url: &str, gateway_latency_ms: u64) -> ServedBinary {
    let latency = gateway_latency_ms.to_string();
    ServedBinary::start(
        db_url,
        &[
            "--gateway-latency-ms",
            &latency,
            "--recovery-after-secs",
            "1",
            "--charge-timeout-ms",
            "1000",
            "--hold-ttl-secs",
            "5",
        ],
    )
    .await
}

async fn post(
    client: &reqwest::Client,
    url: String,
    token: &str,
    key: Option<&str>,
    body: Value,
) -> (u16, Value) {
    let mut req = client.post(url).bearer_auth(token).json(&body);
    if let Some(k) = key {
        req = req.header("idempotency-key", k);
    }
    match req.send().await {
        Ok(r) => (r.status().as_u16(), r.json().await.unwrap_or(Value::Null)),
        Err(_) => (0, Value::Null),
    }
}

async fn kill_mid_saga(db: crate::common::db::TestDb) {
    // Prepare the trip, users and cards with the library, then hand the database to the binary.
    let store = crate::common::db::open_store(&db).await;
    let config = AppConfig {
        jwt_secret: Some(TEST_JWT_SECRET.into()),
        clock: crate::common::server::suite_clock(),
        ..AppConfig::default()
    };
    let app = App::new(store, config).await.unwrap();
    let trip = tiny_trip(&app, 10).await;
    let (_, alice) = quick_user(&app, 1).await;
    let (_, bob) = quick_user(&app, 2).await;
    drop(app);

    let client = reqwest::Client::new();
    let server = start(db.url(), 0).await;
    let card = |t: String| {
        let (client, base) = (client.clone(), server.base.clone());
        async move { crate::common::gateway::card_token(&client, &base, &t, "4242424242424242").await }
    };
    let alice_card = card(alice.clone()).await;
    let bob_card = card(bob.clone()).await;
    let bob_card_again = bob_card.clone();

    // Alice's order completes before the crash.
    let (s, held) = post(&client, format!("{}/v1/holds", server.base), &alice, None, json!({ "trip_id": trip, "from": "DHK", "to": "CTG", "class": "S_CHAIR", "seats": ["KA-1"] })).await;
    assert_eq!(s, 201, "{held}");
    let (s, alice_order) = post(&client, format!("{}/v1/orders", server.base), &alice, Some("a1"), json!({ "hold_id": held["hold_id"], "passengers": [{ "name": "Alice" }], "payment_token": alice_card })).await;
    assert_eq!(s, 201, "{alice_order}");
    server.kill_9();

    // Bob's order is cut off while the (slow) gateway is charging.
    let server = start(db.url(), 3000).await;
    let (s, held) = post(&client, format!("{}/v1/holds", server.base), &bob, None, json!({ "trip_id": trip, "from": "DHK", "to": "FNI", "class": "S_CHAIR", "seats": ["KA-2"] })).await;
    assert_eq!(s, 201, "{held}");
    let (base, bob2, hold_id) = (server.base.clone(), bob.clone(), held["hold_id"].clone());
    let in_flight = tokio::spawn(async move {
        post(&reqwest::Client::new(), format!("{base}/v1/orders"), &bob2, Some("b1"), json!({ "hold_id": hold_id, "passengers": [{ "name": "Bob" }], "payment_token": bob_card })).await
    });
    tokio::time::sleep(Duration::from_millis(800)).await;
    server.kill_9();
    assert_eq!(
        in_flight.await.unwrap().0,
        0,
        "the request died with the server"
    );

    // Restart: recovery settles Bob's order and the seat returns; Alice's ticket stands.
    let server = start(db.url(), 0).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let bob_orders = loop {
        let r: Value = client
            .get(format!("{}/v1/me/orders", server.base))
            .bearer_auth(&bob)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let status = r["orders"][0]["status"].as_str().unwrap_or("").to_owned();
        if status == "failed" || status == "confirmed" {
            break r;
        }
        assert!(Instant::now() < deadline, "order stuck in '{status}': {r}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(
        bob_orders["orders"][0]["status"], "failed",
        "nothing was charged before the crash"
    );
    let alice_now: Value = client
        .get(format!(
            "{}/v1/orders/{}",
            server.base, alice_order["order_id"]
        ))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(alice_now["status"], "confirmed");
    assert_eq!(alice_now["tickets"].as_array().unwrap().len(), 1);
    let map: Value = client
        .get(format!(
            "{}/v1/trips/{trip}/seats?from=DHK&to=FNI",
            server.base
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let seats = map["coaches"][0]["seats"].as_array().unwrap();
    assert_eq!(seats[0]["free"], false, "KA-1 stays sold");
    assert_eq!(seats[1]["free"], true, "KA-2 is for sale again");
    // A retry of Bob's very request (same key, same body) answers with the
    // order recovery settled, and charges nothing.
    let (s, replay) = post(&client, format!("{}/v1/orders", server.base), &bob, Some("b1"), json!({ "hold_id": held["hold_id"], "passengers": [{ "name": "Bob" }], "payment_token": bob_card_again })).await;
    assert_eq!(s, 402, "the settled outcome: payment failed: {replay}");
    assert_eq!(replay["type"], "/problems/payment-failed", "{replay}");
    assert_eq!(
        replay["order"]["order_id"], bob_orders["orders"][0]["order_id"],
        "{replay}"
    );
    assert_eq!(replay["order"]["status"], "failed", "{replay}");
    // Another body under the same key is refused.
    let (s, refused) = post(&client, format!("{}/v1/orders", server.base), &bob, Some("b1"), json!({ "hold_id": held["hold_id"], "passengers": [{ "name": "Bob" }], "payment_token": "x" })).await;
    assert_eq!(
        s, 422,
        "a different body under the same key is refused: {refused}"
    );
    drop(server);

    let store = crate::common::db::open_store(&db).await;
    let config = AppConfig {
        clock: crate::common::server::suite_clock(),
        // The server's gateway ledger: recovery asks it what landed.
        gateway: crate::common::gateway::embedded_for(db.url(), Default::default()),
        ..AppConfig::default()
    };
    let app = App::new(store, config).await.unwrap();
    app.settle().await.unwrap();
    let report = app.check_invariants(Some(trip)).await.unwrap();
    assert!(report.ok(), "{report:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_saga_sqlite() {
    kill_mid_saga(crate::common::db::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_saga_postgres() {
    if let Some(db) = crate::common::db::postgres().await {
        kill_mid_saga(db).await;
    }
}
