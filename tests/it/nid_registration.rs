//! Registration with an NID (issue 11), on both backends: the NID and date of
//! birth are verified at the NID registry (the embedded mock, whose test
//! identities decide the answer), one account per NID, refusals and a
//! registry that is down or slow create nothing, and bad NIDs and dates are
//! 422s that name the field.

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

use crate::common::db::TestDb;
use crate::common::server::{Reply, TEST_DOB, TestApp, test_config, tiny_trip};
use ticketctl::adapters::nid_http::HttpNidRegistry;
use ticketctl::domain::Role;

fn registration(n: u32, nid: &str, dob: &str) -> Value {
    json!({
        "name": "Rahima Akter",
        "phone": format!("0171{n:07}"),
        "email": format!("r{n}@example.com"),
        "password": crate::common::server::PASSWORD,
        "nid": nid,
        "date_of_birth": dob,
    })
}

async fn users(t: &TestApp) -> i64 {
    t.app.raw_store().counts().await.unwrap().users
}

async fn two_accounts_cannot_share_one_nid(t: TestApp) {
    let nid = "5512345678901";
    let r = t
        .post("/v1/auth/register", registration(1, nid, TEST_DOB))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert_eq!(users(&t).await, 1);
    // The same registration again answers as the first did.
    let r = t
        .post("/v1/auth/register", registration(1, nid, TEST_DOB))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    // Another person (phone, e-mail) with the same NID: refused, nothing made.
    let r = t
        .post("/v1/auth/register", registration(2, nid, TEST_DOB))
        .await;
    r.assert_problem(409, "nid-taken");
    assert!(!r.body["detail"].as_str().unwrap().contains(nid));
    assert_eq!(users(&t).await, 1);
    // The account has the NID.
    let token = t.login("01710000001").await;
    let me = t.get_as("/v1/me", &token).await;
    assert_eq!(me.body["nid"], nid, "{}", me.body);
}

