//! Every time rule at its boundary, through the HTTP API, on a manual clock:
//! refund tiers, the sale window, hold expiry by the background sweeper,
//! login lockout and waiting-room admission. Exact values, fixed dates, no
//! sleeps: the clock is set to the instant under test, never waited for.

use crate::common::server::{TEST_DOB, fresh_nid};
use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::db::TestDb;
use crate::common::server::{
    PASSWORD, Reply, TestApp, dhaka_instant, mint_token_at, quick_user, test_config, tiny_trip,
};
use ticketctl::app::AppConfig;
use ticketctl::app::clock::ManualClock;
use ticketctl::domain::{HoldId, HoldStatus, OrderId, Role, ServiceDate, TripId, UserId};

/// The test trip's date: a fixed Tuesday, far from the real calendar.
fn trip_date() -> ServiceDate {
    ServiceDate::parse("2030-03-12").unwrap()
}

/// Train 9001 (`tiny_trip`) leaves Dhaka at 23:00 Dhaka time.
fn departure() -> DateTime<Utc> {
    dhaka_instant(trip_date(), "23:00")
}

/// A server whose clock stands at `at` and moves only when the test moves it.
async fn start_at(db: TestDb, at: DateTime<Utc>, config: AppConfig) -> TestApp {
    TestApp::start_manual(db, at, config).await
}

/// A server at 10:00 the day before the trip, with the trip (40 + 8 seats) scheduled.
async fn start_with_trip(db: TestDb, config: AppConfig) -> (TestApp, TripId) {
    let t = start_at(db, dhaka_instant(trip_date().add_days(-1), "10:00"), config).await;
    let trip = tiny_trip(&t.app, 40).await;
    (t, trip)
}

fn clock(t: &TestApp) -> &ManualClock {
    t.manual_clock()
}

/// A fresh access token issued at the app's current time.
fn token_now(t: &TestApp, user_id: UserId) -> String {
    mint_token_at(t.app.now(), user_id, Role::Passenger, 600)
}

async fn hold(t: &TestApp, token: &str, trip: TripId, body: Value) -> Reply {
    let mut body = body;
    body["trip_id"] = json!(trip);
    t.post_as("/v1/holds", token, body).await
}

fn two_seats_dhaka_chattogram() -> Value {
    json!({ "from": "DHK", "to": "CTG", "class": "S_CHAIR", "count": 2 })
}

/// Buys two S_CHAIR seats Dhaka → Chattogram (2 × Tk 450) for a new user; returns
/// the user id and the confirmed order's id.
async fn buy_two_seats(t: &TestApp, trip: TripId, n: u32) -> (UserId, OrderId) {
    let (user_id, token) = quick_user(&t.app, n).await;
    let held = hold(t, &token, trip, two_seats_dhaka_chattogram()).await;
    assert_eq!(held.status, StatusCode::CREATED, "{}", held.body);
    let card = crate::common::booking_flow::card(t, &token, "4242 4242 4242 4242").await;
    let body = json!({
        "hold_id": held.body["hold_id"],
        "passengers": [{ "name": "Karim Uddin" }, { "name": "Salma Begum" }],
        "payment_token": card,
    });
    let req = t
        .client
        .post(t.url("/v1/orders"))
        .bearer_auth(&token)
        .header("idempotency-key", format!("time-rules-{n}"))
        .json(&body);
    let placed = Reply::from_response(req.send().await.unwrap()).await;
    assert_eq!(placed.status, StatusCode::CREATED, "{}", placed.body);
    assert_eq!(placed.body["status"], "confirmed");
    assert_eq!(placed.body["amount"], 900);
    (user_id, OrderId(placed.body["order_id"].as_i64().unwrap()))
}

/// What the card gateway says it has refunded for an order.
async fn refunded_at_gateway(t: &TestApp, order_id: OrderId) -> i64 {
    t.app
        .gateway
        .lookup(&format!("order-{order_id}"))
        .await
        .unwrap()
        .expect("the order was charged")
        .refunded
}

