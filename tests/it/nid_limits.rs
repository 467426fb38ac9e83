//! The seat caps per NID across channels (issue 11), on both backends: four
//! seats per NID per trip whether they were bought online (the account's NID)
//! or at a counter (the buyer's NID the clerk types), in either order and
//! when the two arrive together; the cap per travel day across trips;
//! accounts without an NID; and NIDs flagged by repeated refusals or by a
//! clerk, listed and cleared by an admin.

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;
use tokio::sync::Barrier;
use tokio::task::JoinSet;

use crate::common::booking_flow::card;
use crate::common::db::{TestDb, scalar};
use crate::common::server::{
    PASSWORD, Reply, TEST_DOB, TestApp, nid_for_phone, test_config, tiny_trip,
};
use ticketctl::app::AppConfig;
use ticketctl::app::identity::Registration;
use ticketctl::domain::{Role, ServiceDate, TripId};

const PASSENGER: &str = "01711000001";
const CLERK: &str = "01799000001";
const ADMIN: &str = "01799000002";

fn hold_body(trip: TripId, count: u32) -> Value {
    json!({ "trip_id": trip, "from": "DHK", "to": "CTG", "class": "S_CHAIR", "count": count })
}

async fn post_with_key(t: &TestApp, path: &str, token: &str, key: &str, body: Value) -> Reply {
    let req = t
        .client
        .post(t.url(path))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .json(&body);
    Reply::from_response(req.send().await.expect("request reaches the server")).await
}

/// Holds `count` seats online and pays for them; the order's reply.
async fn buy_online(t: &TestApp, token: &str, trip: TripId, count: u32, key: &str) -> Reply {
    let h = t.post_as("/v1/holds", token, hold_body(trip, count)).await;
    assert_eq!(h.status, StatusCode::CREATED, "{}", h.body);
    let card = card(t, token, "4242424242424242").await;
    let names: Vec<Value> = (0..count)
        .map(|i| json!({ "name": format!("Traveller {i}") }))
        .collect();
    post_with_key(
        t,
        "/v1/orders",
        token,
        key,
        json!({ "hold_id": h.body["hold_id"], "passengers": names, "payment_token": card }),
    )
    .await
}

/// A clerk's hold of `count` seats (any free ones).
async fn counter_hold(t: &TestApp, clerk: &str, trip: TripId, count: u32) -> i64 {
    let h = t
        .post_as("/v1/counter/holds", clerk, hold_body(trip, count))
        .await;
    assert_eq!(h.status, StatusCode::CREATED, "{}", h.body);
    h.body["hold_id"].as_i64().unwrap()
}

/// Sells a counter hold of `count` seats for cash to the buyer with `nid`.
async fn counter_sell(
    t: &TestApp,
    clerk: &str,
    hold: i64,
    count: u32,
    nid: &str,
    key: &str,
) -> Reply {
    let names: Vec<Value> = (0..count)
        .map(|i| json!({ "name": format!("Buyer {i}") }))
        .collect();
    post_with_key(
        t,
        "/v1/counter/orders",
        clerk,
        key,
        json!({ "hold_id": hold, "passengers": names, "phone": "01811000000", "nid": nid }),
    )
    .await
}

/// Seats in live holds and live orders that count against `nid` (the stores'
/// own record: each hold names the NID it counts for).
async fn seats_of_nid(db: &TestDb, nid: &str) -> i64 {
    scalar(
        db,
        &format!(
            "SELECT COUNT(*) FROM hold_seats hs JOIN holds h ON h.id = hs.hold_id \
             LEFT JOIN orders o ON o.hold_id = h.id \
             WHERE h.nid = '{nid}' AND (h.status = 'active' \
               OR (h.status = 'ordered' AND o.status IN ('pending','reserved','paid','confirmed')))"
        ),
    )
    .await
}

fn assert_nid_limit(r: &Reply, limit: &str, already: i64) {
    r.assert_problem(409, "nid-limit");
    assert_eq!(r.body["limit"], limit, "{}", r.body);
    assert_eq!(r.body["already"], already, "{}", r.body);
    let detail = r.body["detail"].as_str().unwrap();
    assert!(
        !detail.contains(&nid_for_phone(PASSENGER)),
        "no NID in {detail}"
    );
}

async fn invariants_hold(t: &TestApp, trip: TripId) {
    t.app.settle().await.unwrap();
    let report = t.app.check_invariants(Some(trip)).await.unwrap();
    assert!(report.ok(), "invariants broken: {report:#?}");
}

