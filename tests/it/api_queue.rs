//! The waiting room: a shuffled pre-queue then FIFO, admission at a rate with a
//! cap on active shoppers, and admission tokens that holds and orders of a queued
//! sale require: expired, forged, replayed and other users' tokens are refused.
//! On a manual clock, on both backends, with the room in memory and in Redis:
//! time moves when a test moves it.

use crate::common::db::TestDb;
use crate::common::redis::TestRoom;
use crate::common::server::{TestApp, quick_user, suite_second, test_config, tiny_trip};
use chrono::Duration;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use ticketctl::domain::{TripId, UserId};

async fn start(db: TestDb, room: &TestRoom, config: ticketctl::app::AppConfig) -> TestApp {
    TestApp::start_manual(db, suite_second(), room.apply(config)).await
}

/// The admin's token (the account is created on first use).
async fn admin(t: &TestApp) -> String {
    let admin = ticketctl::app::identity::Registration {
        name: "Admin".into(),
        phone: "01799000000".into(),
        email: "admin@test.ticketctl".into(),
        password: crate::common::server::PASSWORD.into(),
        role: ticketctl::domain::Role::Admin,
        nid: None,
    };
    let _ = t.app.register(admin).await;
    t.login("01799000000").await
}

async fn create_sale(
    t: &TestApp,
    trip: TripId,
    opens_in_ms: i64,
    rate: f64,
    max_active: usize,
    idle_secs: i64,
) {
    let opens_at = t.app.now() + chrono::Duration::milliseconds(opens_in_ms);
    let body = json!({ "id": "eid", "opens_at": opens_at, "trip_ids": [trip], "rate_per_sec": rate, "max_active": max_active, "idle_secs": idle_secs });
    let r = t.post_as("/v1/admin/queue", &admin(t).await, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}

async fn join(t: &TestApp, token: &str) -> Value {
    let r = t.post_as("/v1/queue/eid/join", token, json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body
}

async fn status(t: &TestApp, token: &str) -> Value {
    t.get_as("/v1/queue/eid/status", token).await.body
}

async fn hold_with(
    t: &TestApp,
    trip: TripId,
    token: &str,
    admission: Option<&str>,
) -> crate::common::server::Reply {
    let mut req = t.client.post(t.url("/v1/holds")).bearer_auth(token).json(
        &json!({ "trip_id": trip, "from": "DHK", "to": "CTG", "class": "S_CHAIR", "count": 1 }),
    );
    if let Some(a) = admission {
        req = req.header("admission-token", a);
    }
    crate::common::server::Reply::from_response(req.send().await.unwrap()).await
}

async fn early_arrivals_are_shuffled_and_later_ones_served_in_order(db: TestDb, room: TestRoom) {
    let t = start(db, &room, test_config()).await;
    let trip = tiny_trip(&t.app, 40).await;
    create_sale(&t, trip, 1500, 1000.0, 100, 60).await;
    let mut early = Vec::new();
    for n in 0..20 {
        let (id, token) = quick_user(&t.app, n).await;
        assert_eq!(join(&t, &token).await["state"], "pre_queue");
        early.push((id, token));
    }
    t.manual_clock().advance(Duration::milliseconds(1500));
    let mut late = Vec::new();
    for n in 20..25 {
        let (id, token) = quick_user(&t.app, n).await;
        join(&t, &token).await;
        late.push(id);
    }
    for (_, token) in &early {
        assert_eq!(status(&t, token).await["state"], "admitted");
    }
    let order = t.app.waiting_room().admission_order("eid").await.unwrap();
    let early_ids: Vec<UserId> = early.iter().map(|(id, _)| *id).collect();
    let mut first: Vec<UserId> = order[..20].to_vec();
    assert_ne!(
        first, early_ids,
        "arriving early gives no edge: the pre-queue is shuffled"
    );
    first.sort();
    let mut sorted_early = early_ids.clone();
    sorted_early.sort();
    assert_eq!(
        first, sorted_early,
        "everyone from the pre-queue goes before later arrivals"
    );
    assert_eq!(
        order[20..].to_vec(),
        late,
        "after opening: first come, first served"
    );
}

async fn admission_follows_the_rate_and_the_cap_and_admins_steer_it(db: TestDb, room: TestRoom) {
    let t = start(db, &room, test_config()).await;
    let trip = tiny_trip(&t.app, 40).await;
    create_sale(&t, trip, -1000, 2.0, 3, 60).await;
    let mut users = Vec::new();
    for n in 0..6 {
        let (_, token) = quick_user(&t.app, n).await;
        join(&t, &token).await;
        users.push(token);
    }
    let admitted = |v: &Value| v["state"] == "admitted";
    let first: Vec<Value> = futures_statuses(&t, &users).await;
    let now_admitted = first.iter().filter(|s| admitted(s)).count();
    assert_eq!(now_admitted, 2, "a second's worth at 2/s: {first:?}");
    let waiting = first.iter().find(|s| s["state"] == "waiting").unwrap();
    assert!(waiting["position"].as_u64().unwrap() >= 1);
    assert!(waiting["estimated_wait_secs"].as_u64().unwrap() >= 1);
    t.manual_clock().advance(Duration::milliseconds(1600));
    let later = futures_statuses(&t, &users).await;
    assert_eq!(
        later.iter().filter(|s| admitted(s)).count(),
        3,
        "never more than max_active at once"
    );

    // One leaves: the slot passes on. Pause stops admission; resume restarts it.
    let r = t
        .send(Method::DELETE, "/v1/queue/eid", Some(&users[0]), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let admin = admin(&t).await;
    let r = t
        .post_as("/v1/admin/queue/eid", &admin, json!({ "paused": true }))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    t.manual_clock().advance(Duration::milliseconds(600));
    assert_eq!(
        futures_statuses(&t, &users[1..])
            .await
            .iter()
            .filter(|s| admitted(s))
            .count(),
        2,
        "paused"
    );
    t.post_as(
        "/v1/admin/queue/eid",
        &admin,
        json!({ "paused": false, "rate_per_sec": 50.0 }),
    )
    .await;
    t.manual_clock().advance(Duration::milliseconds(100));
    assert_eq!(
        futures_statuses(&t, &users[1..])
            .await
            .iter()
            .filter(|s| admitted(s))
            .count(),
        3,
        "resumed"
    );
    t.post_as("/v1/admin/queue/eid", &users[1], json!({ "paused": true }))
        .await
        .assert_problem(403, "forbidden");
    t.get_as("/v1/queue/nosuch/status", &users[1])
        .await
        .assert_problem(404, "not-found");
}

async fn futures_statuses(t: &TestApp, users: &[String]) -> Vec<Value> {
    let mut out = Vec::new();
    for u in users {
        out.push(status(t, u).await);
    }
    out
}

async fn only_a_live_admission_of_your_own_lets_you_buy(db: TestDb, room: TestRoom) {
    let config = test_config();
    let t = start(db, &room, config).await;
    let trip = tiny_trip(&t.app, 40).await;
    create_sale(&t, trip, -1000, 100.0, 10, 1).await;
    let (_, alice) = quick_user(&t.app, 1).await;
    let (_, bob) = quick_user(&t.app, 2).await;
    join(&t, &alice).await;
    join(&t, &bob).await;
    let token = status(&t, &alice).await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let bobs = status(&t, &bob).await["token"].as_str().unwrap().to_owned();

    hold_with(&t, trip, &alice, None)
        .await
        .assert_problem(403, "forbidden");
    hold_with(&t, trip, &alice, Some(&bobs))
        .await
        .assert_problem(403, "forbidden");
    let mut forged = token.clone().into_bytes();
    let i = forged.len() - 3;
    forged[i] = if forged[i] == b'A' { b'B' } else { b'A' };
    hold_with(
        &t,
        trip,
        &alice,
        Some(std::str::from_utf8(&forged).unwrap()),
    )
    .await
    .assert_problem(403, "forbidden");
    let held = hold_with(&t, trip, &alice, Some(&token)).await;
    assert_eq!(held.status, StatusCode::CREATED, "{}", held.body);

    // Checkout spends the token: using it again is a replay.
    let card = crate::common::booking_flow::card(&t, &alice, "4242424242424242").await;
    let order = t
        .client
        .post(t.url("/v1/orders"))
        .bearer_auth(&alice)
        .header("idempotency-key", "q1")
        .header("admission-token", &token)
        .json(&json!({ "hold_id": held.body["hold_id"], "passengers": [{ "name": "Alice" }], "payment_token": card }))
        .send()
        .await
        .unwrap();
    assert_eq!(order.status(), StatusCode::CREATED);
    let replay = hold_with(&t, trip, &alice, Some(&token)).await;
    replay.assert_problem(403, "forbidden");
    assert!(
        replay.body["detail"].as_str().unwrap().contains("replay"),
        "{}",
        replay.body
    );

    // Bob is idle for the 1-second limit: his token has expired.
    t.manual_clock().advance(Duration::seconds(1));
    let expired = hold_with(&t, trip, &bob, Some(&bobs)).await;
    expired.assert_problem(403, "forbidden");
    // Trips outside the queued sale need no token.
    let other = t
        .app
        .schedule_trip(
            9001,
            ticketctl::domain::ServiceDate::today_at(t.app.now()).add_days(2),
        )
        .await
        .unwrap();
    assert_eq!(
        hold_with(&t, other, &bob, None).await.status,
        StatusCode::CREATED
    );
}

on_both_rooms!(
    early_arrivals_are_shuffled_and_later_ones_served_in_order,
    admission_follows_the_rate_and_the_cap_and_admins_steer_it,
    only_a_live_admission_of_your_own_lets_you_buy,
);

/// A trip's "in no queued sale" is trusted for a second: a sale queued through
/// this server gates its trip here at once, one queued through another server
/// (here: on one Postgres) gates it within that second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sale_queued_through_another_server_gates_here_within_a_second_postgres() {
    let Some(db) = crate::common::db::postgres().await else {
        return;
    };
    let clock = ticketctl::app::Clock::manual(suite_second());
    let config = || ticketctl::app::AppConfig {
        clock: clock.clone(),
        ..test_config()
    };
    let a = TestApp::start_with(db.shared(), config()).await;
    let b = TestApp::start_with(db.shared(), config()).await;
    let trip = tiny_trip(&a.app, 40).await;
    let mut buyers = vec![];
    for n in 0..4 {
        buyers.push(quick_user(&a.app, n).await.1);
    }
    // B reads that the trip is in no queued sale.
    assert_eq!(
        hold_with(&b, trip, &buyers[0], None).await.status,
        StatusCode::CREATED
    );
    create_sale(&a, trip, 0, 10.0, 10, 60).await;
    hold_with(&a, trip, &buyers[1], None)
        .await
        .assert_problem(403, "forbidden");
    assert_eq!(
        hold_with(&b, trip, &buyers[2], None).await.status,
        StatusCode::CREATED,
        "B trusts its read for a second"
    );
    clock.as_manual().unwrap().advance(Duration::seconds(1));
    hold_with(&b, trip, &buyers[3], None)
        .await
        .assert_problem(403, "forbidden");
    drop((a, b));
    drop(db);
}
