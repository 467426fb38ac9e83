//! Staff control of what trips sell, on both backends: closing, opening and
//! moving the sale window of a trip or of a range of dates, adding a coach to
//! one trip and taking a coach out of sale; each change takes effect on the
//! next hold, is audited, and bad input changes nothing.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::db::scalar;
use crate::common::server::{Reply, TestApp, quick_user, test_config, tiny_trip};
use ticketctl::domain::time::to_local_rfc3339;
use ticketctl::domain::{Role, ServiceDate, TripId};

async fn try_hold(t: &TestApp, n: u32, trip: TripId, what: Value) -> Reply {
    let (_, token) = quick_user(&t.app, n).await;
    let mut body = json!({ "trip_id": trip, "from": "DHK", "to": "CTG", "class": "S_CHAIR" });
    for (k, v) in what.as_object().unwrap() {
        body[k] = v.clone();
    }
    t.post_as("/v1/holds", &token, body).await
}

async fn window(t: &TestApp, admin: &str, body: Value) -> Reply {
    t.post_as("/v1/admin/trips/sale-window", admin, body).await
}

async fn sale_windows_take_effect_on_the_next_hold(t: TestApp) {
    let trip = tiny_trip(&t.app, 4).await;
    let admin = t.user_token("01799000002", Role::Admin).await;
    let one = json!({ "count": 1 });

    let r = window(&t, &admin, json!({ "trip_id": trip, "action": "close" })).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["trips"], json!([trip]));
    let refused = try_hold(&t, 1, trip, one.clone()).await;
    refused.assert_problem(409, "conflict");
    assert!(refused.body["detail"].as_str().unwrap().contains("closed"));

    let r = window(&t, &admin, json!({ "trip_id": trip, "action": "open" })).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        try_hold(&t, 2, trip, one.clone()).await.status,
        StatusCode::CREATED
    );

    // Moved two days ahead: not on sale yet; moved back: on sale again.
    let later = to_local_rfc3339(t.app.now() + chrono::Duration::days(2));
    let r = window(
        &t,
        &admin,
        json!({ "trip_id": trip, "action": "move", "opens_at": later }),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["sale_opens_at"][0], later);
    let early = try_hold(&t, 3, trip, one.clone()).await;
    early.assert_problem(409, "conflict");
    assert!(
        early.body["detail"].as_str().unwrap().contains("opens at"),
        "{}",
        early.body
    );
    let r = window(&t, &admin, json!({ "trip_id": trip, "action": "open" })).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        try_hold(&t, 4, trip, one.clone()).await.status,
        StatusCode::CREATED
    );

    // An Eid wave: every trip of a range of dates at once.
    let day = ServiceDate::today_at(t.app.now()).add_days(1).to_string();
    let r = window(
        &t,
        &admin,
        json!({ "from": day, "to": day, "action": "close" }),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body["trips"].as_array().unwrap().contains(&json!(trip)));
    try_hold(&t, 5, trip, one.clone())
        .await
        .assert_problem(409, "conflict");
    assert_eq!(
        scalar(
            &t.db,
            "SELECT COUNT(*) FROM outbox WHERE kind = 'trip.operated'"
        )
        .await,
        5
    );
}

