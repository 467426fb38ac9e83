//! Idempotent operations asked for 20 times at the same instant (the requests
//! are built first, then all sent once a barrier lets 20 tasks go together),
//! on both backends: the database afterwards shows the operation done once,
//! and the system still serves the next customer.

use crate::common::server::TEST_DOB;
use reqwest::{RequestBuilder, StatusCode};
use serde_json::json;
use std::sync::Arc;
use tokio::sync::Barrier;

use crate::common::booking_flow::{book, hold};
use crate::common::db::scalar;
use crate::common::server::{Reply, TestApp, quick_user, tiny_trip};
use ticketctl::domain::{HoldStatus, OrderId, Role, TripId};

const AT_ONCE: usize = 20;

/// Sends every request at the same moment and returns the replies in order.
async fn together(requests: Vec<RequestBuilder>) -> Vec<Reply> {
    let barrier = Arc::new(Barrier::new(requests.len()));
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|req| {
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                Reply::from_response(req.send().await.expect("request reaches the server")).await
            })
        })
        .collect();
    let mut replies = Vec::with_capacity(tasks.len());
    for task in tasks {
        replies.push(task.await.expect("request task"));
    }
    replies
}

fn statuses(replies: &[Reply]) -> Vec<u16> {
    let mut s: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
    s.sort_unstable();
    s
}

/// One 2xx and the rest refused as conflicts with problem+json.
fn one_success_rest_conflicts(replies: &[Reply], success: u16) {
    let mut expected = vec![success];
    expected.extend(std::iter::repeat_n(409, AT_ONCE - 1));
    expected.sort_unstable();
    assert_eq!(statuses(replies), expected);
    for r in replies.iter().filter(|r| r.status == StatusCode::CONFLICT) {
        r.assert_problem(409, "conflict");
    }
}

async fn invariants_hold(t: &TestApp, trip: TripId) {
    t.app.settle().await.unwrap();
    let report = t.app.check_invariants(Some(trip)).await.unwrap();
    assert!(report.ok(), "{report:#?}");
}

