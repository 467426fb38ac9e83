//! Delaying a trip, on both backends: each passenger with a confirmed order
//! is told once (e-mail and SMS through the notification outbox), may then
//! cancel with everything back (no deduction), and bad input changes nothing.

use reqwest::StatusCode;
use serde_json::json;

use crate::common::booking_flow::book;
use crate::common::db::{TestDb, scalar};
use crate::common::server::{TestApp, test_config, tiny_trip};
use ticketctl::domain::{Role, TripId};

const CARD: &str = "4242424242424242";

async fn a_delay_tells_passengers_and_refunds_in_full(db: TestDb) {
    let notes = tempfile::tempdir().unwrap();
    let config = ticketctl::app::AppConfig {
        notifications_dir: Some(notes.path().to_owned()),
        ..test_config()
    };
    let t = TestApp::start_with(db, config).await;
    let trip = tiny_trip(&t.app, 4).await;
    let a = book(&t, trip, 1, 2, CARD).await;
    let b = book(&t, trip, 2, 1, CARD).await;
    let amount_a = a.reply.body["amount"].as_i64().unwrap();
    let admin = t.user_token("01799000002", Role::Admin).await;

    let r = t
        .post_as(
            &format!("/v1/admin/trips/{trip}/delay"),
            &admin,
            json!({ "minutes": 90, "reason": "Engine failure at Tongi" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["orders_told"], 2);
    assert_eq!(r.body["minutes"], 90);

    t.app.settle().await.unwrap();
    let sms: Vec<String> = std::fs::read_dir(notes.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with("sms.txt"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .filter(|s| s.contains("90 min late"))
        .collect();
    assert_eq!(sms.len(), 2, "{sms:?}");
    for phone in ["+8801700000001", "+8801700000002"] {
        assert_eq!(
            sms.iter()
                .filter(|s| s.contains(&format!("To: {phone}")))
                .count(),
            1,
            "{phone}: {sms:?}"
        );
    }

    // The passenger gives the delayed train up: everything back, no deduction,
    // and the quote shown before confirming says so.
    let quote = t.app.refund_quote(a.order_id, a.user_id).await.unwrap();
    assert_eq!(quote, amount_a);
    let r = t
        .post_as(
            &format!("/v1/orders/{}/cancel", a.order_id),
            &a.token,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["refunded"], amount_a, "{}", r.body);
    let charge = crate::common::gateway::charge(&t.app, &format!("order-{}", a.order_id))
        .await
        .unwrap();
    assert_eq!(charge["refunded"], amount_a);
    assert_eq!(
        scalar(
            &t.db,
            "SELECT COUNT(*) FROM outbox WHERE kind = 'trip.operated'"
        )
        .await,
        1
    );
    drop(b);
}

async fn bad_delays_change_nothing(t: TestApp) {
    let trip = tiny_trip(&t.app, 4).await;
    let admin = t.user_token("01799000002", Role::Admin).await;
    let clerk = t.user_token("01799000001", Role::Clerk).await;
    let path = format!("/v1/admin/trips/{trip}/delay");
    t.post_as(&path, &clerk, json!({ "minutes": 30, "reason": "late" }))
        .await
        .assert_problem(403, "forbidden");
    for body in [
        json!({ "minutes": 0, "reason": "late" }),
        json!({ "minutes": -5, "reason": "late" }),
        json!({ "minutes": 5000, "reason": "late" }),
        json!({ "minutes": 30, "reason": "" }),
        json!({ "minutes": 30 }),
        json!({ "minutes": "soon", "reason": "late" }),
        json!({ "minutes": 30, "reason": "late", "x": 1 }),
    ] {
        let r = t.post_as(&path, &admin, body.clone()).await;
        assert!(
            r.status.is_client_error(),
            "{body}: {} {}",
            r.status,
            r.body
        );
        assert!(r.content_type.starts_with("application/problem+json"));
    }
    t.post_as(
        &format!("/v1/admin/trips/{}/delay", TripId(999_999)),
        &admin,
        json!({ "minutes": 30, "reason": "late" }),
    )
    .await
    .assert_problem(404, "not-found");
    assert_eq!(scalar(&t.db, "SELECT COUNT(*) FROM trip_delays").await, 0);
}

on_both_databases!(a_delay_tells_passengers_and_refunds_in_full);
on_both_with!(delay_refused, test_config: bad_delays_change_nothing);