/// Four seats online, then the same NID at a counter is refused; another NID is not.
async fn four_online_then_the_counter_refuses_the_same_nid(t: TestApp) {
    let trip = tiny_trip(&t.app, 20).await;
    let passenger = t.user_token(PASSENGER, Role::Passenger).await;
    let clerk = t.user_token(CLERK, Role::Clerk).await;
    let nid = nid_for_phone(PASSENGER);
    let r = buy_online(&t, &passenger, trip, 4, "online-4").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(seats_of_nid(&t.db, &nid).await, 4);

    let hold = counter_hold(&t, &clerk, trip, 1).await;
    let orders_before = scalar(&t.db, "SELECT COUNT(*) FROM orders").await;
    let r = counter_sell(&t, &clerk, hold, 1, &nid, "counter-5th").await;
    assert_nid_limit(&r, "seats_per_nid_per_trip", 4);
    assert_eq!(
        scalar(&t.db, "SELECT COUNT(*) FROM orders").await,
        orders_before
    );
    assert_eq!(seats_of_nid(&t.db, &nid).await, 4, "nothing counted");
    // The same hold sells to another NID.
    let r = counter_sell(&t, &clerk, hold, 1, "5519999999999", "counter-other").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(
        scalar(
            &t.db,
            "SELECT COUNT(*) FROM counter_sales WHERE nid = '5519999999999'"
        )
        .await,
        1,
        "the sale records the buyer's NID"
    );
    invariants_hold(&t, trip).await;
}

/// Three seats at a counter first, then the same NID online may take one more, not two.
async fn counter_first_then_online_gets_only_what_is_left(t: TestApp) {
    let trip = tiny_trip(&t.app, 20).await;
    let passenger = t.user_token(PASSENGER, Role::Passenger).await;
    let clerk = t.user_token(CLERK, Role::Clerk).await;
    let nid = nid_for_phone(PASSENGER);
    let hold = counter_hold(&t, &clerk, trip, 3).await;
    let r = counter_sell(&t, &clerk, hold, 3, &nid, "counter-3").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);

    let r = t.post_as("/v1/holds", &passenger, hold_body(trip, 2)).await;
    assert_nid_limit(&r, "seats_per_nid_per_trip", 3);
    let r = buy_online(&t, &passenger, trip, 1, "online-1").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(seats_of_nid(&t.db, &nid).await, 4);
    // A cancelled sale gives its seats back to the NID's count.
    let order = r.body["order_id"].as_i64().unwrap();
    let c = t
        .post_as(&format!("/v1/orders/{order}/cancel"), &passenger, json!({}))
        .await;
    assert_eq!(c.status, StatusCode::OK, "{}", c.body);
    assert_eq!(seats_of_nid(&t.db, &nid).await, 3);
    let h = t.post_as("/v1/holds", &passenger, hold_body(trip, 1)).await;
    assert_eq!(h.status, StatusCode::CREATED, "{}", h.body);
    invariants_hold(&t, trip).await;
}

/// Online holds and counter orders for one NID, all at once: exactly four seats pass.
async fn online_and_counter_sales_for_one_nid_at_once_never_pass_the_cap(t: TestApp) {
    const EACH: usize = 8;
    let t = Arc::new(t);
    let trip = tiny_trip(&t.app, 40).await;
    let passenger = t.user_token(PASSENGER, Role::Passenger).await;
    let clerk = t.user_token(CLERK, Role::Clerk).await;
    let nid = nid_for_phone(PASSENGER);
    let mut holds = Vec::new();
    for _ in 0..EACH {
        holds.push(counter_hold(&t, &clerk, trip, 1).await);
    }
    let barrier = Arc::new(Barrier::new(2 * EACH));
    let mut tasks = JoinSet::new();
    for i in 0..2 * EACH {
        let (t, barrier, passenger, clerk, nid) = (
            t.clone(),
            barrier.clone(),
            passenger.clone(),
            clerk.clone(),
            nid.clone(),
        );
        let hold = holds.get(i / 2).copied();
        tasks.spawn(async move {
            barrier.wait().await;
            if i % 2 == 0 {
                t.post_as("/v1/holds", &passenger, hold_body(trip, 1)).await
            } else {
                counter_sell(&t, &clerk, hold.unwrap(), 1, &nid, &format!("together-{i}")).await
            }
        });
    }
    let mut replies = Vec::new();
    while let Some(r) = tasks.join_next().await {
        replies.push(r.unwrap());
    }
    let passed = replies
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count();
    let statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
    assert_eq!(passed, 4, "exactly the cap passes: {statuses:?}");
    for r in replies.iter().filter(|r| r.status != StatusCode::CREATED) {
        r.assert_problem(409, "nid-limit");
    }
    assert_eq!(seats_of_nid(&t.db, &nid).await, 4, "the database agrees");
    invariants_hold(&t, trip).await;
}