/// The seat is for sale again: a new passenger can hold it.
async fn seat_can_be_held_again(t: &TestApp, trip: TripId, n: u32) {
    let (_, token) = quick_user(&t.app, n).await;
    let r = t
        .post_as(
            "/v1/holds",
            &token,
            json!({ "trip_id": trip, "from": "DHK", "to": "CTG", "class": "S_CHAIR", "seats": ["KA-1"] }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}

async fn cancelling_one_order_twenty_times_at_once_refunds_once(t: TestApp) {
    let trip = tiny_trip(&t.app, 1).await;
    let sold = book(&t, trip, 1, 1, "4242424242424242").await;
    assert_eq!(sold.reply.body["status"], "confirmed");
    let url = t.url(&format!("/v1/orders/{}/cancel", sold.order_id));
    let requests = (0..AT_ONCE)
        .map(|_| {
            t.client
                .post(&url)
                .bearer_auth(&sold.token)
                .json(&json!({}))
        })
        .collect();
    let replies = together(requests).await;
    one_success_rest_conflicts(&replies, 200);
    let done = replies.iter().find(|r| r.status == StatusCode::OK).unwrap();
    let refund = done.body["refunded"].as_i64().unwrap();

    let o = sold.order_id;
    let events = scalar(
        &t.db,
        &format!(
            "SELECT COUNT(*) FROM outbox WHERE subject_id = {o} AND kind IN ('order.cancelled', 'order.refunded')"
        ),
    )
    .await;
    assert_eq!(events, 1, "one cancellation recorded");
    invariants_hold(&t, trip).await;
    let refunded_at_gateway = crate::common::gateway::charge(&t.app, &format!("order-{o}"))
        .await
        .expect("the gateway's charge")["refunded"]
        .as_i64()
        .unwrap();
    assert_eq!(
        refunded_at_gateway, refund,
        "refunded once, by the tier's amount"
    );
    seat_can_be_held_again(&t, trip, 2).await;
}

async fn releasing_one_hold_twenty_times_at_once_frees_it_once(t: TestApp) {
    let trip = tiny_trip(&t.app, 1).await;
    let (_, token, hold_id) = hold(&t, trip, 1, 1).await;
    let url = t.url(&format!("/v1/holds/{hold_id}"));
    let requests = (0..AT_ONCE)
        .map(|_| t.client.delete(&url).bearer_auth(&token))
        .collect();
    let replies = together(requests).await;
    one_success_rest_conflicts(&replies, 204);
    assert_eq!(
        t.app
            .raw_store()
            .hold(hold_id)
            .await
            .unwrap()
            .unwrap()
            .status,
        HoldStatus::Released
    );
    let taken = scalar(
        &t.db,
        &format!("SELECT MAX(taken) FROM seats WHERE trip_id = {trip}"),
    )
    .await;
    assert_eq!(taken, 0, "every seat is free");
    invariants_hold(&t, trip).await;
    seat_can_be_held_again(&t, trip, 2).await;
}

async fn a_cash_refund_asked_twenty_times_at_once_is_handed_back_once(t: TestApp) {
    let trip = tiny_trip(&t.app, 2).await;
    let clerk = t.user_token("01799000001", Role::Clerk).await;
    let held = t
        .post_as(
            "/v1/counter/holds",
            &clerk,
            json!({ "trip_id": trip, "from": "DHK", "to": "CTG", "class": "S_CHAIR", "seats": ["KA-1"] }),
        )
        .await;
    assert_eq!(held.status, StatusCode::CREATED, "{}", held.body);
    let sold = Reply::from_response(
        t.client
            .post(t.url("/v1/counter/orders"))
            .bearer_auth(&clerk)
            .header("idempotency-key", "cash-1")
            .json(&json!({ "hold_id": held.body["hold_id"], "passengers": [{ "name": "Rahima" }], "phone": "01711111111", "nid": "5511711111111" }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(sold.status, StatusCode::CREATED, "{}", sold.body);
    let o = OrderId(sold.body["order_id"].as_i64().unwrap());
    let url = t.url(&format!("/v1/counter/orders/{o}/cancel"));
    let requests = (0..AT_ONCE)
        .map(|_| t.client.post(&url).bearer_auth(&clerk).json(&json!({})))
        .collect();
    let replies = together(requests).await;
    // Repeating a counter cancellation is safe and answers the same.
    assert_eq!(
        statuses(&replies),
        vec![200; AT_ONCE],
        "{:?}",
        replies.iter().map(|r| &r.body).collect::<Vec<_>>()
    );
    let refund = replies[0].body["cash_refund"].as_i64().unwrap();
    assert!(refund > 0, "{}", replies[0].body);
    assert!(replies.iter().all(|r| r.body["cash_refund"] == refund));

    let rows = scalar(
        &t.db,
        &format!("SELECT COUNT(*) FROM counter_refunds WHERE order_id = {o}"),
    )
    .await;
    assert_eq!(rows, 1, "one cash refund recorded");
    let shift = t.get_as("/v1/counter/shift", &clerk).await;
    assert_eq!(
        (
            shift.body["refunds"].as_i64(),
            shift.body["cash_out"].as_i64()
        ),
        (Some(1), Some(refund))
    );
    invariants_hold(&t, trip).await;
    seat_can_be_held_again(&t, trip, 2).await;
}

async fn registering_one_account_twenty_times_at_once_creates_it_once(t: TestApp) {
    let body = json!({ "name": "Karim Uddin", "phone": "01711000000", "email": "karim@example.com", "password": "correct horse battery", "nid": "5511711000000", "date_of_birth": TEST_DOB });
    let url = t.url("/v1/auth/register");
    let requests = (0..AT_ONCE)
        .map(|_| t.client.post(&url).json(&body))
        .collect();
    let replies = together(requests).await;
    // Registration does not tell whether the account already existed: every
    // copy that gets a hashing turn answers the same 202 with the same body; the
    // rest are shed (503 with Retry-After, nothing done). One account is made.
    let accepted: Vec<&Reply> = replies.iter().filter(|r| r.status == 202).collect();
    assert!(!accepted.is_empty(), "{:?}", statuses(&replies));
    assert!(
        accepted.iter().all(|r| r.body == accepted[0].body),
        "{}",
        accepted[0].body
    );
    for shed in replies.iter().filter(|r| r.status != 202) {
        assert_eq!(shed.status, 503, "{}", shed.body);
        assert!(shed.headers.contains_key("retry-after"), "{}", shed.body);
    }
    let accounts = scalar(
        &t.db,
        "SELECT COUNT(*) FROM users WHERE email = 'karim@example.com'",
    )
    .await;
    assert_eq!(accounts, 1);
    // The one account works.
    t.login("01711000000").await;
}

async fn joining_the_queue_twenty_times_as_one_user_takes_one_place(t: TestApp) {
    let trip = tiny_trip(&t.app, 8).await;
    let admin = t.user_token("01799000000", Role::Admin).await;
    let opens_at = t.app.now() - chrono::Duration::seconds(1);
    // One shopper at a time: whoever is admitted first holds the only slot.
    let sale = json!({ "id": "eid", "opens_at": opens_at, "trip_ids": [trip], "rate_per_sec": 1000.0, "max_active": 1, "idle_secs": 60 });
    let r = t.post_as("/v1/admin/queue", &admin, sale).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let (_, alice) = quick_user(&t.app, 1).await;
    let url = t.url("/v1/queue/eid/join");
    let requests = (0..AT_ONCE)
        .map(|_| t.client.post(&url).bearer_auth(&alice).json(&json!({})))
        .collect();
    let replies = together(requests).await;
    assert_eq!(statuses(&replies), vec![200; AT_ONCE]);
    let alice_now = t.get_as("/v1/queue/eid/status", &alice).await;
    assert_eq!(alice_now.body["state"], "admitted", "{}", alice_now.body);
    // Bob comes next: Alice's 20 joins are one place in the queue, not 20.
    let (_, bob) = quick_user(&t.app, 2).await;
    let joined = t.post_as("/v1/queue/eid/join", &bob, json!({})).await;
    assert_eq!(joined.status, StatusCode::OK, "{}", joined.body);
    let bob_now = t.get_as("/v1/queue/eid/status", &bob).await;
    assert_eq!(bob_now.body["state"], "waiting", "{}", bob_now.body);
    assert_eq!(bob_now.body["position"], 1, "{}", bob_now.body);
}

on_both_backends!(
    cancelling_one_order_twenty_times_at_once_refunds_once,
    releasing_one_hold_twenty_times_at_once_frees_it_once,
    a_cash_refund_asked_twenty_times_at_once_is_handed_back_once,
    registering_one_account_twenty_times_at_once_creates_it_once,
    joining_the_queue_twenty_times_as_one_user_takes_one_place,
);
