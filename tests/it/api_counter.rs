//! Counter sales over HTTP on both backends: clerks hold and sell for cash,
//! the 4-seat rule per passenger phone, idempotent retries, cancellation with
//! a cash refund, look-ups, the shift's cash, held-vs-sold seat maps, the live
//! stream, and bad input refused without changing anything.

use crate::common::server::nid_for_phone;
use crate::common::server::{Reply, TestApp, quick_user, tiny_trip};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;
use ticketctl::domain::{HoldId, Role, TripId};

async fn counter_hold(
    t: &TestApp,
    clerk: &str,
    trip: TripId,
    from: &str,
    to: &str,
    seats: &[&str],
) -> Reply {
    t.post_as(
        "/v1/counter/holds",
        clerk,
        json!({ "trip_id": trip, "from": from, "to": to, "class": "S_CHAIR", "seats": seats }),
    )
    .await
}

async fn sell(
    t: &TestApp,
    clerk: &str,
    key: &str,
    hold: HoldId,
    names: &[&str],
    phone: &str,
) -> Reply {
    let passengers: Vec<Value> = names.iter().map(|n| json!({ "name": n })).collect();
    let req = t
        .client
        .post(t.url("/v1/counter/orders"))
        .bearer_auth(clerk)
        .header("idempotency-key", key)
        .json(&json!({ "hold_id": hold, "passengers": passengers, "phone": phone, "nid": nid_for_phone(phone) }));
    Reply::from_response(req.send().await.unwrap()).await
}

