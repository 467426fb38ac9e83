//! Cancelling a whole trip, on both backends: card, cash (counter) and held
//! seats; every passenger refunded in full exactly once (the gateway's ledger
//! and the cash drawer agree) and told; a repeat refunds nothing more; the
//! trip sells nothing afterwards; and the real `ticketctl trip cancel` killed
//! with SIGKILL halfway, then run again, still refunds each order once.

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::booking_flow::{Booked, book, hold};
use crate::common::db::{TestDb, scalar};
use crate::common::gateway::{GatewayProcess, charge, ledger_path, remove_ledger};
use crate::common::server::{TestApp, nid_for_phone, test_config, tiny_trip};
use ticketctl::domain::{OrderId, Role, TripId};

const CARD: &str = "4242424242424242";
const REASON: &str = "Flood on the line near Feni";

/// A clerk sells `seats` for cash; returns the order id.
async fn cash_sale(t: &TestApp, clerk: &str, trip: TripId, seats: &[&str], phone: &str) -> OrderId {
    let h = t
        .post_as(
            "/v1/counter/holds",
            clerk,
            json!({ "trip_id": trip, "from": "DHK", "to": "CTG", "class": "S_CHAIR", "seats": seats }),
        )
        .await;
    assert_eq!(h.status, StatusCode::CREATED, "{}", h.body);
    let passengers: Vec<Value> = (0..seats.len())
        .map(|i| json!({ "name": format!("Rahima {i}") }))
        .collect();
    let req = t
        .client
        .post(t.url("/v1/counter/orders"))
        .bearer_auth(clerk)
        .header("idempotency-key", format!("cash-{}", h.body["hold_id"]))
        .json(
            &json!({ "hold_id": h.body["hold_id"], "passengers": passengers,
                       "phone": phone, "nid": nid_for_phone(phone) }),
        );
    let r = crate::common::server::Reply::from_response(req.send().await.unwrap()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["status"], "confirmed");
    OrderId(r.body["order_id"].as_i64().unwrap())
}

fn amount(b: &Booked) -> i64 {
    assert_eq!(b.reply.body["status"], "confirmed", "{}", b.reply.body);
    b.reply.body["amount"]
        .as_i64()
        .unwrap_or_else(|| panic!("an amount in {}", b.reply.body))
}

/// (amount, refunded) of a cash sale in the cash drawer's ledger.
async fn cash_ledger(db: &TestDb, order: OrderId) -> (i64, i64) {
    let key = format!("'order-{order}'");
    (
        scalar(
            db,
            &format!("SELECT amount FROM cash_charges WHERE idempotency_key = {key}"),
        )
        .await,
        scalar(
            db,
            &format!("SELECT refunded FROM cash_charges WHERE idempotency_key = {key}"),
        )
        .await,
    )
}

async fn card_refunded(t: &TestApp, order: OrderId) -> (i64, i64) {
    let c = charge(&t.app, &format!("order-{order}"))
        .await
        .expect("the gateway has the charge");
    (
        c["amount"].as_i64().unwrap(),
        c["refunded"].as_i64().unwrap(),
    )
}

async fn cancel(
    t: &TestApp,
    admin: &str,
    trip: TripId,
    body: Value,
) -> crate::common::server::Reply {
    t.post_as(&format!("/v1/admin/trips/{trip}/cancel"), admin, body)
        .await
}