/// The refund tiers (default `48:0,24:25,12:50`, Tk 30 per ticket) at and one
/// second either side of each boundary, on a Tk 900 order of two tickets: the
/// exact amount in the API's answer, in the order and at the gateway.
async fn refunds_follow_the_tiers_to_the_second(db: TestDb) {
    let (t, trip) = start_with_trip(db, test_config()).await;
    let bought_at = dhaka_instant(trip_date().add_days(-3), "10:00");
    // (time before departure, status after cancelling, refund in taka)
    let cases: [(Duration, &str, i64); 8] = [
        (Duration::hours(49), "refunded", 900 - 60),
        (Duration::hours(48), "refunded", 900 - 60),
        (
            Duration::hours(48) - Duration::seconds(1),
            "refunded",
            900 - 225 - 60,
        ),
        (Duration::hours(24), "refunded", 900 - 225 - 60),
        (
            Duration::hours(24) - Duration::seconds(1),
            "refunded",
            900 - 450 - 60,
        ),
        (Duration::hours(12), "refunded", 900 - 450 - 60),
        (Duration::hours(12) - Duration::seconds(1), "cancelled", 0),
        (Duration::seconds(1), "cancelled", 0),
    ];
    for (n, (before, status, refund)) in cases.into_iter().enumerate() {
        clock(&t).set(bought_at);
        let (user, order) = buy_two_seats(&t, trip, n as u32 + 1).await;
        clock(&t).set(departure() - before);
        let r = t
            .post_as(
                &format!("/v1/orders/{order}/cancel"),
                &token_now(&t, user),
                json!({}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{before} before: {}", r.body);
        assert_eq!(r.body["status"], status, "{before} before: {}", r.body);
        assert_eq!(r.body["refunded"], refund, "{before} before departure");
        assert_eq!(refunded_at_gateway(&t, order).await, refund, "{before}");
        let again = t
            .get_as(&format!("/v1/orders/{order}"), &token_now(&t, user))
            .await;
        assert_eq!(again.body["refunded"], refund, "stored: {}", again.body);
    }
    // At the departure instant a ticket can no longer be returned, and nothing changes.
    clock(&t).set(bought_at);
    let (user, order) = buy_two_seats(&t, trip, 99).await;
    clock(&t).set(departure());
    let r = t
        .post_as(
            &format!("/v1/orders/{order}/cancel"),
            &token_now(&t, user),
            json!({}),
        )
        .await;
    r.assert_problem(409, "conflict");
    let after = t
        .get_as(&format!("/v1/orders/{order}"), &token_now(&t, user))
        .await;
    assert_eq!(after.body["status"], "confirmed");
    assert_eq!(after.body["refunded"], 0);
    assert_eq!(refunded_at_gateway(&t, order).await, 0);
}

/// The sale opens ten days ahead at 08:00 Dhaka time and closes when the train
/// leaves the boarding station: holds are refused one second before opening
/// and at departure, and accepted at the opening instant and a second before
/// departure. A refused hold takes no seat.
async fn the_sale_window_opens_and_closes_to_the_second(db: TestDb) {
    let (t, trip) = start_with_trip(db, test_config()).await;
    let (user, _) = quick_user(&t.app, 1).await;
    let opens = dhaka_instant(trip_date().add_days(-10), "08:00");
    let one_seat = json!({ "from": "DHK", "to": "CTG", "class": "S_CHAIR", "count": 1 });

    clock(&t).set(opens - Duration::seconds(1));
    let early = hold(&t, &token_now(&t, user), trip, one_seat.clone()).await;
    early.assert_problem(409, "conflict");
    assert!(
        early.body["detail"]
            .as_str()
            .unwrap()
            .contains("opens at 2030-03-02T08:00:00+06:00"),
        "{}",
        early.body
    );
    clock(&t).set(opens);
    let first = hold(&t, &token_now(&t, user), trip, one_seat.clone()).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);

    clock(&t).set(departure() - Duration::seconds(1));
    let last = hold(&t, &token_now(&t, user), trip, one_seat.clone()).await;
    assert_eq!(last.status, StatusCode::CREATED, "{}", last.body);
    clock(&t).set(departure());
    let late = hold(&t, &token_now(&t, user), trip, one_seat.clone()).await;
    late.assert_problem(409, "conflict");
    assert!(
        late.body["detail"]
            .as_str()
            .unwrap()
            .contains("already left"),
        "{}",
        late.body
    );
    // From Biman Bandar (boards 23:25) the same train is still on sale at 23:00.
    let from_airport = json!({ "from": "APT", "to": "CTG", "class": "S_CHAIR", "count": 1 });
    let r = hold(&t, &token_now(&t, user), trip, from_airport).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    // Exactly three holds exist: the refused ones left nothing behind.
    assert_eq!(seats_taken(&t, trip, "APT", "CTG").await, 3);
}

/// Seats not free for a journey, from the public seat map.
async fn seats_taken(t: &TestApp, trip: TripId, from: &str, to: &str) -> usize {
    let map = t
        .get(&format!("/v1/trips/{trip}/seats?from={from}&to={to}"))
        .await;
    assert_eq!(map.status, StatusCode::OK, "{}", map.body);
    map.body["coaches"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["seats"].as_array().unwrap())
        .filter(|s| s["free"] == false)
        .count()
}

/// A hold lives exactly its TTL (10 minutes): one second before, the background
/// sweeper leaves it alone; at the TTL it is still active in the database until
/// the sweeper runs, which expires it, and its very seats can be held again.
async fn the_background_sweeper_expires_a_hold_at_its_ttl(db: TestDb) {
    let (t, trip) = start_with_trip(db, test_config()).await;
    let t0 = t.app.now();
    let (owner, _) = quick_user(&t.app, 1).await;
    let held = hold(
        &t,
        &token_now(&t, owner),
        trip,
        json!({ "from": "DHK", "to": "CTG", "class": "S_CHAIR", "seats": ["KA-1", "KA-2"] }),
    )
    .await;
    assert_eq!(held.status, StatusCode::CREATED, "{}", held.body);
    let hold_id = HoldId(held.body["hold_id"].as_i64().unwrap());
    let stored = |t: &TestApp| {
        let store = t.app.raw_store().clone();
        async move { store.hold(hold_id).await.unwrap().unwrap().status }
    };

    clock(&t).set(t0 + Duration::minutes(10) - Duration::seconds(1));
    let report = t.app.sweep_now().await.unwrap();
    assert_eq!(report.holds_expired, 0);
    assert_eq!(stored(&t).await, HoldStatus::Active);
    assert_eq!(seats_taken(&t, trip, "DHK", "CTG").await, 2);
    let (rival, _) = quick_user(&t.app, 2).await;
    let same_seats =
        json!({ "from": "DHK", "to": "CTG", "class": "S_CHAIR", "seats": ["KA-1", "KA-2"] });
    let refused = hold(&t, &token_now(&t, rival), trip, same_seats.clone()).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);

    clock(&t).set(t0 + Duration::minutes(10));
    assert_eq!(
        stored(&t).await,
        HoldStatus::Active,
        "only the sweeper ends a hold"
    );
    let report = t.app.sweep_now().await.unwrap();
    assert_eq!(report.holds_expired, 1);
    assert_eq!(stored(&t).await, HoldStatus::Expired);
    assert_eq!(seats_taken(&t, trip, "DHK", "CTG").await, 0);
    let taken_over = hold(&t, &token_now(&t, rival), trip, same_seats).await;
    assert_eq!(
        taken_over.status,
        StatusCode::CREATED,
        "{}",
        taken_over.body
    );
    t.app.settle().await.unwrap();
    let report = t.app.check_invariants(Some(trip)).await.unwrap();
    assert!(report.ok(), "{report:#?}");
}

