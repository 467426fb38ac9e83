//! The booking core over HTTP on both backends: holds on segments, orders with
//! idempotency, payment outcomes, tickets and QR codes, cancellation, expiry,
//! and 200 concurrent buyers on 40 seats.

use crate::common::gateway::{info, registered_card};
use crate::common::server::{TEST_DOB, fresh_nid};
use crate::common::server::{TestApp, quick_user, test_config, tiny_trip};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use ticketctl::domain::{HoldId, HoldStatus, OrderId, TicketId, TripId};

async fn card(t: &TestApp, token: &str, number: &str) -> String {
    let body = registered_card(&t.client, &t.url(""), token, number).await;
    assert_eq!(body["last4"], &number[number.len() - 4..]);
    assert!(
        !body.to_string().contains(number),
        "the card number never comes back"
    );
    body["token"].as_str().unwrap().to_owned()
}

async fn hold(
    t: &TestApp,
    token: &str,
    trip: TripId,
    from: &str,
    to: &str,
    seats: Value,
) -> reqwest::StatusCode {
    let mut body = json!({ "trip_id": trip, "from": from, "to": to, "class": "S_CHAIR" });
    match seats {
        Value::Number(n) => body["count"] = Value::Number(n),
        other => body["seats"] = other,
    }
    t.post_as("/v1/holds", token, body).await.status
}

async fn order(
    t: &TestApp,
    token: &str,
    key: &str,
    hold_id: HoldId,
    names: &[&str],
    card_token: &str,
) -> crate::common::server::Reply {
    let passengers: Vec<Value> = names.iter().map(|n| json!({ "name": n })).collect();
    let body = json!({ "hold_id": hold_id, "passengers": passengers, "payment_token": card_token });
    let req = t
        .client
        .post(t.url("/v1/orders"))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .json(&body);
    crate::common::server::Reply::from_response(req.send().await.unwrap()).await
}

async fn invariants_hold(t: &TestApp, trip: TripId) {
    t.app.settle().await.unwrap();
    let report = t.app.check_invariants(Some(trip)).await.unwrap();
    assert!(report.ok(), "invariants broken: {report:#?}");
}