/// Holds and sells `seats` for cash; returns the order id.
async fn sale(t: &TestApp, clerk: &str, trip: TripId, seats: &[&str], phone: &str) -> i64 {
    let h = counter_hold(t, clerk, trip, "DHK", "CTG", seats).await;
    assert_eq!(h.status, StatusCode::CREATED, "{}", h.body);
    let names: Vec<String> = (0..seats.len()).map(|i| format!("Rahima {i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let key = format!("sale-{}", h.body["hold_id"]);
    let r = sell(
        t,
        clerk,
        &key,
        HoldId(h.body["hold_id"].as_i64().unwrap()),
        &names,
        phone,
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["status"], "confirmed");
    r.body["order_id"].as_i64().unwrap()
}

async fn invariants_hold(t: &TestApp, trip: TripId) {
    t.app.settle().await.unwrap();
    let report = t.app.check_invariants(Some(trip)).await.unwrap();
    assert!(report.ok(), "invariants broken: {report:#?}");
}

fn seat_state(map: &Value, label: &str) -> String {
    map["coaches"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["seats"].as_array().unwrap())
        .find(|s| s["seat"] == label)
        .map(|s| s["state"].as_str().unwrap_or("?").to_owned())
        .unwrap_or_default()
}

async fn a_cash_sale_issues_tickets_and_counts_in_the_shift(t: TestApp) {
    let trip = tiny_trip(&t.app, 12).await;
    let clerk = t.user_token("01799000001", Role::Clerk).await;
    let order = sale(&t, &clerk, trip, &["KA-1", "KA-2"], "01711111111").await;

    let detail = t
        .get_as(&format!("/v1/counter/orders/{order}"), &clerk)
        .await;
    assert_eq!(detail.status, StatusCode::OK, "{}", detail.body);
    assert_eq!(detail.body["paid_by"], "cash");
    assert_eq!(detail.body["phone"], "+8801711111111");
    let tickets = detail.body["tickets"].as_array().unwrap();
    assert_eq!(tickets.len(), 2);
    let payload = tickets[0]["payload"].as_str().unwrap();
    let verdict = t
        .post("/v1/tickets/verify", json!({ "payload": payload }))
        .await;
    assert_eq!(verdict.body["verdict"], "valid");

    let shift = t.get_as("/v1/counter/shift", &clerk).await;
    assert_eq!(shift.status, StatusCode::OK);
    assert_eq!(shift.body["orders"], 1);
    assert_eq!(shift.body["tickets"], 2);
    assert_eq!(shift.body["cash_in"], 900);
    assert_eq!(shift.body["net_cash"], 900);
    // Another clerk's drawer is their own.
    let other = t.user_token("01799000002", Role::Clerk).await;
    let theirs = t.get_as("/v1/counter/shift", &other).await;
    assert_eq!(theirs.body["cash_in"], 0);
    invariants_hold(&t, trip).await;
}

async fn counter_endpoints_need_a_clerk(t: TestApp) {
    let trip = tiny_trip(&t.app, 4).await;
    let (_, passenger) = quick_user(&t.app, 1).await;
    let r = counter_hold(&t, &passenger, trip, "DHK", "CTG", &["KA-1"]).await;
    r.assert_problem(403, "forbidden");
    for path in [
        "/v1/counter/shift",
        "/v1/counter/lookup?phone=01711111111",
        "/v1/counter/orders/1",
    ] {
        t.get_as(path, &passenger)
            .await
            .assert_problem(403, "forbidden");
    }
    t.get("/v1/counter/shift")
        .await
        .assert_problem(401, "unauthorized");
    assert_eq!(
        t.app
            .check_invariants(None)
            .await
            .unwrap()
            .ledger
            .confirmed_orders,
        0
    );
}

async fn four_seats_per_passenger_phone_not_per_clerk(t: TestApp) {
    let trip = tiny_trip(&t.app, 12).await;
    let clerk = t.user_token("01799000001", Role::Clerk).await;
    sale(&t, &clerk, trip, &["KA-1", "KA-2", "KA-3"], "01711111111").await;
    // The clerk sells on past 4 seats for other passengers…
    sale(&t, &clerk, trip, &["KA-4", "KA-5", "KA-6"], "01722222222").await;
    // …but not a 5th seat to the same passenger.
    let h = counter_hold(&t, &clerk, trip, "DHK", "CTG", &["KA-7", "KA-8"]).await;
    let hold = HoldId(h.body["hold_id"].as_i64().unwrap());
    let r = sell(
        &t,
        &clerk,
        "too-many",
        hold,
        &["A", "B"],
        "+880 1711-111111",
    )
    .await;
    r.assert_problem(409, "nid-limit");
    assert!(
        r.body["detail"].as_str().unwrap().contains("at most 4"),
        "{}",
        r.body
    );
    let one_more = counter_hold(&t, &clerk, trip, "DHK", "CTG", &["KA-9"]).await;
    let r = sell(
        &t,
        &clerk,
        "one-more",
        HoldId(one_more.body["hold_id"].as_i64().unwrap()),
        &["C"],
        "01711111111",
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::CREATED,
        "the 4th seat is allowed: {}",
        r.body
    );
    invariants_hold(&t, trip).await;
}

async fn a_retried_sale_sells_once(t: TestApp) {
    let trip = tiny_trip(&t.app, 4).await;
    let clerk = t.user_token("01799000001", Role::Clerk).await;
    let h = counter_hold(&t, &clerk, trip, "DHK", "CTG", &["KA-1"]).await;
    let hold = HoldId(h.body["hold_id"].as_i64().unwrap());
    let first = sell(&t, &clerk, "k-1", hold, &["Karim"], "01711111111").await;
    let again = sell(&t, &clerk, "k-1", hold, &["Karim"], "01711111111").await;
    assert_eq!(first.status, StatusCode::CREATED);
    assert_eq!(again.status, StatusCode::CREATED);
    assert_eq!(first.body["order_id"], again.body["order_id"]);
    let changed = sell(&t, &clerk, "k-1", hold, &["Someone Else"], "01711111111").await;
    changed.assert_problem(422, "idempotency-key-reused");
    let ledger = t.app.check_invariants(None).await.unwrap().ledger;
    assert_eq!((ledger.confirmed_orders, ledger.gateway_net), (1, 450));
    invariants_hold(&t, trip).await;
}

async fn cancelling_a_cash_sale_hands_back_cash(t: TestApp) {
    let trip = tiny_trip(&t.app, 4).await;
    let clerk = t.user_token("01799000001", Role::Clerk).await;
    let order = sale(&t, &clerk, trip, &["KA-1", "KA-2"], "01711111111").await;
    let r = t
        .post_as(
            &format!("/v1/counter/orders/{order}/cancel"),
            &clerk,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // Departure is tomorrow night (> 24 h or 12–24 h away): a deduction applies.
    let refund = r.body["cash_refund"].as_i64().unwrap();
    assert!(refund > 0 && refund < 900, "{}", r.body);
    assert_eq!(r.body["card_refund"], 0);
    assert_eq!(r.body["order"]["refunded"], refund);
    // Repeating it neither refunds twice nor fails silently.
    let again = t
        .post_as(
            &format!("/v1/counter/orders/{order}/cancel"),
            &clerk,
            json!({}),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK);
    let shift = t.get_as("/v1/counter/shift", &clerk).await;
    assert_eq!(shift.body["refunds"], 1);
    assert_eq!(shift.body["cash_out"], refund);
    assert_eq!(shift.body["net_cash"], 900 - refund);
    // The seats are for sale again.
    let map = t
        .get_as(
            &format!("/v1/trips/{trip}/seats?from=DHK&to=CTG&detail=true"),
            &clerk,
        )
        .await;
    assert_eq!(seat_state(&map.body, "KA-1"), "free");
    invariants_hold(&t, trip).await;
}

async fn lookup_by_phone_and_pnr(t: TestApp) {
    let trip = tiny_trip(&t.app, 6).await;
    let clerk = t.user_token("01799000001", Role::Clerk).await;
    let a = sale(&t, &clerk, trip, &["KA-1"], "01711111111").await;
    let b = sale(&t, &clerk, trip, &["KA-2"], "01711111111").await;
    sale(&t, &clerk, trip, &["KA-3"], "01722222222").await;

    let found = t
        .get_as("/v1/counter/lookup?phone=%2B880%201711-111111", &clerk)
        .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    let ids: Vec<i64> = found.body["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["order"]["order_id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [b, a], "newest first, only that phone");

    let pnr = found.body["orders"][0]["tickets"][0]["pnr"]
        .as_str()
        .unwrap()
        .to_lowercase();
    let by_pnr = t
        .get_as(&format!("/v1/counter/lookup?pnr={pnr}"), &clerk)
        .await;
    assert_eq!(by_pnr.body["orders"][0]["order"]["order_id"], b);

    t.get_as("/v1/counter/lookup?phone=12345", &clerk)
        .await
        .assert_problem(422, "invalid-field");
    t.get_as("/v1/counter/lookup", &clerk)
        .await
        .assert_problem(422, "invalid-field");
    let none = t.get_as("/v1/counter/lookup?pnr=NOSUCHPNR", &clerk).await;
    assert_eq!(none.body["orders"], json!([]));
}

async fn seat_maps_tell_held_from_sold(t: TestApp) {
    let trip = tiny_trip(&t.app, 8).await;
    let clerk = t.user_token("01799000001", Role::Clerk).await;
    sale(&t, &clerk, trip, &["KA-1"], "01711111111").await;
    let h = counter_hold(&t, &clerk, trip, "DHK", "FNI", &["KA-2"]).await;
    assert_eq!(h.status, StatusCode::CREATED);

    let full = t
        .get_as(
            &format!("/v1/trips/{trip}/seats?from=DHK&to=CTG&detail=true"),
            &clerk,
        )
        .await;
    assert_eq!(seat_state(&full.body, "KA-1"), "sold");
    assert_eq!(seat_state(&full.body, "KA-2"), "held");
    assert_eq!(seat_state(&full.body, "KA-3"), "free");
    // KA-2 is held only Dhaka → Feni: Feni → Chattogram it is free.
    let second_half = t
        .get_as(
            &format!("/v1/trips/{trip}/seats?from=FNI&to=CTG&detail=true"),
            &clerk,
        )
        .await;
    assert_eq!(seat_state(&second_half.body, "KA-2"), "free");
    // Without detail, the passenger map is unchanged: free or not.
    let plain = t
        .get(&format!("/v1/trips/{trip}/seats?from=DHK&to=CTG"))
        .await;
    assert!(plain.body["coaches"][0]["seats"][0].get("state").is_none());
    assert_eq!(plain.body["coaches"][0]["seats"][0]["free"], false);
}

/// Reads server-sent events until `n` arrived (or the deadline passed).
async fn events(resp: &mut reqwest::Response, n: usize) -> Vec<String> {
    let mut seen = Vec::new();
    let mut buf = String::new();
    while seen.len() < n {
        let chunk = tokio::time::timeout(Duration::from_secs(5), resp.chunk())
            .await
            .expect("an event within 5 s")
            .unwrap()
            .expect("the stream stays open");
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let event: String = buf.drain(..end + 2).collect();
            if let Some(data) = event.lines().find_map(|l| l.strip_prefix("data:")) {
                seen.push(data.trim().to_owned());
            }
        }
    }
    seen
}

async fn the_live_stream_tells_of_every_change(t: TestApp) {
    let trip = tiny_trip(&t.app, 8).await;
    let clerk = t.user_token("01799000001", Role::Clerk).await;
    let (_, passenger) = quick_user(&t.app, 7).await;
    let mut stream = t
        .client
        .get(t.url(&format!("/v1/trips/{trip}/live")))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    assert!(
        stream.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let first = events(&mut stream, 1).await;
    assert_eq!(first[0], format!(r#"{{"trip_id":{trip},"version":0}}"#));

    // An online passenger holds a seat: the clerk's stream hears of it.
    let r = t
        .post_as(
            "/v1/holds",
            &passenger,
            json!({ "trip_id": trip, "from": "DHK", "to": "CTG", "class": "S_CHAIR", "seats": ["KA-1"] }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let next = events(&mut stream, 1).await;
    assert!(next[0].contains(r#""version":1"#), "{next:?}");
    // A counter sale changes it again (held → sold changes no mask, but is news).
    sale(&t, &clerk, trip, &["KA-8"], "01711111111").await;
    let later = events(&mut stream, 1).await;
    assert!(!later[0].contains(r#""version":1}"#), "{later:?}");

    t.get(&format!("/v1/trips/{}/live", trip.get() + 1000))
        .await
        .assert_problem(404, "not-found");
}

async fn bad_counter_input_changes_nothing(t: TestApp) {
    let trip = tiny_trip(&t.app, 4).await;
    let clerk = t.user_token("01799000001", Role::Clerk).await;
    let h = counter_hold(&t, &clerk, trip, "DHK", "CTG", &["KA-1"]).await;
    let hold = HoldId(h.body["hold_id"].as_i64().unwrap());
    let before = t.app.check_invariants(None).await.unwrap().ledger;

    // No Idempotency-Key.
    let r = t
        .post_as(
            "/v1/counter/orders",
            &clerk,
            json!({ "hold_id": hold, "passengers": [{ "name": "A" }], "phone": "01711111111", "nid": nid_for_phone("01711111111") }),
        )
        .await;
    r.assert_problem(400, "idempotency-key-missing");
    // A phone that is not a Bangladeshi mobile.
    sell(&t, &clerk, "k", hold, &["A"], "12345")
        .await
        .assert_problem(422, "invalid-field");
    // Someone else's (or no such) hold.
    sell(
        &t,
        &clerk,
        "k2",
        HoldId(hold.get() + 99),
        &["A"],
        "01711111111",
    )
    .await
    .assert_problem(404, "not-found");
    // Wrong types and unknown fields.
    let req = t
        .client
        .post(t.url("/v1/counter/orders"))
        .bearer_auth(&clerk)
        .header("idempotency-key", "k3")
        .json(&json!({ "hold_id": "one", "passengers": [], "phone": 1, "nid": "5511711111111" }));
    Reply::from_response(req.send().await.unwrap())
        .await
        .assert_problem(422, "invalid-body");
    // Seats that are taken, and a seat that does not exist.
    counter_hold(&t, &clerk, trip, "DHK", "FNI", &["KA-1"])
        .await
        .assert_problem(409, "seats-unavailable");
    counter_hold(&t, &clerk, trip, "DHK", "CTG", &["KA-99"])
        .await
        .assert_problem(422, "invalid-field");
    // An unknown station.
    let r = t
        .post_as(
            "/v1/counter/holds",
            &clerk,
            json!({ "trip_id": trip, "from": "Dhakka", "to": "CTG", "class": "S_CHAIR", "seats": ["KA-2"] }),
        )
        .await;
    r.assert_problem(422, "unknown-station");

    assert_eq!(t.app.check_invariants(None).await.unwrap().ledger, before);
    let map = t
        .get_as(
            &format!("/v1/trips/{trip}/seats?from=DHK&to=CTG&detail=true"),
            &clerk,
        )
        .await;
    assert_eq!(
        seat_state(&map.body, "KA-1"),
        "held",
        "the hold is untouched"
    );
    assert_eq!(seat_state(&map.body, "KA-2"), "free");
}

on_both_backends!(
    a_cash_sale_issues_tickets_and_counts_in_the_shift,
    counter_endpoints_need_a_clerk,
    four_seats_per_passenger_phone_not_per_clerk,
    a_retried_sale_sells_once,
    cancelling_a_cash_sale_hands_back_cash,
    lookup_by_phone_and_pnr,
    seat_maps_tell_held_from_sold,
    the_live_stream_tells_of_every_change,
    bad_counter_input_changes_nothing,
);