async fn login(t: &TestApp, password: &str) -> Reply {
    t.post(
        "/v1/auth/login",
        json!({ "login": "01712000000", "password": password }),
    )
    .await
}

/// Five wrong passwords lock the account for exactly 15 minutes: the right
/// password is refused with Retry-After counting down to the second, until the
/// lock's end, when it is accepted.
async fn a_lockout_ends_exactly_when_it_says(db: TestDb) {
    let t0 = dhaka_instant(trip_date(), "09:00");
    let t = start_at(db, t0, test_config()).await;
    let r = t.post("/v1/auth/register", json!({ "name": "Karim Uddin", "phone": "01712000000", "email": "karim@example.com", "password": PASSWORD, "nid": fresh_nid(), "date_of_birth": TEST_DOB })).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    for _ in 1..=4 {
        login(&t, "wrong password")
            .await
            .assert_problem(401, "unauthorized");
    }
    let fifth = login(&t, "wrong password").await;
    fifth.assert_problem(429, "login-locked");
    assert_eq!(fifth.headers["retry-after"], "900");

    clock(&t).set(t0 + Duration::minutes(15) - Duration::seconds(1));
    let still = login(&t, PASSWORD).await;
    still.assert_problem(429, "login-locked");
    assert_eq!(still.headers["retry-after"], "1");

    clock(&t).set(t0 + Duration::minutes(15));
    let open = login(&t, PASSWORD).await;
    assert_eq!(open.status, StatusCode::OK, "{}", open.body);
    // The token it hands out is good on the same clock.
    let me = t
        .get_as("/v1/me", open.body["access_token"].as_str().unwrap())
        .await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
}

/// An access token lives `access_token_ttl` (15 minutes) plus 5 seconds of
/// leeway on the app's clock, whatever the system clock says.
async fn an_access_token_expires_on_the_app_clock(db: TestDb) {
    let t0 = dhaka_instant(trip_date(), "09:00");
    let t = start_at(db, t0, test_config()).await;
    let (user, _) = quick_user(&t.app, 1).await;
    let token_15min = mint_token_at(t0, user, Role::Passenger, 900);
    clock(&t).set(t0 + Duration::seconds(900 + 5));
    let ok = t.get_as("/v1/me", &token_15min).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    clock(&t).set(t0 + Duration::seconds(900 + 6));
    let late = t.get_as("/v1/me", &token_15min).await;
    late.assert_problem(401, "unauthorized");
    assert!(late.body["detail"].as_str().unwrap().contains("expired"));
}