/// The same race straight at the store, without HTTP spreading the requests
/// out: 24 counter orders and 24 online holds for one NID at once.
async fn the_store_lets_exactly_the_cap_through_when_both_channels_race(t: TestApp) {
    use ticketctl::domain::{Nid, NidCaps};
    use ticketctl::store::{CounterBuyer, HoldCaps, NewHold, NewOrder, PassengerInput};
    const EACH: usize = 24;
    let trip = tiny_trip(&t.app, 60).await;
    t.user_token(PASSENGER, Role::Passenger).await;
    t.user_token(CLERK, Role::Clerk).await;
    let store = t.app.raw_store().clone();
    let passenger = store
        .user_by_login("+8801711000001")
        .await
        .unwrap()
        .unwrap();
    let clerk = store
        .user_by_login("+8801799000001")
        .await
        .unwrap()
        .unwrap();
    let seats = store.seats(trip).await.unwrap();
    let now = t.app.now();
    let hold_of = |user, seat| NewHold {
        trip_id: trip,
        user_id: user,
        from_stop: 0,
        to_stop: 3,
        mask: ticketctl::domain::Journey::new(0, 3, 4).unwrap().mask(),
        class: ticketctl::domain::SeatClass::ShovanChair,
        fare: 450,
        seat_ids: vec![seat],
        now,
        expires_at: now + chrono::Duration::minutes(10),
        seat_cap: None,
    };
    let mut counter_holds = Vec::new();
    for seat in &seats[..EACH] {
        counter_holds.push(
            store
                .create_hold(&hold_of(clerk.id, seat.id))
                .await
                .unwrap()
                .id,
        );
    }
    let caps = NidCaps::with_day_cap(None);
    let nid = Nid::parse(&nid_for_phone(PASSENGER)).unwrap();
    let barrier = Arc::new(Barrier::new(2 * EACH));
    let mut tasks = JoinSet::new();
    for i in 0..EACH {
        let (store, gate, nid) = (store.clone(), barrier.clone(), nid.clone());
        let order = NewOrder {
            user_id: clerk.id,
            hold_id: counter_holds[i],
            passengers: vec![PassengerInput {
                name: "Rahim".parse().unwrap(),
                nid: None,
            }],
            payment_token: "cash".into(),
            idempotency_key: format!("race-{i}"),
            request_hash: "h".into(),
            now,
        };
        let buyer = CounterBuyer {
            clerk_id: clerk.id,
            phone: "+8801811000000".into(),
            nid,
            caps,
        };
        tasks.spawn(async move {
            gate.wait().await;
            store.create_counter_order(&order, &buyer).await.map(|_| ())
        });
        let (store, gate) = (t.app.raw_store().clone(), barrier.clone());
        let online = hold_of(passenger.id, seats[EACH + i].id);
        let hold_caps = HoldCaps {
            nid: Some(caps),
            ..HoldCaps::default()
        };
        tasks.spawn(async move {
            gate.wait().await;
            store
                .create_hold_capped(&online, &hold_caps)
                .await
                .map(|_| ())
        });
    }
    let mut passed = 0;
    while let Some(done) = tasks.join_next().await {
        match done.unwrap() {
            Ok(()) => passed += 1,
            Err(ticketctl::store::StoreError::NidCapReached(_)) => {}
            Err(e) => panic!("unexpected refusal: {e:?}"),
        }
    }
    assert_eq!(passed, 4, "exactly the cap passes");
    assert_eq!(seats_of_nid(&t.db, nid.as_str()).await, 4);
}

fn day_capped() -> AppConfig {
    AppConfig {
        seats_per_nid_per_day: Some(5),
        ..test_config()
    }
}

