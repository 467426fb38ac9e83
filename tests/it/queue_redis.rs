//! The waiting room in Redis, shared by several servers: two servers on one
//! Postgres database and one Redis keep one queue (a token from one is
//! honoured by the other, admissions follow positions whoever served them, a
//! restarted server finds the queue as it was), and a Redis that stops makes
//! the queued sale fail closed (503 with Retry-After, nothing sold) until it
//! is back.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::BTreeMap;

use crate::common::db::{postgres, scalar, sqlite};
use crate::common::redis::{OwnRedis, TestRedis, shared};
use crate::common::server::{
    PASSWORD, Reply, TestApp, quick_user, suite_second, test_config, tiny_trip,
};
use ticketctl::app::{AppConfig, Clock};
use ticketctl::domain::{Role, ServiceDate, TripId, UserId};

async fn admin(t: &TestApp) -> String {
    let _ = t
        .app
        .register(ticketctl::app::identity::Registration {
            name: "Admin".into(),
            phone: "01799000000".into(),
            email: "admin@test.ticketctl".into(),
            password: PASSWORD.into(),
            role: Role::Admin,
            nid: None,
        })
        .await;
    t.login("01799000000").await
}

async fn create_sale(t: &TestApp, trip: TripId, opens_in: Duration, rate: f64, max_active: usize) {
    let opens_at = t.app.now() + opens_in;
    let body = json!({ "id": "eid", "opens_at": opens_at, "trip_ids": [trip],
        "rate_per_sec": rate, "max_active": max_active, "idle_secs": 600 });
    let r = t.post_as("/v1/admin/queue", &admin(t).await, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}

async fn join(t: &TestApp, token: &str) -> Reply {
    t.post_as("/v1/queue/eid/join", token, json!({})).await
}

async fn status(t: &TestApp, token: &str) -> Value {
    let r = t.get_as("/v1/queue/eid/status", token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body
}

async fn hold(t: &TestApp, trip: TripId, token: &str, admission: Option<&str>) -> Reply {
    let mut req = t.client.post(t.url("/v1/holds")).bearer_auth(token).json(
        &json!({ "trip_id": trip, "from": "DHK", "to": "CTG", "class": "S_CHAIR", "count": 1 }),
    );
    if let Some(a) = admission {
        req = req.header("admission-token", a);
    }
    Reply::from_response(req.send().await.unwrap()).await
}

async fn order(t: &TestApp, hold_id: &Value, token: &str, admission: &str, key: &str) -> Reply {
    let card = crate::common::booking_flow::card(t, token, "4242424242424242").await;
    let req = t
        .client
        .post(t.url("/v1/orders"))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .header("admission-token", admission)
        .json(
            &json!({ "hold_id": hold_id, "passengers": [{ "name": "A Passenger" }],
            "payment_token": card }),
        );
    Reply::from_response(req.send().await.unwrap()).await
}

/// Each waiting user's position, asked through alternating servers.
async fn positions(servers: &[&TestApp], users: &[(UserId, String)]) -> BTreeMap<UserId, u64> {
    let mut out = BTreeMap::new();
    for (i, (id, token)) in users.iter().enumerate() {
        let s = status(servers[i % servers.len()], token).await;
        if s["state"] == "waiting" {
            out.insert(*id, s["position"].as_u64().unwrap());
        }
    }
    out
}

fn config(redis: &TestRedis, clock: &Clock) -> AppConfig {
    redis.room(AppConfig {
        clock: clock.clone(),
        sweep_every: std::time::Duration::from_secs(3600),
        ..test_config()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_database_and_one_redis_share_the_queue_postgres() {
    let Some(redis) = shared() else { return };
    let Some(db) = postgres().await else { return };
    // One clock for both servers, as one wall clock is for real processes.
    let clock = Clock::manual(suite_second());
    let a = TestApp::start_with(db.shared(), config(&redis, &clock)).await;
    let b = TestApp::start_with(db.shared(), config(&redis, &clock)).await;
    let trip = tiny_trip(&a.app, 40).await;
    create_sale(&a, trip, Duration::seconds(1), 2.0, 3).await;

    // Six arrive before opening, alternately through A and B: one pre-queue.
    let mut users = vec![];
    for n in 0..6 {
        let user = quick_user(&a.app, n).await;
        let r = join([&a, &b][n as usize % 2], &user.1).await;
        assert_eq!(r.body["state"], "pre_queue", "{}", r.body);
        assert_eq!(r.body["waiting"], n + 1, "{}", r.body);
        users.push(user);
    }
    assert!(!redis.keys().is_empty(), "the room is kept in Redis");
    // At opening a second's worth is admitted (2); the other four wait, 1 to 4.
    clock.as_manual().unwrap().advance(Duration::seconds(1));
    let early = positions(&[&b, &a], &users).await;
    assert_eq!(
        early
            .values()
            .copied()
            .collect::<std::collections::BTreeSet<_>>(),
        (1..=4).collect(),
        "{early:?}"
    );
    // Later arrivals queue behind, in arrival order, whichever server they hit.
    for n in 6..10 {
        let user = quick_user(&a.app, n).await;
        let r = join([&a, &b][n as usize % 2], &user.1).await;
        assert_eq!(r.body["position"], n - 1, "{}", r.body);
        users.push(user);
    }

    // A token issued through A is honoured by B.
    let (admitted, token) = users
        .iter()
        .find(|(id, _)| !early.contains_key(id))
        .cloned()
        .unwrap();
    let through_a = status(&a, &token).await;
    assert_eq!(through_a["state"], "admitted", "{through_a}");
    let admission = through_a["token"].as_str().unwrap().to_owned();
    let held = hold(&b, trip, &token, Some(&admission)).await;
    assert_eq!(held.status, StatusCode::CREATED, "{}", held.body);

    // A restarts: the queue is in Redis, not in the process.
    let before = positions(&[&a, &b], &users).await;
    a.shutdown().await;
    let a = TestApp::start_with(db.shared(), config(&redis, &clock)).await;
    assert_eq!(positions(&[&a, &b], &users).await, before);
    let again = hold(&a, trip, &token, Some(&admission)).await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.body);
    assert_eq!(status(&a, &token).await["token"], through_a["token"]);

    // Admissions follow positions, three at a time, whoever serves them.
    let mut in_line: Vec<(u64, UserId)> = before.iter().map(|(u, p)| (*p, *u)).collect();
    in_line.sort();
    let token_of: BTreeMap<UserId, String> = users.iter().cloned().collect();
    let mut admitted_in_turn = vec![];
    for round in 0..3 {
        let servers = [&a, &b];
        for (i, user) in a
            .app
            .waiting_room()
            .admission_order("eid")
            .await
            .unwrap()
            .iter()
            .enumerate()
        {
            let r = servers[(i + round) % 2]
                .send(
                    reqwest::Method::DELETE,
                    "/v1/queue/eid",
                    Some(&token_of[user]),
                    None,
                )
                .await;
            assert_eq!(r.status, StatusCode::NO_CONTENT);
        }
        clock.as_manual().unwrap().advance(Duration::seconds(2));
        // Any request moves the room on; the last in line is in it throughout.
        let last = in_line.last().unwrap().1;
        status(servers[round % 2], &token_of[&last]).await;
        admitted_in_turn.extend(b.app.waiting_room().admission_order("eid").await.unwrap());
    }
    let expected: Vec<UserId> = in_line.iter().map(|(_, u)| *u).collect();
    assert_eq!(
        admitted_in_turn, expected,
        "nobody is admitted before those ahead"
    );
    assert_ne!(admitted, expected[0]);
    drop((a, b));
    drop(db);
}

/// Redis stops in the middle of a queued sale: holds, orders and queue calls on
/// its trip get 503 with Retry-After and nothing is sold, while other trips sell
/// on; when Redis is back (empty: it kept nothing on disk) the sale resumes
/// from its settings in the database, and tokens of the lost admissions stay refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_sale_fails_closed_while_redis_is_down_and_resumes() {
    let Some(mut own) = OwnRedis::start() else {
        return;
    };
    let config = AppConfig {
        redis_url: Some(own.url()),
        ..test_config()
    };
    let t = TestApp::start_manual(sqlite(), suite_second(), config).await;
    let trip = tiny_trip(&t.app, 40).await;
    let other = t
        .app
        .schedule_trip(9001, ServiceDate::today_at(t.app.now()).add_days(2))
        .await
        .unwrap();
    create_sale(&t, trip, Duration::zero(), 100.0, 10).await;
    let (_, alice) = quick_user(&t.app, 1).await;
    let (_, bob) = quick_user(&t.app, 2).await;
    let (_, carol) = quick_user(&t.app, 3).await;
    let alice_admission = join(&t, &alice).await.body["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let bob_admission = join(&t, &bob).await.body["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let held = hold(&t, trip, &alice, Some(&alice_admission)).await;
    assert_eq!(held.status, StatusCode::CREATED, "{}", held.body);

    own.kill();
    let refused = [
        hold(&t, trip, &bob, Some(&bob_admission)).await,
        order(&t, &held.body["hold_id"], &alice, &alice_admission, "k1").await,
        join(&t, &carol).await,
        t.get_as("/v1/queue/eid/status", &alice).await,
    ];
    for r in &refused {
        r.assert_problem(503, "unavailable");
        assert_eq!(r.headers["retry-after"], "1", "{}", r.body);
    }
    let elsewhere = hold(&t, other, &carol, None).await;
    assert_eq!(elsewhere.status, StatusCode::CREATED, "{}", elsewhere.body);
    let sold = format!("SELECT COUNT(*) FROM orders WHERE trip_id = {trip}");
    assert_eq!(
        scalar(&t.db, &sold).await,
        0,
        "nothing was sold on the queued trip"
    );
    let holds = format!("SELECT COUNT(*) FROM holds WHERE trip_id = {trip}");
    assert_eq!(scalar(&t.db, &holds).await, 1, "only the hold made before");

    own.restart();
    // The admissions died with Redis's data: their tokens are refused.
    hold(&t, trip, &bob, Some(&bob_admission))
        .await
        .assert_problem(403, "forbidden");
    // The sale goes on: join again, and buy.
    let rejoined = join(&t, &alice).await;
    assert_eq!(rejoined.body["state"], "admitted", "{}", rejoined.body);
    let admission = rejoined.body["token"].as_str().unwrap();
    assert_ne!(admission, alice_admission);
    let bought = order(&t, &held.body["hold_id"], &alice, admission, "k2").await;
    assert_eq!(bought.status, StatusCode::CREATED, "{}", bought.body);
    assert_eq!(bought.body["status"], "confirmed", "{}", bought.body);
    assert_eq!(scalar(&t.db, &sold).await, 1);
}