async fn admin(t: &TestApp) -> String {
    let admin = t
        .app
        .register(ticketctl::app::identity::Registration {
            name: "Admin".into(),
            phone: "01799000000".into(),
            email: "admin@example.com".into(),
            password: PASSWORD.into(),
            role: Role::Admin,
            nid: None,
        })
        .await
        .expect("register the admin");
    mint_token_at(t.app.now(), admin.id, Role::Admin, 600)
}

/// Creates the queued sale "eid" on `trip`, open from now.
async fn open_queued_sale(t: &TestApp, trip: TripId, idle_secs: i64) {
    let body = json!({ "id": "eid", "opens_at": t.app.now(), "trip_ids": [trip], "rate_per_sec": 100.0, "max_active": 10, "idle_secs": idle_secs });
    let r = t.post_as("/v1/admin/queue", &admin(t).await, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}

async fn admitted(t: &TestApp, user: UserId) -> String {
    let r = t
        .post_as("/v1/queue/eid/join", &token_now(t, user), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["state"], "admitted", "{}", r.body);
    r.body["token"].as_str().unwrap().to_owned()
}

async fn hold_admitted(t: &TestApp, trip: TripId, user: UserId, admission: &str) -> Reply {
    let req = t
        .client
        .post(t.url("/v1/holds"))
        .bearer_auth(token_now(t, user))
        .header("admission-token", admission)
        .json(
            &json!({ "trip_id": trip, "from": "DHK", "to": "CTG", "class": "S_CHAIR", "count": 1 }),
        );
    Reply::from_response(req.send().await.unwrap()).await
}

/// An admitted shopper idle for `idle_secs` (60) loses the slot: at 59 seconds
/// the admission stands, at 60 the token is refused; a shopper who used the
/// token at 59 seconds keeps it for another full minute.
async fn an_idle_admission_lapses_at_its_idle_limit(db: TestDb) {
    let (t, trip) = start_with_trip(db, test_config()).await;
    let t0 = t.app.now();
    open_queued_sale(&t, trip, 60).await;
    let (idle, _) = quick_user(&t.app, 1).await;
    let (busy, _) = quick_user(&t.app, 2).await;
    let idle_token = admitted(&t, idle).await;
    let busy_token = admitted(&t, busy).await;

    clock(&t).set(t0 + Duration::seconds(59));
    let status = t.get_as("/v1/queue/eid/status", &token_now(&t, idle)).await;
    assert_eq!(status.body["state"], "admitted", "{}", status.body);
    let r = hold_admitted(&t, trip, busy, &busy_token).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);

    clock(&t).set(t0 + Duration::seconds(60));
    hold_admitted(&t, trip, idle, &idle_token)
        .await
        .assert_problem(403, "forbidden");
    clock(&t).set(t0 + Duration::seconds(59 + 59));
    let r = hold_admitted(&t, trip, busy, &busy_token).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(seats_taken(&t, trip, "DHK", "CTG").await, 2);
}

/// However active its holder, an admission token dies 30 minutes after it was
/// issued: accepted one second before, refused at the instant.
async fn an_admission_token_expires_after_thirty_minutes(db: TestDb) {
    let (t, trip) = start_with_trip(db, test_config()).await;
    let t0 = t.app.now();
    open_queued_sale(&t, trip, 3600).await;
    let (user, _) = quick_user(&t.app, 1).await;
    let token = admitted(&t, user).await;

    clock(&t).set(t0 + Duration::minutes(30) - Duration::seconds(1));
    let r = hold_admitted(&t, trip, user, &token).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    clock(&t).set(t0 + Duration::minutes(30));
    let expired = hold_admitted(&t, trip, user, &token).await;
    expired.assert_problem(403, "forbidden");
    assert!(
        expired.body["detail"].as_str().unwrap().contains("expired"),
        "{}",
        expired.body
    );
    assert_eq!(seats_taken(&t, trip, "DHK", "CTG").await, 1);
}

on_both_databases!(
    refunds_follow_the_tiers_to_the_second,
    the_sale_window_opens_and_closes_to_the_second,
    the_background_sweeper_expires_a_hold_at_its_ttl,
    a_lockout_ends_exactly_when_it_says,
    an_access_token_expires_on_the_app_clock,
    an_idle_admission_lapses_at_its_idle_limit,
    an_admission_token_expires_after_thirty_minutes,
);