/// Train 9002: train 9001 of `tiny_trip` under another number, scheduled on `date`.
async fn second_train_on(t: &TestApp, date: ServiceDate) -> TripId {
    let mut train = t
        .app
        .raw_store()
        .train_by_number(9001)
        .await
        .unwrap()
        .unwrap()
        .train;
    train.number = 9002;
    train.name = "Second Express".into();
    t.app.raw_store().upsert_train(&train).await.unwrap();
    t.app.schedule_trip(9002, date).await.unwrap()
}

/// The day cap counts every trip of one travel date, online and counter together.
async fn the_day_cap_counts_every_trip_of_the_travel_date(t: TestApp) {
    let trip = tiny_trip(&t.app, 20).await;
    let date = t.app.raw_store().trip(trip).await.unwrap().unwrap().date;
    let other = second_train_on(&t, date).await;
    let passenger = t.user_token(PASSENGER, Role::Passenger).await;
    let clerk = t.user_token(CLERK, Role::Clerk).await;
    let nid = nid_for_phone(PASSENGER);

    let r = buy_online(&t, &passenger, trip, 4, "first-train").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let hold = counter_hold(&t, &clerk, other, 2).await;
    let r = counter_sell(&t, &clerk, hold, 2, &nid, "second-train-2").await;
    assert_nid_limit(&r, "seats_per_nid_per_day", 4);
    assert_eq!(r.body["max"], 5);
    let hold = counter_hold(&t, &clerk, other, 1).await;
    let r = counter_sell(&t, &clerk, hold, 1, &nid, "second-train-1").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = t
        .post_as("/v1/holds", &passenger, hold_body(other, 1))
        .await;
    assert_nid_limit(&r, "seats_per_nid_per_day", 5);
    // Another travel date has a cap of its own.
    let later = t.app.schedule_trip(9001, date.add_days(1)).await.unwrap();
    let r = t
        .post_as("/v1/holds", &passenger, hold_body(later, 1))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    invariants_hold(&t, trip).await;
}

/// An account made without an NID (staff, older accounts) cannot buy online
/// until it adds one, verified at the registry; one account per NID.
async fn an_account_without_an_nid_buys_online_once_it_adds_one(t: TestApp) {
    let trip = tiny_trip(&t.app, 20).await;
    t.app
        .register(Registration {
            name: "Old Account".into(),
            phone: "01711000009".into(),
            email: "old@test.ticketctl".into(),
            password: PASSWORD.into(),
            role: Role::Passenger,
            nid: None,
        })
        .await
        .unwrap();
    let token = t.login("01711000009").await;
    let me = t.get_as("/v1/me", &token).await;
    assert!(me.body.get("nid").is_none(), "{}", me.body);
    let holds_before = scalar(&t.db, "SELECT COUNT(*) FROM holds").await;
    t.post_as("/v1/holds", &token, hold_body(trip, 1))
        .await
        .assert_problem(403, "nid-required");
    assert_eq!(
        scalar(&t.db, "SELECT COUNT(*) FROM holds").await,
        holds_before
    );

    let add = |nid: &str, dob: &str| json!({ "nid": nid, "date_of_birth": dob });
    t.post_as("/v1/me/nid", &token, add("12345", TEST_DOB))
        .await
        .assert_problem(422, "invalid-field");
    let r = t
        .post_as("/v1/me/nid", &token, add("5511711000009", "1991-01-01"))
        .await;
    r.assert_problem(422, "nid-not-verified");
    assert_eq!(r.body["reason"], "dob_mismatch");
    // Another account's NID is taken.
    t.user_token(PASSENGER, Role::Passenger).await;
    t.post_as(
        "/v1/me/nid",
        &token,
        add(&nid_for_phone(PASSENGER), TEST_DOB),
    )
    .await
    .assert_problem(409, "nid-taken");
    let r = t
        .post_as("/v1/me/nid", &token, add("5511711000009", TEST_DOB))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["nid"], "5511711000009");
    t.post_as("/v1/me/nid", &token, add("5511711000008", TEST_DOB))
        .await
        .assert_problem(409, "conflict");
    let h = t.post_as("/v1/holds", &token, hold_body(trip, 1)).await;
    assert_eq!(h.status, StatusCode::CREATED, "{}", h.body);
}

fn flag_after_two() -> AppConfig {
    AppConfig {
        nid_flag_after: 2,
        ..test_config()
    }
}