/// Twelve people registering one NID at the same moment: one account, the
/// rest refused as the NID's, never a 5xx (the unique index decides, not a
/// read before the write).
async fn one_nid_registered_by_many_at_once_makes_one_account(t: TestApp) {
    let nid = "5512345678902";
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(12));
    let answers = futures_util::future::join_all((10..22).map(|n| {
        let barrier = barrier.clone();
        let t = &t;
        async move {
            barrier.wait().await;
            // Twelve password hashes at once may be more than the server takes
            // in flight: it sheds some with 503 and Retry-After, and a client
            // asks again, as a real one does.
            for _ in 0..60 {
                let reply = t
                    .post("/v1/auth/register", registration(n, nid, TEST_DOB))
                    .await;
                if reply.status != StatusCode::SERVICE_UNAVAILABLE {
                    return reply;
                }
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
            panic!("registration {n} still overloaded after 30 s");
        }
    }))
    .await;
    let accepted = answers
        .iter()
        .filter(|r| r.status == StatusCode::ACCEPTED)
        .count();
    assert_eq!(
        accepted,
        1,
        "{:?}",
        answers.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    for r in answers.iter().filter(|r| r.status != StatusCode::ACCEPTED) {
        r.assert_problem(409, "nid-taken");
    }
    assert_eq!(users(&t).await, 1);
}

async fn the_registry_refusals_create_nothing(t: TestApp) {
    let cases = [
        ("0001234567", TEST_DOB, "not_found"),
        ("5512345678901", "1990-01-02", "dob_mismatch"),
        // A named test identity: Rahim Uddin, born 1990-01-15.
        ("1990123456", "1990-01-15", "name_mismatch"),
        ("1990123456", TEST_DOB, "dob_mismatch"),
    ];
    for (n, (nid, dob, reason)) in cases.into_iter().enumerate() {
        let r = t
            .post("/v1/auth/register", registration(n as u32, nid, dob))
            .await;
        r.assert_problem(422, "nid-not-verified");
        assert_eq!(r.body["reason"], reason, "{nid}: {}", r.body);
        assert_eq!(r.body["field"], "nid");
    }
    assert_eq!(users(&t).await, 0);
    // The named identity with its own name and date of birth is verified.
    let mut body = registration(9, "1990123456", "1990-01-15");
    body["name"] = json!("Rahim Uddin");
    let r = t.post("/v1/auth/register", body).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert_eq!(users(&t).await, 1);
}

fn assert_registry_down(r: &Reply) {
    r.assert_problem(503, "unavailable");
    assert!(r.headers.contains_key("retry-after"), "{}", r.body);
    assert!(r.body["detail"].as_str().unwrap().contains("NID registry"));
}

/// A registry that answers 503 (NIDs starting 111), one that answers too
/// slowly (222…, past the client's timeout) and one that is not there at all:
/// each is a 503 with Retry-After, and no account is made.
async fn a_registry_that_is_down_answers_503_and_creates_nothing(db: TestDb) {
    let t = TestApp::start_plugged(
        db,
        test_config(),
        ticketctl::server::Limits::unlimited(),
        |app| app,
    )
    .await;
    let r = t
        .post("/v1/auth/register", registration(1, "1111234567", TEST_DOB))
        .await;
    assert_registry_down(&r);
    assert_eq!(users(&t).await, 0);
    let db = t.shutdown().await;

    // A slow registry: the client gives up after its timeout, not the registry's delay.
    let t = TestApp::start_plugged(
        db,
        test_config(),
        ticketctl::server::Limits::unlimited(),
        |app| app,
    )
    .await;
    let slow = HttpNidRegistry::embedded(Duration::from_millis(300))
        .await
        .unwrap();
    let app = t.app.clone().with_nid_registry(std::sync::Arc::new(slow));
    let started = Instant::now();
    let refused = app
        .register(ticketctl::app::identity::Registration {
            name: "Slow".into(),
            phone: "01710000002".into(),
            email: "slow@example.com".into(),
            password: crate::common::server::PASSWORD.into(),
            role: Role::Passenger,
            nid: Some(ticketctl::app::identity::NidInput {
                nid: "2221234567".into(),
                date_of_birth: TEST_DOB.into(),
            }),
        })
        .await;
    assert!(
        matches!(refused, Err(ticketctl::app::AppError::Unavailable { .. })),
        "{refused:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(users(&t).await, 0);
    let db = t.shutdown().await;

    // No registry listening at all.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let gone = HttpNidRegistry::new(
        &format!("http://127.0.0.1:{port}"),
        "some-key",
        Duration::from_secs(1),
    )
    .unwrap();
    let t = TestApp::start_plugged(
        db,
        test_config(),
        ticketctl::server::Limits::unlimited(),
        move |app| app.with_nid_registry(std::sync::Arc::new(gone)),
    )
    .await;
    let r = t
        .post(
            "/v1/auth/register",
            registration(3, "5512345678901", TEST_DOB),
        )
        .await;
    assert_registry_down(&r);
    assert_eq!(users(&t).await, 0);
    // Adding an NID to an account is refused the same way.
    t.app
        .register(ticketctl::app::identity::Registration {
            name: "No NID".into(),
            phone: "01710000004".into(),
            email: "nonid@example.com".into(),
            password: crate::common::server::PASSWORD.into(),
            role: Role::Passenger,
            nid: None,
        })
        .await
        .unwrap();
    let token = t.login("01710000004").await;
    let r = t
        .post_as(
            "/v1/me/nid",
            &token,
            json!({ "nid": "5512345678904", "date_of_birth": TEST_DOB }),
        )
        .await;
    assert_registry_down(&r);
    let me = t.get_as("/v1/me", &token).await;
    assert!(me.body.get("nid").is_none(), "{}", me.body);
}

/// NIDs with letters, of a wrong length or with control characters, and
/// absurd dates of birth: 422 naming the field, and nothing created or sold.
async fn bad_nids_and_dates_are_refused_and_change_nothing(t: TestApp) {
    let trip = tiny_trip(&t.app, 8).await;
    let bad_nids = [
        "12345abcde",
        "123456789",
        "12345678901",
        "123456789012345678",
        "12345\u{0}7890",
        "1234567890\n",
        "\u{202e}1234567890",
        "１２３４５６７８９０",
        "",
    ];
    for (n, nid) in bad_nids.iter().enumerate() {
        let r = t
            .post("/v1/auth/register", registration(n as u32, nid, TEST_DOB))
            .await;
        assert_eq!(r.status.as_u16(), 422, "{nid:?}: {}", r.body);
        assert_eq!(r.body["field"], "nid", "{nid:?}: {}", r.body);
    }
    let bad_dates = [
        "2999-01-01",
        "1800-01-01",
        "1990-02-30",
        "1990-1-1",
        "01/01/1990",
        "1990-01-01T00:00:00Z",
        "",
    ];
    for (n, dob) in bad_dates.iter().enumerate() {
        let r = t
            .post(
                "/v1/auth/register",
                registration(100 + n as u32, "5512345678901", dob),
            )
            .await;
        assert_eq!(r.status.as_u16(), 422, "{dob:?}: {}", r.body);
        assert_eq!(r.body["field"], "date_of_birth", "{dob:?}: {}", r.body);
    }
    // Tomorrow (in Dhaka) is in the future too.
    let tomorrow = ticketctl::domain::ServiceDate::today_at(t.app.now())
        .add_days(1)
        .to_string();
    let r = t
        .post(
            "/v1/auth/register",
            registration(200, "5512345678901", &tomorrow),
        )
        .await;
    r.assert_problem(422, "invalid-field");
    // Missing NID fields are a bad body.
    let mut body = registration(201, "5512345678901", TEST_DOB);
    body.as_object_mut().unwrap().remove("nid");
    t.post("/v1/auth/register", body)
        .await
        .assert_problem(422, "invalid-body");
    assert_eq!(users(&t).await, 0);

    // At a counter: the buyer's NID is required and checked the same way.
    let clerk = t.user_token("01799000001", Role::Clerk).await;
    let h = t
        .post_as(
            "/v1/counter/holds",
            &clerk,
            json!({ "trip_id": trip, "from": "DHK", "to": "CTG", "class": "S_CHAIR", "count": 1 }),
        )
        .await;
    assert_eq!(h.status, StatusCode::CREATED, "{}", h.body);
    let sell = |nid: Value, key: &str| {
        let mut body = json!({ "hold_id": h.body["hold_id"], "passengers": [{ "name": "Rahim" }], "phone": "01711111111" });
        if !nid.is_null() {
            body["nid"] = nid;
        }
        t.client
            .post(t.url("/v1/counter/orders"))
            .bearer_auth(&clerk)
            .header("idempotency-key", key)
            .json(&body)
            .send()
    };
    for (i, nid) in bad_nids.iter().enumerate() {
        let r = Reply::from_response(sell(json!(nid), &format!("bad-{i}")).await.unwrap()).await;
        r.assert_problem(422, "invalid-field");
        assert_eq!(r.body["field"], "nid", "{nid:?}: {}", r.body);
    }
    let r = Reply::from_response(sell(Value::Null, "no-nid").await.unwrap()).await;
    r.assert_problem(422, "invalid-body");
    let sold = t.app.raw_store().ledger().await.unwrap().confirmed_orders;
    assert_eq!(sold, 0, "nothing was sold");
}

on_both_backends!(
    two_accounts_cannot_share_one_nid,
    one_nid_registered_by_many_at_once_makes_one_account,
    the_registry_refusals_create_nothing,
    bad_nids_and_dates_are_refused_and_change_nothing,
);
mod registry_down {
    on_both_databases!(a_registry_that_is_down_answers_503_and_creates_nothing);
    use super::a_registry_that_is_down_answers_503_and_creates_nothing;
}