/// The SMS written for refunds, one file per event (`notifications_dir`).
fn refund_sms(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with("sms.txt"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .filter(|text| text.contains("Refund Tk") || text.contains("ফেরত"))
        .collect()
}

async fn a_cancelled_trip_refunds_every_passenger_once(db: TestDb) {
    let notes = tempfile::tempdir().unwrap();
    let config = ticketctl::app::AppConfig {
        notifications_dir: Some(notes.path().to_owned()),
        ..test_config()
    };
    let t = TestApp::start_with(db, config).await;
    let trip = tiny_trip(&t.app, 12).await;
    // The clerk names seats, so the counter sells first: online buyers get
    // seats chosen for them (at random on Postgres), which could be these.
    let clerk = t.user_token("01799000001", Role::Clerk).await;
    let cash = cash_sale(&t, &clerk, trip, &["KA-9", "KA-10"], "01711111111").await;
    let a = book(&t, trip, 1, 2, CARD).await;
    let b = book(&t, trip, 2, 1, CARD).await;
    let (_, _, held) = hold(&t, trip, 3, 1).await;
    let admin = t.user_token("01799000002", Role::Admin).await;
    let (cash_amount, _) = cash_ledger(&t.db, cash).await;
    let total = amount(&a) + amount(&b) + cash_amount;

    let r = cancel(&t, &admin, trip, json!({ "reason": REASON })).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["newly_cancelled"], true);
    assert_eq!(r.body["orders_refunded"], 3, "{}", r.body);
    assert_eq!(r.body["amount_refunded"], total, "{}", r.body);
    assert_eq!(r.body["holds_released"], 1, "{}", r.body);
    assert_eq!(r.body["finished"], true, "{}", r.body);
    assert!(r.body["actor"].as_str().unwrap().starts_with("user "));

    // Every passenger got everything back, through the way they paid.
    for o in [&a, &b] {
        assert_eq!(card_refunded(&t, o.order_id).await, (amount(o), amount(o)));
        let view = t
            .get_as(&format!("/v1/orders/{}", o.order_id), &o.token)
            .await;
        assert_eq!(view.body["status"], "refunded", "{}", view.body);
    }
    assert_eq!(cash_ledger(&t.db, cash).await, (cash_amount, cash_amount));
    assert_eq!(
        scalar(&t.db, &format!("SELECT COUNT(*) FROM tickets t JOIN orders o ON o.id = t.order_id WHERE o.trip_id = {trip} AND t.status <> 'cancelled'")).await,
        0,
        "every ticket is void"
    );
    assert_eq!(
        scalar(
            &t.db,
            &format!("SELECT COUNT(*) FROM holds WHERE id = {held} AND status = 'released'")
        )
        .await,
        1
    );

    // A repeat is harmless: nothing more is refunded.
    let again = cancel(&t, &admin, trip, json!({ "reason": "another reason" })).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(again.body["newly_cancelled"], false);
    assert_eq!(again.body["reason"], REASON, "the first record stands");
    assert_eq!(again.body["orders_refunded"], 0);
    assert_eq!(again.body["refunds_settled"], 3);
    for o in [&a, &b] {
        assert_eq!(card_refunded(&t, o.order_id).await, (amount(o), amount(o)));
    }
    assert_eq!(cash_ledger(&t.db, cash).await, (cash_amount, cash_amount));

    // The trip sells nothing now, online or at the counter.
    let (_, token) = crate::common::server::quick_user(&t.app, 4).await;
    let refused = t
        .post_as(
            "/v1/holds",
            &token,
            json!({ "trip_id": trip, "from": "DHK", "to": "CTG", "class": "S_CHAIR", "count": 1 }),
        )
        .await;
    refused.assert_problem(409, "conflict");
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap()
            .contains("cancelled")
    );
    let at_counter = t
        .post_as(
            "/v1/counter/holds",
            &clerk,
            json!({ "trip_id": trip, "from": "DHK", "to": "CTG", "class": "S_CHAIR", "count": 1 }),
        )
        .await;
    at_counter.assert_problem(409, "conflict");

    // Passengers are told, once per order; the cancellation is in the audit chain.
    t.app.settle().await.unwrap();
    let sms = refund_sms(notes.path());
    assert_eq!(sms.len(), 3, "{sms:?}");
    // (Each passenger in their own language: the cash buyer's SMS is in Bangla.)
    for phone in ["+8801700000001", "+8801700000002", "+8801711111111"] {
        let told = sms
            .iter()
            .filter(|s| s.contains(&format!("To: {phone}")))
            .count();
        assert_eq!(told, 1, "{phone} told once: {sms:?}");
    }
    assert_eq!(
        scalar(
            &t.db,
            "SELECT COUNT(*) FROM audit_log WHERE kind = 'trip.operated'"
        )
        .await,
        1
    );
    let report = t.app.check_invariants(Some(trip)).await.unwrap();
    assert!(
        report.money_mismatches.is_empty(),
        "{:?}",
        report.money_mismatches
    );
    assert!(report.double_taken.is_empty() && report.mask_mismatches.is_empty());
}

