//! The waiting room in a real headless Chromium, on both backends: a
//! passenger who tries to buy on a queued sale is sent to the room, sees
//! their place in line, and the page lets them through by itself (a meta
//! refresh at the room's own pace) once a slot frees up.

use reqwest::{Method, StatusCode};
use serde_json::json;
use std::time::Duration;

use crate::common::browser::Browser;
use crate::common::server::{PASSWORD, TestApp, tiny_trip};
use crate::web_browser::sign_in;
use ticketctl::app::identity::Registration;
use ticketctl::domain::Role;

const WAIT: Duration = Duration::from_secs(30);

async fn admin(t: &TestApp) -> String {
    let admin = Registration {
        name: "Admin".into(),
        phone: "01799000000".into(),
        email: "admin@test.ticketctl".into(),
        password: PASSWORD.into(),
        role: Role::Admin,
        nid: None,
    };
    let _ = t.app.register(admin).await;
    t.login("01799000000").await
}

async fn a_queued_sale_shows_the_waiting_room_and_lets_the_passenger_through_browser(t: TestApp) {
    let trip = tiny_trip(&t.app, 8).await;
    // One shopper at a time: the first in line takes the only slot.
    let opens_at = t.app.now() + chrono::Duration::milliseconds(300);
    let sale = json!({ "id": "eid", "opens_at": opens_at, "trip_ids": [trip],
        "rate_per_sec": 1000.0, "max_active": 1, "idle_secs": 120 });
    let r = t.post_as("/v1/admin/queue", &admin(&t).await, sale).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let first = t.user_token("01711000011", Role::Passenger).await;
    let r = t.post_as("/v1/queue/eid/join", &first, json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let deadline = std::time::Instant::now() + WAIT;
    while t.get_as("/v1/queue/eid/status", &first).await.body["state"] != "admitted" {
        assert!(
            std::time::Instant::now() < deadline,
            "the first shopper is admitted"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    t.user_token("01711000012", Role::Passenger).await;
    let Some(b) = Browser::start(&t.url("")).await else {
        return;
    };
    sign_in(&b, "01711000012").await;
    b.goto(&format!("/trips/{trip}?from=DHK&to=CTG&class=S_CHAIR"))
        .await;
    b.click("button[value=best]").await;
    b.wait_path("/queue/eid", WAIT).await;
    assert_eq!(b.text("#position").await, "1", "next in line");
    assert!(!b.text("#wait").await.is_empty(), "an estimated wait");
    if !t.db.url().starts_with("postgres") {
        b.screenshot("waiting-room").await;
    }
    // The page has not let anyone through while the slot is taken.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(b.path().await.starts_with("/queue/eid"));

    // The first shopper leaves: the page moves on by itself, back to the
    // trip, and the purchase goes on with the admission it now holds.
    let r = t
        .send(Method::DELETE, "/v1/queue/eid", Some(&first), None)
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    b.wait_path(&format!("/trips/{trip}"), WAIT).await;
    b.click("button[value=best]").await;
    b.wait_path("/holds/", WAIT).await;
    assert!(!b.text("#held-seats").await.is_empty());
    b.quit().await;
}

on_both_backends!(a_queued_sale_shows_the_waiting_room_and_lets_the_passenger_through_browser);
