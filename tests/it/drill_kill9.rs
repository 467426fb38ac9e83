//! Drill: `kill -9` of the server in the middle of a sale (runbook: "A server
//! process died"). A crowd buys against the real binary; the process is killed
//! without warning and started again on the same port by its supervisor.
//!
//! The second drill does the same to a real `ticketctl rehearse` run against
//! the server, whose own verdict on the invariants must hold.
//!
//! Clients see: no answer (connection refused or cut, status 0) while it is
//! down, never a 5xx; an order sent again under its Idempotency-Key after the
//! restart gets the one outcome of that order. Afterwards: nothing lost.

use std::time::Duration;

use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::common::db::{TestDb, scalar};
use crate::common::drill::{
    Cards, Crowd, SERVE_FLAGS, assert_invariants, assert_nothing_lost, stage, wait_fulfilled,
    wait_settled,
};
use crate::common::gateway::{GatewayProcess, ledger_path};
use crate::common::process::ServedBinary;

/// The drills' serve flags, paying through `gateway`.
fn with_gateway(gateway: &GatewayProcess) -> Vec<String> {
    let mut flags: Vec<String> = SERVE_FLAGS.iter().map(|f| f.to_string()).collect();
    flags.extend(gateway.serve_flags());
    flags
}
use crate::common::server::TEST_JWT_SECRET;

async fn kill_9_during_a_sale(db: TestDb) {
    let stage = stage(&db, 200).await;
    // The card gateway is a party of its own: it outlives the server's kill.
    let gateway = GatewayProcess::start(ledger_path(db.url()), &[]).await;
    let mut flags = with_gateway(&gateway);
    // Events the killed process had claimed come round again when its lease
    // ends: short here, so the restarted server settles them within the test.
    flags.extend(["--outbox-lease-secs".to_owned(), "2".to_owned()]);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let server = ServedBinary::start(db.url(), &flags).await;
    let port = server.port;
    let crowd = Crowd::start(&server.base, stage.trip, &stage.tokens, Cards::Mostly);

    tokio::time::sleep(Duration::from_millis(1500)).await;
    let killed_at = crowd.elapsed();
    server.kill_9();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let restarting_at = crowd.elapsed();
    let server = ServedBinary::start_on(port, db.url(), &flags).await;
    let back_at = crowd.elapsed();
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let seen = crowd.finish().await;

    // What clients saw: while it was down, no answer at all (the card
    // gateway, a process of its own, kept answering its own requests).
    let mut down = seen.in_flight_between(killed_at + Duration::from_millis(100), restarting_at);
    down.retain(|s| s.step != "tokenize");
    assert!(
        !down.is_empty(),
        "the crowd kept trying while the server was down"
    );
    assert!(
        down.iter().all(|s| s.status == 0),
        "only a dead server's silence while it was down: {down:?}"
    );
    seen.assert_no_500s();
    assert!(
        seen.confirmed_after(back_at) > 0,
        "sales go on after the restart: {:?}",
        seen.statuses()
    );

    // The restarted server settles the orders the crash cut short by itself.
    wait_settled(&db, Duration::from_secs(15)).await;
    // Refunds are paid by the fulfilment consumer: wait for it too, so the
    // money check sees what the restarted server did, not a lease still running.
    wait_fulfilled(&db, Duration::from_secs(15)).await;
    server.stop();
    assert_nothing_lost(&db, stage.trip, &seen).await;
}

/// `ticketctl rehearse --server` against the served binary, killed with -9
/// once the rehearsal's passengers are buying and restarted a second later.
async fn kill_9_during_a_rehearsal(db: TestDb) {
    let stage = stage(&db, 200).await;
    let gateway = GatewayProcess::start(ledger_path(db.url()), &[]).await;
    let flags = with_gateway(&gateway);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let server = ServedBinary::start(db.url(), &flags).await;
    let port = server.port;
    let chart = tempfile::tempdir().unwrap();
    // 60 passengers, each an account made in the database with a token signed
    // with the server's secret, arrive over 4 s, 8 at a time, on the trip
    // staged for tomorrow.
    let rehearsal = Command::new(env!("CARGO_BIN_EXE_ticketctl"))
        .args([
            "rehearse",
            "--server",
            &server.base,
            "--use-database",
            "--json",
            "--gateway-url",
            &gateway.url,
        ])
        .args([
            "--passengers",
            "60",
            "--concurrency",
            "8",
            "--arrival-secs",
            "4",
        ])
        .args([
            "--decline-share",
            "0.1",
            "--timeout-share",
            "0",
            "--abandon-share",
            "0.1",
        ])
        .arg("--chart")
        .arg(chart.path().join("rehearsal.svg"))
        .env("DATABASE_URL", db.url())
        .env("TICKETCTL_JWT_SECRET", TEST_JWT_SECRET)
        .env("TICKETCTL_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start ticketctl rehearse");
    let deadline = Instant::now() + Duration::from_secs(40);
    while scalar(&db, "SELECT COUNT(*) FROM holds").await == 0 {
        assert!(
            Instant::now() < deadline,
            "the rehearsal never started buying"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    server.kill_9();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let server = ServedBinary::start_on(port, db.url(), &flags).await;
    let out = tokio::task::spawn_blocking(move || rehearsal.wait_with_output())
        .await
        .unwrap()
        .expect("the rehearsal ran");
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    assert!(out.status.success(), "the rehearsal's verdict: {report:#}");

    // What the rehearsal's passengers saw: the dead server's silence, no 5xx.
    let statuses: Vec<(u64, u64)> = report["statuses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_u64().unwrap(), p[1].as_u64().unwrap()))
        .collect();
    assert!(statuses.iter().any(|(s, _)| *s == 0), "{statuses:?}");
    assert!(statuses.iter().all(|(s, _)| *s < 500), "{statuses:?}");
    assert!(report["bookings"].as_u64().unwrap() > 0, "{report:#}");
    assert_eq!(report["invariants"]["ok"], true, "{report:#}");

    wait_settled(&db, Duration::from_secs(15)).await;
    server.stop();
    assert_invariants(&db, stage.trip).await;
}

on_both_databases!(kill_9_during_a_sale, kill_9_during_a_rehearsal);