/// Refused twice by its cap, an NID is flagged: it buys nowhere until an admin
/// clears it. A clerk may flag one too.
async fn refusals_and_reports_flag_an_nid_until_an_admin_clears_it(t: TestApp) {
    let trip = tiny_trip(&t.app, 30).await;
    let passenger = t.user_token(PASSENGER, Role::Passenger).await;
    let clerk = t.user_token(CLERK, Role::Clerk).await;
    let admin = t.user_token(ADMIN, Role::Admin).await;
    let nid = nid_for_phone(PASSENGER);
    let r = buy_online(&t, &passenger, trip, 4, "four").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = t.post_as("/v1/holds", &passenger, hold_body(trip, 1)).await;
    assert_nid_limit(&r, "seats_per_nid_per_trip", 4);
    let hold = counter_hold(&t, &clerk, trip, 1).await;
    let r = counter_sell(&t, &clerk, hold, 1, &nid, "fifth").await;
    assert_nid_limit(&r, "seats_per_nid_per_trip", 4);
    // Flagged now: refused as flagged, even where its cap has room.
    let tomorrow_next = t
        .app
        .schedule_trip(9001, ServiceDate::today_at(t.app.now()).add_days(2))
        .await
        .unwrap();
    t.post_as("/v1/holds", &passenger, hold_body(tomorrow_next, 1))
        .await
        .assert_problem(403, "nid-flagged");
    let r = counter_sell(&t, &clerk, hold, 1, &nid, "flagged").await;
    r.assert_problem(403, "nid-flagged");

    t.get_as("/v1/admin/nids/flagged", &clerk)
        .await
        .assert_problem(403, "forbidden");
    let list = t.get_as("/v1/admin/nids/flagged", &admin).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    let flagged = list.body["nids"].as_array().unwrap();
    assert_eq!(flagged.len(), 1, "{}", list.body);
    assert_eq!(flagged[0]["nid"], nid.as_str());
    assert_eq!(flagged[0]["limit_hits"], 2);
    assert!(flagged[0].get("reported_by").is_none());

    t.post_as("/v1/admin/nids/clear", &admin, json!({ "nid": "12ab" }))
        .await
        .assert_problem(422, "invalid-field");
    t.post_as("/v1/admin/nids/clear", &clerk, json!({ "nid": nid }))
        .await
        .assert_problem(403, "forbidden");
    let r = t
        .post_as("/v1/admin/nids/clear", &admin, json!({ "nid": nid }))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    t.post_as("/v1/admin/nids/clear", &admin, json!({ "nid": nid }))
        .await
        .assert_problem(404, "not-found");
    let h = t
        .post_as("/v1/holds", &passenger, hold_body(tomorrow_next, 1))
        .await;
    assert_eq!(h.status, StatusCode::CREATED, "{}", h.body);

    // A clerk reports another buyer: flagged at once, with who reported it.
    let other = "5518888888888";
    t.post_as(
        "/v1/counter/nids/report",
        &passenger,
        json!({ "nid": other, "reason": "x" }),
    )
    .await
    .assert_problem(403, "forbidden");
    t.post_as(
        "/v1/counter/nids/report",
        &clerk,
        json!({ "nid": other, "reason": " " }),
    )
    .await
    .assert_problem(422, "invalid-field");
    let r = t
        .post_as(
            "/v1/counter/nids/report",
            &clerk,
            json!({ "nid": other, "reason": "came back with a fourth phone" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    counter_sell(&t, &clerk, hold, 1, other, "reported")
        .await
        .assert_problem(403, "nid-flagged");
    let list = t.get_as("/v1/admin/nids/flagged", &admin).await;
    let flagged = list.body["nids"].as_array().unwrap();
    assert_eq!(flagged.len(), 1, "{}", list.body);
    assert_eq!(flagged[0]["reason"], "came back with a fourth phone");
    assert!(
        flagged[0]["reported_by"].as_i64().is_some(),
        "{}",
        list.body
    );
    invariants_hold(&t, trip).await;
}

on_both_backends!(
    four_online_then_the_counter_refuses_the_same_nid,
    counter_first_then_online_gets_only_what_is_left,
    online_and_counter_sales_for_one_nid_at_once_never_pass_the_cap,
    the_store_lets_exactly_the_cap_through_when_both_channels_race,
    an_account_without_an_nid_buys_online_once_it_adds_one,
);

on_both_with!(day_cap, day_capped: the_day_cap_counts_every_trip_of_the_travel_date);
on_both_with!(flags, flag_after_two: refusals_and_reports_flag_an_nid_until_an_admin_clears_it);
