//! Many passengers joining a queued sale at the same instant, with the room in
//! memory and in Redis: every one gets a place of their own, the places run
//! 1, 2, 3, … without gaps or repeats, and one passenger joining many times at
//! once still has one place.

use reqwest::StatusCode;
use serde_json::json;
use std::sync::Arc;
use tokio::sync::Barrier;

use crate::common::db::TestDb;
use crate::common::redis::TestRoom;
use crate::common::server::{
    PASSWORD, Reply, TestApp, quick_user, suite_second, test_config, tiny_trip,
};

const PASSENGERS: u32 = 60;
const SAME_USER_JOINS: usize = 20;

/// Sends every join at the same instant (a barrier), for the tokens given.
async fn join_together(t: &TestApp, tokens: Vec<String>) -> Vec<Reply> {
    let barrier = Arc::new(Barrier::new(tokens.len()));
    let tasks: Vec<_> = tokens
        .into_iter()
        .map(|token| {
            let req = t
                .client
                .post(t.url("/v1/queue/eid/join"))
                .bearer_auth(token)
                .json(&json!({}));
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                Reply::from_response(req.send().await.expect("the server answers")).await
            })
        })
        .collect();
    let mut replies = vec![];
    for task in tasks {
        replies.push(task.await.expect("join task"));
    }
    replies
}

async fn many_joins_at_once_keep_positions_unique_and_dense(db: TestDb, room: TestRoom) {
    let t = TestApp::start_manual(db, suite_second(), room.apply(test_config())).await;
    let trip = tiny_trip(&t.app, 40).await;
    let _ = t
        .app
        .register(ticketctl::app::identity::Registration {
            name: "Admin".into(),
            phone: "01799000000".into(),
            email: "admin@test.ticketctl".into(),
            password: PASSWORD.into(),
            role: ticketctl::domain::Role::Admin,
            nid: None,
        })
        .await;
    let admin = t.login("01799000000").await;
    // One slot and no time passing: the first joiner shops, everyone else waits.
    let sale = json!({ "id": "eid", "opens_at": t.app.now(), "trip_ids": [trip],
        "rate_per_sec": 1000.0, "max_active": 1, "idle_secs": 600 });
    let r = t.post_as("/v1/admin/queue", &admin, sale).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let (_, first) = quick_user(&t.app, 0).await;
    let r = t.post_as("/v1/queue/eid/join", &first, json!({})).await;
    assert_eq!(r.body["state"], "admitted", "{}", r.body);

    let mut tokens = vec![];
    for n in 1..=PASSENGERS {
        tokens.push(quick_user(&t.app, n).await.1);
    }
    let replies = join_together(&t, tokens.clone()).await;
    let mut places: Vec<u64> = replies
        .iter()
        .map(|r| {
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            assert_eq!(r.body["state"], "waiting", "{}", r.body);
            r.body["position"].as_u64().unwrap()
        })
        .collect();
    places.sort();
    assert_eq!(places, (1..=PASSENGERS as u64).collect::<Vec<_>>());

    // One more passenger, joining twenty times at once: one place, the next one.
    let (_, eager) = quick_user(&t.app, PASSENGERS + 1).await;
    let replies = join_together(&t, vec![eager.clone(); SAME_USER_JOINS]).await;
    for r in &replies {
        assert_eq!(r.body["position"], PASSENGERS + 1, "{}", r.body);
    }
    let status = t.get_as("/v1/queue/eid/status", &eager).await;
    assert_eq!(status.body["position"], PASSENGERS + 1, "{}", status.body);
}

on_both_rooms!(many_joins_at_once_keep_positions_unique_and_dense);