async fn coaches_added_and_taken_out_of_sale(t: TestApp) {
    let trip = tiny_trip(&t.app, 2).await;
    let admin = t.user_token("01799000002", Role::Admin).await;
    let sold = try_hold(&t, 1, trip, json!({ "seats": ["KA-1"] })).await;
    assert_eq!(sold.status, StatusCode::CREATED, "{}", sold.body);

    let r = t
        .post_as(
            &format!("/v1/admin/trips/{trip}/coaches/ka/sale"),
            &admin,
            json!({ "on_sale": false }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["coach"], "KA");
    assert_eq!(r.body["changed"], true);
    // Out of sale: neither a named seat nor a counted one comes from it...
    let named = try_hold(&t, 2, trip, json!({ "seats": ["KA-2"] })).await;
    named.assert_problem(409, "conflict");
    let counted = try_hold(&t, 3, trip, json!({ "count": 1 })).await;
    assert!(counted.status.is_client_error(), "{}", counted.body);
    // ...while the hold made before stands.
    let held = sold.body["hold_id"].as_i64().unwrap();
    assert_eq!(
        scalar(
            &t.db,
            &format!("SELECT COUNT(*) FROM holds WHERE id = {held} AND status = 'active'")
        )
        .await,
        1
    );

    // A coach added to this trip only is on sale at once.
    let r = t
        .post_as(
            &format!("/v1/admin/trips/{trip}/coaches"),
            &admin,
            json!({ "coach": "ga", "class": "S_CHAIR", "seats": 3 }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let in_new = try_hold(&t, 4, trip, json!({ "seats": ["GA-3"] })).await;
    assert_eq!(in_new.status, StatusCode::CREATED, "{}", in_new.body);
    t.post_as(
        &format!("/v1/admin/trips/{trip}/coaches"),
        &admin,
        json!({ "coach": "GA", "class": "S_CHAIR", "seats": 3 }),
    )
    .await
    .assert_problem(409, "conflict");

    // Back on sale.
    let r = t
        .post_as(
            &format!("/v1/admin/trips/{trip}/coaches/KA/sale"),
            &admin,
            json!({ "on_sale": true }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        try_hold(&t, 5, trip, json!({ "seats": ["KA-2"] }))
            .await
            .status,
        StatusCode::CREATED
    );
}

async fn bad_sale_changes_change_nothing(t: TestApp) {
    let trip = tiny_trip(&t.app, 2).await;
    let admin = t.user_token("01799000002", Role::Admin).await;
    let clerk = t.user_token("01799000001", Role::Clerk).await;
    window(&t, &clerk, json!({ "trip_id": trip, "action": "close" }))
        .await
        .assert_problem(403, "forbidden");
    let day = ServiceDate::today_at(t.app.now()).to_string();
    let far = ServiceDate::today_at(t.app.now()).add_days(90).to_string();
    for body in [
        json!({ "trip_id": trip, "action": "burn" }),
        json!({ "trip_id": trip, "action": "move" }),
        json!({ "trip_id": trip, "action": "move", "opens_at": "soon" }),
        json!({ "trip_id": trip, "action": "close", "opens_at": "2026-01-01T08:00:00+06:00" }),
        json!({ "action": "close" }),
        json!({ "trip_id": trip, "from": day, "to": day, "action": "close" }),
        json!({ "from": day, "action": "close" }),
        json!({ "from": far, "to": day, "action": "close" }),
        json!({ "from": day, "to": far, "action": "close" }),
        json!({ "from": "2026-13-01", "to": day, "action": "close" }),
        json!({ "trip_id": trip, "action": "close", "why": 1 }),
    ] {
        let r = window(&t, &admin, body.clone()).await;
        assert!(
            r.status.is_client_error(),
            "{body}: {} {}",
            r.status,
            r.body
        );
        assert!(r.content_type.starts_with("application/problem+json"));
    }
    window(&t, &admin, json!({ "trip_id": 999_999, "action": "close" }))
        .await
        .assert_problem(404, "not-found");
    let coach = |body: Value| {
        let t = &t;
        let admin = admin.clone();
        async move {
            t.post_as(&format!("/v1/admin/trips/{trip}/coaches"), &admin, body)
                .await
        }
    };
    for body in [
        json!({ "coach": "GA", "class": "AC_B", "seats": 3 }),
        json!({ "coach": "GA", "class": "NOPE", "seats": 3 }),
        json!({ "coach": "GA", "class": "S_CHAIR", "seats": 0 }),
        json!({ "coach": "GA", "class": "S_CHAIR", "seats": 500 }),
        json!({ "coach": "G A", "class": "S_CHAIR", "seats": 3 }),
        json!({ "coach": "", "class": "S_CHAIR", "seats": 3 }),
    ] {
        let r = coach(body.clone()).await;
        assert!(
            r.status.is_client_error(),
            "{body}: {} {}",
            r.status,
            r.body
        );
    }
    t.post_as(
        &format!("/v1/admin/trips/{trip}/coaches/ZZ/sale"),
        &admin,
        json!({ "on_sale": false }),
    )
    .await
    .assert_problem(404, "not-found");
    // Nothing changed.
    assert_eq!(
        scalar(&t.db, "SELECT COUNT(*) FROM trip_sale_closures").await,
        0
    );
    assert_eq!(
        scalar(&t.db, "SELECT COUNT(*) FROM coaches_off_sale").await,
        0
    );
    assert_eq!(
        scalar(
            &t.db,
            &format!("SELECT COUNT(DISTINCT coach_code) FROM seats WHERE trip_id = {trip}")
        )
        .await,
        2
    );
    assert_eq!(
        scalar(
            &t.db,
            "SELECT COUNT(*) FROM outbox WHERE kind = 'trip.operated'"
        )
        .await,
        0
    );
}

on_both_with!(sale, test_config:
    sale_windows_take_effect_on_the_next_hold,
    coaches_added_and_taken_out_of_sale,
    bad_sale_changes_change_nothing
);