async fn bad_cancellations_change_nothing(t: TestApp) {
    let trip = tiny_trip(&t.app, 4).await;
    let a = book(&t, trip, 1, 1, CARD).await;
    let admin = t.user_token("01799000002", Role::Admin).await;
    let clerk = t.user_token("01799000001", Role::Clerk).await;
    cancel(&t, &clerk, trip, json!({ "reason": REASON }))
        .await
        .assert_problem(403, "forbidden");
    for body in [
        json!({}),
        json!({ "reason": "" }),
        json!({ "reason": "   " }),
        json!({ "reason": "x\u{202E}y" }),
        json!({ "reason": "x".repeat(300) }),
        json!({ "reason": REASON, "extra": 1 }),
        json!({ "reason": 5 }),
    ] {
        let r = cancel(&t, &admin, trip, body.clone()).await;
        assert!(
            r.status.is_client_error(),
            "{body}: {} {}",
            r.status,
            r.body
        );
        assert!(r.content_type.starts_with("application/problem+json"));
    }
    cancel(&t, &admin, TripId(999_999), json!({ "reason": REASON }))
        .await
        .assert_problem(404, "not-found");
    let r = t
        .post_as(
            "/v1/admin/trips/abc/cancel",
            &admin,
            json!({ "reason": REASON }),
        )
        .await;
    assert!(r.status.is_client_error(), "{}", r.status);
    // Nothing was recorded or refunded.
    assert_eq!(
        scalar(&t.db, "SELECT COUNT(*) FROM trip_cancellations").await,
        0
    );
    assert_eq!(card_refunded(&t, a.order_id).await, (amount(&a), 0));
    let ok = t
        .post_as(
            "/v1/holds",
            &a.token,
            json!({ "trip_id": trip, "from": "DHK", "to": "CTG", "class": "S_CHAIR", "count": 1 }),
        )
        .await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.body);
}

on_both_with!(refused, test_config: bad_cancellations_change_nothing);

/// `ticketctl trip cancel` against `db`, refunding through `gw`.
fn cancel_command(db: &TestDb, gw: &GatewayProcess, trip: TripId) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ticketctl"));
    cmd.args([
        "trip",
        "cancel",
        "--trip",
        &trip.to_string(),
        "--reason",
        REASON,
    ])
    .args(["--gateway-url", &gw.url, "--pace-ms", "400", "--json"])
    .env("DATABASE_URL", db.url())
    .env("TICKETCTL_LOG", "warn");
    cmd
}

async fn refunded_orders(db: &TestDb, trip: TripId) -> i64 {
    scalar(
        db,
        &format!("SELECT COUNT(*) FROM orders WHERE trip_id = {trip} AND status = 'refunded'"),
    )
    .await
}

async fn a_killed_cancellation_run_again_refunds_once(db: TestDb) {
    remove_ledger(db.url());
    let gw = GatewayProcess::start(ledger_path(db.url()), &[]).await;
    let t = TestApp::start_with(
        db,
        ticketctl::app::AppConfig {
            gateway: gw.config(test_config().gateway),
            ..test_config()
        },
    )
    .await;
    let trip = tiny_trip(&t.app, 12).await;
    let mut booked = Vec::new();
    for n in 1..=6 {
        booked.push(book(&t, trip, n, 1, CARD).await);
    }

    // The first run is killed once some orders are refunded and others not.
    let mut child = cancel_command(&t.db, &gw, trip)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start ticketctl trip cancel");
    let deadline = Instant::now() + Duration::from_secs(60);
    while refunded_orders(&t.db, trip).await < 2 {
        assert!(Instant::now() < deadline, "the cancellation did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().expect("SIGKILL"); // std's kill is SIGKILL on Unix
    child.wait().unwrap();
    let refunded_when_killed = refunded_orders(&t.db, trip).await;
    assert!(
        (2..6).contains(&refunded_when_killed),
        "killed halfway: {refunded_when_killed} of 6 refunded"
    );

    // Run again: it finishes the rest.
    let out = cancel_command(&t.db, &gw, trip).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_str(&text).expect("a JSON report");
    assert_eq!(report["newly_cancelled"], false);
    assert_eq!(
        report["orders_refunded"],
        6 - refunded_when_killed,
        "{report}"
    );
    assert_eq!(report["finished"], true);
    assert!(report["actor"].as_str().unwrap().starts_with("cli "));
    assert_eq!(refunded_orders(&t.db, trip).await, 6);

    // Each passenger's charge is refunded once, in full: never more.
    for b in &booked {
        assert_eq!(card_refunded(&t, b.order_id).await, (amount(b), amount(b)));
    }
    let (_, summary) = gw.get("/v1/ledger/summary").await;
    let paid: i64 = booked.iter().map(amount).sum();
    assert_eq!(summary["refunded"].as_i64(), Some(paid), "{summary}");
    let report = t.app.check_invariants(Some(trip)).await.unwrap();
    assert!(
        report.money_mismatches.is_empty(),
        "{:?}",
        report.money_mismatches
    );
}

on_both_databases!(
    a_cancelled_trip_refunds_every_passenger_once,
    a_killed_cancellation_run_again_refunds_once
);