async fn register_search_hold_pay_ticket_end_to_end(t: TestApp) {
    let trip = tiny_trip(&t.app, 40).await;
    let r = t.post("/v1/auth/register", json!({ "name": "Karim Uddin", "phone": "01711000000", "email": "karim@example.com", "password": "correct horse battery", "nid": fresh_nid(), "date_of_birth": TEST_DOB })).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let token = t.login("01711000000").await;
    let date = ticketctl::domain::ServiceDate::today_at(t.app.now()).add_days(1);
    let search = t
        .get(&format!("/v1/trips?from=Dhaka&to=Chattogram&date={date}"))
        .await;
    assert_eq!(search.body["trips"][0]["trip_id"], trip.get());

    let held = t
        .post_as(
            "/v1/holds",
            &token,
            json!({ "trip_id": trip, "from": "DHK", "to": "CTG", "class": "S_CHAIR", "count": 2 }),
        )
        .await;
    assert_eq!(held.status, StatusCode::CREATED, "{}", held.body);
    assert_eq!(held.body["total"], 900);
    let seats: Vec<String> = serde_json::from_value(held.body["seats"].clone()).unwrap();
    let hold_id = HoldId(held.body["hold_id"].as_i64().unwrap());
    let card = card(&t, &token, "4242 4242 4242 4242").await;

    let placed = order(
        &t,
        &token,
        "e2e-1",
        hold_id,
        &["Karim Uddin", "Salma Begum"],
        &card,
    )
    .await;
    assert_eq!(placed.status, StatusCode::CREATED, "{}", placed.body);
    assert_eq!(placed.body["status"], "confirmed");
    assert_eq!(placed.body["amount"], 900);
    let tickets = placed.body["tickets"].as_array().unwrap();
    assert_eq!(tickets.len(), 2);
    let ticket_id = TicketId(tickets[0]["ticket_id"].as_i64().unwrap());

    // The seats are now taken for this journey.
    let map = t
        .get(&format!("/v1/trips/{trip}/seats?from=DHK&to=CTG"))
        .await;
    let taken: Vec<&str> = map.body["coaches"][0]["seats"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["free"] == false)
        .map(|s| s["seat"].as_str().unwrap())
        .collect();
    let mut expected: Vec<&str> = seats.iter().map(String::as_str).collect();
    expected.sort();
    let mut taken_sorted = taken.clone();
    taken_sorted.sort();
    assert_eq!(taken_sorted, expected);

    // The ticket, its QR code, and verification.
    let ticket = t.get_as(&format!("/v1/tickets/{ticket_id}"), &token).await;
    assert_eq!(ticket.status, StatusCode::OK);
    assert_eq!(ticket.body["claims"]["train"], 9001);
    let payload = ticket.body["payload"].as_str().unwrap().to_owned();
    let png = t
        .client
        .get(t.url(&format!("/v1/tickets/{ticket_id}/qr.png")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(png.headers()["content-type"], "image/png");
    let scanned = ticketctl::adapters::qr::payload_from_png(&png.bytes().await.unwrap()).unwrap();
    assert_eq!(scanned, payload);
    let svg = t
        .client
        .get(t.url(&format!("/v1/tickets/{ticket_id}/qr.svg")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
    let verdict = t
        .post("/v1/tickets/verify", json!({ "payload": payload }))
        .await;
    assert_eq!(verdict.body["verdict"], "valid", "{}", verdict.body);
    let mut forged = payload.clone().into_bytes();
    forged[10] = if forged[10] == b'A' { b'B' } else { b'A' };
    let verdict = t
        .post(
            "/v1/tickets/verify",
            json!({ "payload": String::from_utf8(forged).unwrap() }),
        )
        .await;
    // A verdict, not an error: the inspector is told the ticket is forged.
    assert_eq!(verdict.status, StatusCode::OK, "{}", verdict.body);
    assert_eq!(verdict.body["verdict"], "forged", "{}", verdict.body);

    // Other passengers cannot see it.
    let (_, stranger) = quick_user(&t.app, 1).await;
    t.get_as(&format!("/v1/tickets/{ticket_id}"), &stranger)
        .await
        .assert_problem(404, "not-found");

    let mine = t.get_as("/v1/me/orders", &token).await;
    assert_eq!(mine.body["orders"].as_array().unwrap().len(), 1);
    invariants_hold(&t, trip).await;

    // Cancel: refunded by the default rule for the whole hours left before the
    // 23:00 departure (the boundaries themselves are in time_rules.rs). The
    // hours are taken either side of the request, in case one ends meanwhile.
    let departs = date.at(ticketctl::domain::TripTime::parse("23:00").unwrap());
    let owed = |now: chrono::DateTime<chrono::Utc>| {
        ticketctl::domain::RefundRule::default()
            .refund(900, 2, (departs - now).num_hours())
            .unwrap_or(0)
    };
    let order_id = OrderId(placed.body["order_id"].as_i64().unwrap());
    let owed_before = owed(t.app.now());
    let cancelled = t
        .post_as(&format!("/v1/orders/{order_id}/cancel"), &token, json!({}))
        .await;
    let owed_after = owed(t.app.now());
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    let refunded = cancelled.body["refunded"].as_i64().unwrap();
    assert!(
        refunded == owed_before || refunded == owed_after,
        "refunded {refunded}, owed {owed_before} (or {owed_after} a moment later)"
    );
    let status = if refunded > 0 {
        "refunded"
    } else {
        "cancelled"
    };
    assert_eq!(cancelled.body["status"], status, "{}", cancelled.body);
    let verdict = t
        .post("/v1/tickets/verify", json!({ "payload": payload }))
        .await;
    assert_eq!(verdict.body["verdict"], "cancelled");
    let map = t
        .get(&format!("/v1/trips/{trip}/seats?from=DHK&to=CTG"))
        .await;
    assert!(
        map.body["coaches"][0]["seats"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["free"] == true),
        "seats return to sale"
    );
    t.post_as(&format!("/v1/orders/{order_id}/cancel"), &token, json!({}))
        .await
        .assert_problem(409, "conflict");
    invariants_hold(&t, trip).await;
    assert!(t.app.verify_audit().await.unwrap().first_broken.is_none());
}

async fn a_sold_half_journey_leaves_the_other_half_for_sale(t: TestApp) {
    let trip = tiny_trip(&t.app, 4).await;
    let (_, a) = quick_user(&t.app, 1).await;
    let (_, b) = quick_user(&t.app, 2).await;
    let (_, c) = quick_user(&t.app, 3).await;
    assert_eq!(
        hold(&t, &a, trip, "Dhaka", "Feni", json!(["KA-1"])).await,
        StatusCode::CREATED
    );
    assert_eq!(
        hold(&t, &b, trip, "Feni", "Chattogram", json!(["KA-1"])).await,
        StatusCode::CREATED
    );
    let r = t.post_as("/v1/holds", &c, json!({ "trip_id": trip, "from": "Dhaka", "to": "Chattogram", "class": "S_CHAIR", "seats": ["KA-1"] })).await;
    r.assert_problem(409, "seats-unavailable");
    assert_eq!(r.body["seats"], json!(["KA-1"]));
    // Best fit: a count-based Feni→Chattogram hold is not placed on KA-1 (taken), and
    // a Dhaka→Feni buyer gets the seat whose other half is sold… none here, so any.
    let map = t
        .get(&format!("/v1/trips/{trip}/seats?from=APT&to=FNI"))
        .await;
    assert_eq!(map.body["coaches"][0]["seats"][0]["free"], false);
    invariants_hold(&t, trip).await;
}

async fn best_fit_puts_a_half_journey_on_a_half_sold_seat(t: TestApp) {
    let trip = tiny_trip(&t.app, 8).await;
    let (_, a) = quick_user(&t.app, 1).await;
    let (_, b) = quick_user(&t.app, 2).await;
    assert_eq!(
        hold(&t, &a, trip, "DHK", "FNI", json!(["KA-5"])).await,
        StatusCode::CREATED
    );
    let r = t
        .post_as(
            "/v1/holds",
            &b,
            json!({ "trip_id": trip, "from": "FNI", "to": "CTG", "class": "S_CHAIR", "count": 1 }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(
        r.body["seats"],
        json!(["KA-5"]),
        "the tightest fit is the half-sold seat"
    );
}

async fn idempotent_retry_charges_once(t: TestApp) {
    let trip = tiny_trip(&t.app, 10).await;
    let (_, token) = quick_user(&t.app, 1).await;
    let hold_id = hold_one_seat(&t, &token, trip).await;
    let card = card(&t, &token, "4242424242424242").await;
    let first = order(&t, &token, "retry-key", hold_id, &["A Passenger"], &card).await;
    let second = order(&t, &token, "retry-key", hold_id, &["A Passenger"], &card).await;
    assert_eq!(first.status, StatusCode::CREATED);
    assert_eq!(second.status, first.status);
    assert_eq!(second.body, first.body, "same key, same body: same answer");
    let ledger = t.app.check_invariants(None).await.unwrap().ledger;
    assert_eq!(
        (ledger.confirmed_orders, ledger.gateway_net),
        (1, 450),
        "one order, one charge"
    );
    let other = order(&t, &token, "retry-key", hold_id, &["Someone Else"], &card).await;
    other.assert_problem(422, "idempotency-key-reused");
    // No key at all is refused before anything happens.
    let body =
        json!({ "hold_id": hold_id, "passengers": [{ "name": "X" }], "payment_token": card });
    t.post_as("/v1/orders", &token, body)
        .await
        .assert_problem(400, "idempotency-key-missing");
    invariants_hold(&t, trip).await;
}

async fn declined_and_timed_out_payments_release_the_seats(t: TestApp) {
    let trip = tiny_trip(&t.app, 10).await;
    let (_, token) = quick_user(&t.app, 1).await;
    for (n, number, expect) in [
        (1, "4000000000000002", "declined"),
        (2, "4000000000000119", "timed out"),
        (3, "4000000000000259", "timed out"),
    ] {
        let held = t.post_as("/v1/holds", &token, json!({ "trip_id": trip, "from": "DHK", "to": "CTG", "class": "S_CHAIR", "seats": ["KA-1"] })).await;
        assert_eq!(held.status, StatusCode::CREATED, "{}", held.body);
        let card = card(&t, &token, number).await;
        let r = order(
            &t,
            &token,
            &format!("pay-{n}"),
            HoldId(held.body["hold_id"].as_i64().unwrap()),
            &["P"],
            &card,
        )
        .await;
        r.assert_problem(402, "payment-failed");
        assert_eq!(r.body["order"]["status"], "failed");
        assert!(
            r.body["detail"].as_str().unwrap().contains(expect),
            "{}",
            r.body
        );
        // KA-1 is free again at once.
        let map = t
            .get(&format!("/v1/trips/{trip}/seats?from=DHK&to=CTG"))
            .await;
        assert_eq!(map.body["coaches"][0]["seats"][0]["free"], true);
    }
    // The timed-out charge that did land is refunded by reconciliation: nothing kept.
    invariants_hold(&t, trip).await;
    let ledger = t.app.check_invariants(None).await.unwrap().ledger;
    assert_eq!((ledger.gateway_net, ledger.orders_net), (0, 0));
}

async fn bad_booking_input_is_refused_and_changes_nothing(t: TestApp) {
    let trip = tiny_trip(&t.app, 10).await;
    let (_, token) = quick_user(&t.app, 1).await;
    let before = t.app.raw_store().seats(trip).await.unwrap();
    let base = json!({ "trip_id": trip, "from": "DHK", "to": "CTG", "class": "S_CHAIR" });
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    let cases = [
        (with("count", json!(5)), 422, "invalid-field"),
        (with("count", json!(0)), 422, "invalid-field"),
        (base.clone(), 422, "invalid-field"),
        (with("seats", json!(["KA-99"])), 422, "invalid-field"),
        (with("seats", json!(["KA-1", "KA-1"])), 422, "invalid-field"),
        (with("class", json!("FIRST")), 422, "invalid-field"),
        (with("class", json!("AC_B")), 422, "invalid-field"),
        (with("from", json!("Nowhere")), 422, "unknown-station"),
        (with("to", json!("Dhaka")), 422, "invalid-field"),
        (with("trip_id", json!(424242)), 404, "not-found"),
        (with("count", json!("two")), 422, "invalid-body"),
    ];
    for (body, status, slug) in cases {
        t.post_as("/v1/holds", &token, body.clone())
            .await
            .assert_problem(status, slug);
    }
    t.post("/v1/holds", with("count", json!(1)))
        .await
        .assert_problem(401, "unauthorized");
    // Bad cards never become tokens at the gateway, which names the field.
    let gateway = info(&t.client, &t.url("")).await;
    for (number, month, year, cvc, field) in [
        ("4242424242424241", 12, 2031, "123", "number"),
        ("4242", 12, 2031, "123", "number"),
        ("4242424242424242", 13, 2031, "123", "exp_month"),
        ("4242424242424242", 1, 2020, "123", "exp_year"),
        ("4242424242424242", 12, 2031, "12", "cvc"),
    ] {
        let r = t
            .client
            .post(gateway["tokens_url"].as_str().unwrap())
            .bearer_auth(gateway["publishable_key"].as_str().unwrap())
            .json(&json!({ "number": number, "exp_month": month, "exp_year": year, "cvc": cvc }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["param"], field, "{body}");
        // And a card sent to the booking server is refused, whatever it is.
        t.post_as(
            "/v1/payments/tokens",
            &token,
            json!({ "number": number, "exp_month": month, "exp_year": year, "cvc": cvc }),
        )
        .await
        .assert_problem(422, "invalid-field");
    }
    assert_eq!(
        t.app.raw_store().seats(trip).await.unwrap(),
        before,
        "nothing was taken"
    );
    // Five seats for one passenger on one trip is over the limit even across holds.
    assert_eq!(
        hold(&t, &token, trip, "DHK", "CTG", json!(3)).await,
        StatusCode::CREATED
    );
    let r = t
        .post_as("/v1/holds", &token, with("count", json!(2)))
        .await;
    r.assert_problem(409, "nid-limit");
    // Someone else's hold cannot be ordered or released.
    let (_, other) = quick_user(&t.app, 2).await;
    let held = t
        .post_as("/v1/holds", &other, with("count", json!(1)))
        .await;
    let other_hold = HoldId(held.body["hold_id"].as_i64().unwrap());
    t.send(
        Method::DELETE,
        &format!("/v1/holds/{other_hold}"),
        Some(&token),
        None,
    )
    .await
    .assert_problem(404, "not-found");
    let card = card(&t, &token, "4242424242424242").await;
    order(&t, &token, "steal", other_hold, &["Thief"], &card)
        .await
        .assert_problem(404, "not-found");
    invariants_hold(&t, trip).await;
}

async fn a_released_hold_frees_its_seat_and_cannot_be_released_twice(t: TestApp) {
    let trip = tiny_trip(&t.app, 4).await;
    let (_, token) = quick_user(&t.app, 1).await;
    let held = t.post_as("/v1/holds", &token, json!({ "trip_id": trip, "from": "DHK", "to": "CTG", "class": "S_CHAIR", "seats": ["KA-2"] })).await;
    assert_eq!(held.status, StatusCode::CREATED, "{}", held.body);
    let hold_id = HoldId(held.body["hold_id"].as_i64().unwrap());
    let (_, rival) = quick_user(&t.app, 2).await;
    assert_eq!(
        hold(&t, &rival, trip, "DHK", "CTG", json!(["KA-2"])).await,
        StatusCode::CONFLICT
    );
    // Releasing by hand frees the seat at once.
    let r = t
        .send(
            Method::DELETE,
            &format!("/v1/holds/{hold_id}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    t.send(
        Method::DELETE,
        &format!("/v1/holds/{hold_id}"),
        Some(&token),
        None,
    )
    .await
    .assert_problem(409, "conflict");
    assert_eq!(
        hold(&t, &rival, trip, "DHK", "CTG", json!(["KA-2"])).await,
        StatusCode::CREATED,
        "the released seat is for sale again"
    );
    invariants_hold(&t, trip).await;
}

/// Holds outlive neither their TTL nor a restart: a server that was down when the
/// TTL passed frees the seats when it comes back (its first sweep), on a manual
/// clock shared by both server lives, so nothing waits for real time.
async fn expiry_survives_a_restart(db: crate::common::db::TestDb) {
    let config = ticketctl::app::AppConfig {
        clock: ticketctl::app::Clock::manual(crate::common::server::suite_second()),
        ..test_config()
    };
    let t = TestApp::start_with(db, config.clone()).await;
    let trip = tiny_trip(&t.app, 4).await;
    let (_, token) = quick_user(&t.app, 1).await;
    let held = t.post_as("/v1/holds", &token, json!({ "trip_id": trip, "from": "DHK", "to": "CTG", "class": "S_CHAIR", "seats": ["KA-3"] })).await;
    assert_eq!(held.status, StatusCode::CREATED, "{}", held.body);
    let hold_id = HoldId(held.body["hold_id"].as_i64().unwrap());
    let db = t.shutdown().await;
    // The TTL passes while no server runs.
    let manual = config.clock.as_manual().expect("manual clock");
    manual.advance(config.hold_ttl);
    let t = TestApp::start_with(db, config.clone()).await;
    t.app.sweep_now().await.unwrap();
    let stored = t.app.raw_store().hold(hold_id).await.unwrap().unwrap();
    assert_eq!(stored.status, HoldStatus::Expired);
    let map = t
        .get(&format!("/v1/trips/{trip}/seats?from=DHK&to=CTG"))
        .await;
    assert!(
        map.body["coaches"][0]["seats"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["free"] == true),
        "{}",
        map.body
    );
    invariants_hold(&t, trip).await;
}

/// 200 buyers with overlapping journeys on the same 40 seats, released together
/// by a barrier: every request is answered (201 or 409), named hot seats
/// conflict, and no seat-segment is ever taken twice. (That a refusal comes only
/// when the journey is really full is `hardening_booking`'s wave test.)
async fn two_hundred_buyers_forty_seats(t: TestApp) {
    let trip = tiny_trip(&t.app, 40).await;
    let t = Arc::new(t);
    let journeys = [
        ("DHK", "CTG"),
        ("DHK", "FNI"),
        ("APT", "FNI"),
        ("FNI", "CTG"),
        ("APT", "CTG"),
        ("DHK", "APT"),
    ];
    let mut users = Vec::new();
    for n in 0..200 {
        users.push(quick_user(&t.app, n).await.1);
    }
    let mut tasks = tokio::task::JoinSet::new();
    let start = Arc::new(tokio::sync::Barrier::new(users.len()));
    for (n, token) in users.into_iter().enumerate() {
        let t = t.clone();
        let start = start.clone();
        let (from, to) = journeys[n % journeys.len()];
        tasks.spawn(async move {
            // Half name seats (hot spots on KA-1..KA-8), half ask for a count.
            let body = if n % 2 == 0 {
                json!({ "trip_id": trip, "from": from, "to": to, "class": "S_CHAIR", "seats": [format!("KA-{}", 1 + n % 8)] })
            } else {
                json!({ "trip_id": trip, "from": from, "to": to, "class": "S_CHAIR", "count": 1 + (n / 2) % 2 })
            };
            start.wait().await;
            let r = t.post_as("/v1/holds", &token, body).await;
            assert!(r.status == StatusCode::CREATED || r.status == StatusCode::CONFLICT, "{} {}", r.status, r.body);
            if r.status == StatusCode::CREATED && n % 3 == 0 {
                // Some buyers pay at once, under the same pressure.
                let card = card(&t, &token, "4242424242424242").await;
                let names: Vec<String> = (0..r.body["seats"].as_array().unwrap().len()).map(|i| format!("P{n}-{i}")).collect();
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                let placed = order(&t, &token, &format!("k{n}"), HoldId(r.body["hold_id"].as_i64().unwrap()), &names, &card).await;
                assert_eq!(placed.status, StatusCode::CREATED, "{}", placed.body);
            }
            r.status
        });
    }
    let mut created = 0;
    let mut conflicts = 0;
    while let Some(status) = tasks.join_next().await {
        match status.unwrap() {
            StatusCode::CREATED => created += 1,
            _ => conflicts += 1,
        }
    }
    assert_eq!(created + conflicts, 200);
    assert!(conflicts > 0, "hot seats must conflict");
    invariants_hold(&t, trip).await;
    let report = t.app.check_invariants(Some(trip)).await.unwrap();
    eprintln!(
        "200 buyers on 40 seats: {created} holds, {conflicts} conflicts, {} live claims",
        report.live_claims
    );
    assert!(
        report.live_claims >= created,
        "every successful hold has its claims"
    );
    let ledger = t.app.check_invariants(None).await.unwrap().ledger;
    assert!(ledger.confirmed_orders > 0);
}

/// Sends an order and returns its status, content type and body exactly as sent.
async fn order_bytes(
    t: &TestApp,
    token: &str,
    key: &str,
    hold_id: HoldId,
    card_token: &str,
) -> (StatusCode, String, Vec<u8>) {
    let body = json!({ "hold_id": hold_id, "passengers": [{ "name": "A Passenger" }], "payment_token": card_token });
    let resp = t
        .client
        .post(t.url("/v1/orders"))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let content_type = resp.headers()["content-type"].to_str().unwrap().to_owned();
    (status, content_type, resp.bytes().await.unwrap().to_vec())
}

/// Holds one seat Dhaka → Chattogram on `trip` for `token`'s user.
async fn hold_one_seat(t: &TestApp, token: &str, trip: TripId) -> HoldId {
    let held = t
        .post_as(
            "/v1/holds",
            token,
            json!({ "trip_id": trip, "from": "DHK", "to": "CTG", "class": "S_CHAIR", "count": 1 }),
        )
        .await;
    HoldId(held.body["hold_id"].as_i64().unwrap())
}

/// A repeat is sent the first answer byte for byte, even after the order moved
/// on (cancelled), and a failed payment's problem likewise.
async fn a_repeat_gets_the_first_answer_byte_for_byte(t: TestApp) {
    let trip = tiny_trip(&t.app, 10).await;
    let (_, token) = quick_user(&t.app, 1).await;
    let hold_id = hold_one_seat(&t, &token, trip).await;
    let good = card(&t, &token, "4242424242424242").await;
    let first = order_bytes(&t, &token, "bytes-key", hold_id, &good).await;
    assert_eq!(first.0, StatusCode::CREATED);
    assert_eq!(first.1, "application/json");
    let placed: Value = serde_json::from_slice(&first.2).unwrap();
    assert_eq!(placed["status"], "confirmed");
    assert_eq!(placed["tickets"].as_array().map(Vec::len), Some(1));
    let order_id = placed["order_id"].as_i64().unwrap();
    let cancelled = t
        .post_as(&format!("/v1/orders/{order_id}/cancel"), &token, json!({}))
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    let again = order_bytes(&t, &token, "bytes-key", hold_id, &good).await;
    assert_eq!(again, first, "the first answer, not the order as it is now");

    let hold_id = hold_one_seat(&t, &token, trip).await;
    let declined = card(&t, &token, "4000000000000002").await;
    let failed = order_bytes(&t, &token, "declined-key", hold_id, &declined).await;
    assert_eq!(failed.0, StatusCode::PAYMENT_REQUIRED);
    assert_eq!(failed.1, "application/problem+json");
    let problem: Value = serde_json::from_slice(&failed.2).unwrap();
    assert_eq!(problem["type"], "/problems/payment-failed");
    assert_eq!(problem["order"]["status"], "failed");
    assert_eq!(problem["detail"], problem["order"]["failure"]);
    let again = order_bytes(&t, &token, "declined-key", hold_id, &declined).await;
    assert_eq!(again, failed);
}

on_both_backends!(
    register_search_hold_pay_ticket_end_to_end,
    a_sold_half_journey_leaves_the_other_half_for_sale,
    best_fit_puts_a_half_journey_on_a_half_sold_seat,
    idempotent_retry_charges_once,
    a_repeat_gets_the_first_answer_byte_for_byte,
    declined_and_timed_out_payments_release_the_seats,
    bad_booking_input_is_refused_and_changes_nothing,
    a_released_hold_frees_its_seat_and_cannot_be_released_twice,
    two_hundred_buyers_forty_seats,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_survives_a_restart_sqlite() {
    expiry_survives_a_restart(crate::common::db::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_survives_a_restart_postgres() {
    if let Some(db) = crate::common::db::postgres().await {
        expiry_survives_a_restart(db).await;
    }
}

/// An order a crash left in `reserved` is settled by recovery (failed when the
/// gateway never saw its charge; confirmed when it did).
async fn recovery_settles_orders_left_mid_saga(db: crate::common::db::TestDb) {
    use ticketctl::store::{NewOrder, PassengerInput};
    let t = TestApp::start_manual(db, crate::common::server::suite_second(), test_config()).await;
    let trip = tiny_trip(&t.app, 4).await;
    let (user, token) = quick_user(&t.app, 1).await;
    let card = card(&t, &token, "4242424242424242").await;
    let mut orders = Vec::new();
    for (n, seat) in ["KA-1", "KA-2"].iter().enumerate() {
        let held = t.post_as("/v1/holds", &token, json!({ "trip_id": trip, "from": "DHK", "to": "CTG", "class": "S_CHAIR", "seats": [seat] })).await;
        let order = t
            .app
            .raw_store()
            .create_order(&NewOrder {
                user_id: user,
                hold_id: HoldId(held.body["hold_id"].as_i64().unwrap()),
                passengers: vec![PassengerInput {
                    name: format!("P{n}").parse().unwrap(),
                    nid: None,
                }],
                payment_token: card.clone(),
                idempotency_key: format!("crash-{n}"),
                request_hash: "h".into(),
                now: t.app.now(),
            })
            .await
            .unwrap();
        orders.push(order);
    }
    // The gateway took the second order's money before the "crash".
    let token_record = t
        .app
        .raw_store()
        .payment_token(&card)
        .await
        .unwrap()
        .unwrap();
    let charged = t
        .app
        .gateway
        .charge(
            &format!("order-{}", orders[1].id),
            &token_record,
            orders[1].amount,
        )
        .await;
    assert!(matches!(
        charged,
        ticketctl::app::payments::ChargeOutcome::Succeeded { .. }
    ));
    // Past both the recovery delay and the window in which a charge may still be
    // in flight (twice the charge timeout).
    t.manual_clock().advance(chrono::Duration::seconds(3));
    // The server's own recovery worker may get there first; either way the outcome is the same.
    t.app.recover_once().await.unwrap();
    let first = t
        .app
        .raw_store()
        .order(orders[0].id)
        .await
        .unwrap()
        .unwrap();
    // Nothing was charged for the first, but its hold lasts: it waits for a retry
    // with its key (tests/it/hardening_booking.rs) and fails once the hold runs out.
    assert_eq!(first.status, ticketctl::domain::OrderStatus::Reserved);
    let second = t
        .app
        .raw_store()
        .order(orders[1].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(second.status, ticketctl::domain::OrderStatus::Confirmed);
    invariants_hold(&t, trip).await;
    assert_eq!(
        t.app
            .raw_store()
            .tickets_of_order(second.id)
            .await
            .unwrap()
            .len(),
        1
    );
}

mod recovery {
    use super::*;
    on_both_databases!(recovery_settles_orders_left_mid_saga);
}
