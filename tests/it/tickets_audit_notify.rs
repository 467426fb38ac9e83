//! Tickets checked by the CLI like an inspector would (payload, PNG, offline key),
//! the audit chain detecting tampering, and notifications written per event.

use crate::common::server::{TestApp, quick_user, test_config, tiny_trip};
use serde_json::json;
use std::process::Command;
use ticketctl::domain::{AuditEntryId, OrderId, UserId};

fn ticketctl(db_url: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ticketctl"))
        .args(args)
        .env("DATABASE_URL", db_url)
        .env("TICKETCTL_LOG", "warn")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Books one seat and returns (ticket payload, order id).
async fn book(t: &TestApp) -> (String, OrderId) {
    let trip = tiny_trip(&t.app, 8).await;
    let (_, token) = quick_user(&t.app, 1).await;
    let card = crate::common::booking_flow::card(t, &token, "4242424242424242").await;
    let held = t
        .post_as(
            "/v1/holds",
            &token,
            json!({ "trip_id": trip, "from": "DHK", "to": "CTG", "class": "S_CHAIR", "count": 1 }),
        )
        .await;
    let req = t
        .client
        .post(t.url("/v1/orders"))
        .bearer_auth(&token)
        .header("idempotency-key", "k1")
        .json(&json!({ "hold_id": held.body["hold_id"], "passengers": [{ "name": "Rahima" }], "payment_token": card }));
    let order: serde_json::Value = req.send().await.unwrap().json().await.unwrap();
    assert_eq!(order["status"], "confirmed", "{order}");
    let ticket = t
        .app
        .raw_store()
        .tickets_of_order(OrderId(order["order_id"].as_i64().unwrap()))
        .await
        .unwrap()
        .remove(0);
    (ticket.payload, ticket.order_id)
}

async fn inspectors_verify_tickets_with_the_cli(t: TestApp) {
    let (payload, order_id) = book(&t).await;
    let url = t.db.url().to_owned();
    let key = t.app.ticket_public_key();
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("ticket.png");
    std::fs::write(&png, ticketctl::adapters::qr::png(&payload).unwrap()).unwrap();
    let png = png.to_str().unwrap().to_owned();

    let (ok, out) = ticketctl(&url, &["ticket", "verify", &payload]);
    assert!(ok && out.contains("VALID"), "{out}");
    let (ok, out) = ticketctl(&url, &["ticket", "verify", &png]);
    assert!(ok && out.contains("Rahima"), "{out}");
    // Offline: only the public key, and a database URL that does not exist.
    let (ok, out) = ticketctl(
        "postgres://nobody@127.0.0.1:1/none",
        &["ticket", "verify", &png, "--public-key", &key],
    );
    assert!(ok, "{out}");
    let other_key = hex::encode([9u8; 32]);
    let (ok, out) = ticketctl(
        &url,
        &["ticket", "verify", &payload, "--public-key", &other_key],
    );
    assert!(!ok && out.contains("FORGED"), "{out}");
    let (ok, out) = ticketctl(&url, &["ticket", "verify", "/no/such/file.png"]);
    assert!(!ok && out.contains("reading"), "{out}");

    // Cancelled tickets are refused by the online check.
    t.app.cancel_order(order_id, UserId(0), true).await.unwrap();
    let (ok, out) = ticketctl(&url, &["ticket", "verify", &payload]);
    assert!(!ok && out.contains("CANCELLED"), "{out}");
}

/// Edits one audit row behind the application's back.
async fn tamper(db: &crate::common::db::TestDb) {
    match db {
        crate::common::db::TestDb::Sqlite { .. } => {
            let path = db.url().trim_start_matches("sqlite://").to_owned();
            let conn = rusqlite::Connection::open(path).unwrap();
            conn.execute(
                "UPDATE audit_log SET detail = '{\"order_id\":1,\"amount\":1}' WHERE id = 2",
                [],
            )
            .unwrap();
        }
        crate::common::db::TestDb::Postgres(_) => {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(db.url()).await.unwrap();
            sqlx::query(
                "UPDATE audit_log SET detail = '{\"order_id\":1,\"amount\":1}' WHERE id = 2",
            )
            .execute(&mut conn)
            .await
            .unwrap();
        }
    }
}

async fn the_audit_chain_detects_an_edited_entry(t: TestApp) {
    book(&t).await;
    t.app.settle().await.unwrap();
    let check = t.app.verify_audit().await.unwrap();
    assert!(
        check.entries >= 4,
        "reserved, paid, confirmed, ticket issued: {check:?}"
    );
    assert_eq!(check.first_broken, None);
    let url = t.db.url().to_owned();
    let (ok, out) = ticketctl(&url, &["audit", "verify"]);
    assert!(ok && out.contains("chain intact"), "{out}");

    tamper(&t.db).await;
    assert_eq!(
        t.app.verify_audit().await.unwrap().first_broken,
        Some(AuditEntryId(2))
    );
    let (ok, out) = ticketctl(&url, &["audit", "verify"]);
    assert!(!ok && out.contains("TAMPERED at entry 2"), "{out}");
}

async fn notifications_are_written_once_per_event(db: crate::common::db::TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let config = ticketctl::app::AppConfig {
        notifications_dir: Some(dir.path().to_owned()),
        ..test_config()
    };
    let t = TestApp::start_with(db, config).await;
    book(&t).await;
    t.app.settle().await.unwrap();
    let mut files: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert_eq!(
        files.len(),
        2,
        "one e-mail and one SMS for the ticket: {files:?}"
    );
    let email = std::fs::read_to_string(
        dir.path()
            .join(files.iter().find(|f| f.ends_with("email.txt")).unwrap()),
    )
    .unwrap();
    assert!(
        email.contains("To: p1@test.ticketctl") && email.contains("Test Express"),
        "{email}"
    );
    let sms = std::fs::read_to_string(
        dir.path()
            .join(files.iter().find(|f| f.ends_with("sms.txt")).unwrap()),
    )
    .unwrap();
    assert!(sms.contains("+8801700000001"), "{sms}");
    assert!(
        !email.contains("4242424242424242") && !sms.contains("4242424242424242"),
        "no card numbers in messages"
    );

    // Redelivery (a crash before the events were marked): the same two files,
    // not a second e-mail and SMS.
    crate::common::db::exec(&t.db, "UPDATE outbox SET notified_at = NULL").await;
    // (The server's own worker may take them first; either way they are handled again.)
    t.app.settle().await.unwrap();
    let unhandled = crate::common::db::scalar(
        &t.db,
        "SELECT COUNT(*) FROM outbox WHERE notified_at IS NULL",
    )
    .await;
    assert_eq!(unhandled, 0, "the events came round again and were handled");
    let mut again: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    again.sort();
    assert_eq!(again, files, "each event's messages are written once");
}

on_both_backends!(
    inspectors_verify_tickets_with_the_cli,
    the_audit_chain_detects_an_edited_entry
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_sqlite() {
    notifications_are_written_once_per_event(crate::common::db::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_postgres() {
    if let Some(db) = crate::common::db::postgres().await {
        notifications_are_written_once_per_event(db).await;
    }
}

/// The ticket e-mail goes out over real SMTP through the SMTP adapter (what
/// `--smtp-url` plugs in) to a sink in the test that speaks SMTP, with its
/// subject, recipient and PNR.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticket_email_goes_through_a_real_smtp_server() {
    let mut smtp = crate::common::smtp::SmtpSink::start().await;
    let mailer = ticketctl::adapters::smtp::SmtpMailer::new(
        &smtp.url(),
        "Bangladesh Railway tickets <tickets@localhost>",
    )
    .unwrap();
    let t = TestApp::start_plugged(
        crate::common::db::sqlite(),
        test_config(),
        ticketctl::server::Limits::unlimited(),
        |app| app.with_mailer(std::sync::Arc::new(mailer)),
    )
    .await;
    let (payload, _) = book(&t).await;
    t.app.settle().await.unwrap();
    let claims = ticketctl::app::tickets::verify_offline(
        &payload,
        &ticketctl::app::tickets::parse_public_key(&t.app.ticket_public_key()).unwrap(),
    )
    .claims
    .unwrap();
    let mail = smtp.next_mail(std::time::Duration::from_secs(10)).await;
    assert_eq!(mail.to, vec!["p1@test.ticketctl".to_owned()], "{mail:?}");
    assert!(
        mail.data
            .contains("Subject: Bangladesh Railway: ticket issued"),
        "{}",
        mail.data
    );
    assert!(mail.data.contains("p1@test.ticketctl"), "{}", mail.data);
    assert!(mail.data.contains(&claims.pnr), "{}", mail.data);
}
