//! Drills on the card gateway (runbook: "Card gateway slow or down").
//!
//! The gateway is a process of its own (`ticketctl mock-gateway`), so "down"
//! is drilled by killing it mid-sale and starting it again; before that, its
//! test cards …0259 (no answer, nothing charged) and …0119 (the charge lands,
//! its answer never arrives) drill a gateway that stops answering while it
//! runs. "Slow" is a gateway latency above the charge timeout, then the
//! gateway restarted without it.
//!
//! Clients see 402 problem+json `/problems/payment-failed` within the charge
//! timeout, never a 500 or a hang; every such order ends failed with its seats
//! free, and money the gateway took without an answer is refunded in full
//! once it answers again: never money taken without a ticket.

use std::collections::HashSet;
use std::time::Duration;

use crate::common::db::{TestDb, strings};
use crate::common::drill::{
    Cards, Crowd, SERVE_FLAGS, Seens, assert_nothing_lost, save_cards, stage, wait_settled,
};
use crate::common::gateway::{GatewayProcess, ledger_path};
use crate::common::process::ServedBinary;

/// Orders sent within `from..to` were answered 402 payment-failed within the
/// charge timeout (1 s) and some slack, and none was confirmed.
fn assert_payments_failed(seen: &Seens, from: Duration, to: Duration) {
    let orders: Vec<_> = seen
        .between(from, to)
        .into_iter()
        .filter(|s| s.step == "order")
        .collect();
    assert!(
        !orders.is_empty(),
        "orders were placed within {from:?}..{to:?}: {:?}\n{:?}",
        seen.statuses(),
        seen.requests
            .iter()
            .map(|s| (s.step, s.at.as_millis(), s.status))
            .collect::<Vec<_>>()
    );
    for s in &orders {
        assert_eq!(s.status, 402, "{s:?}");
        assert_eq!(
            s.problem.as_deref(),
            Some("/problems/payment-failed"),
            "{s:?}"
        );
        assert!(s.took < Duration::from_secs(4), "answered in time: {s:?}");
    }
    seen.assert_no_500s();
}

/// The server on `db` paying through `gateway`.
async fn serve(db: &TestDb, gateway: &GatewayProcess) -> ServedBinary {
    let mut flags: Vec<String> = SERVE_FLAGS.iter().map(|f| f.to_string()).collect();
    flags.extend(gateway.serve_flags());
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    ServedBinary::start(db.url(), &flags).await
}

async fn gateway_stops_answering_then_is_killed_mid_sale(db: TestDb) {
    let stage = stage(&db, 200).await;
    // The gateway's ledger file is where the checker looks for it.
    let mut gateway = GatewayProcess::start(ledger_path(db.url()), &[]).await;
    let server = serve(&db, &gateway).await;
    // Every account saved a card first, so purchases go on while it is down.
    let saved = save_cards(&server.base, &stage.tokens, "4242424242424242").await;
    let crowd = Crowd::start_with_saved(
        &server.base,
        stage.trip,
        &stage.tokens,
        Cards::Mostly,
        None,
        saved,
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let silent_at = crowd.elapsed();
    crowd.pay_with(Cards::Unanswered);
    tokio::time::sleep(Duration::from_millis(4000)).await;
    let killed_at = crowd.elapsed();
    crowd.pay_with(Cards::Mostly);
    gateway.kill();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let back_at = crowd.elapsed();
    gateway.restart(&[]).await;
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let seen = crowd.finish().await;

    // Orders paid with a silent gateway: in flight at the switch (a card
    // chosen before it, still being tokenized and registered under load)
    // may be either.
    assert_payments_failed(&seen, silent_at + Duration::from_millis(1000), killed_at);
    // Orders paid with cards saved before the kill, while it is down (those
    // in flight as it comes back may find it up).
    assert_payments_failed(
        &seen,
        killed_at + Duration::from_millis(100),
        back_at - Duration::from_millis(300),
    );
    assert!(
        seen.confirmed_after(back_at + Duration::from_millis(100)) > 0,
        "{:?}",
        seen.statuses()
    );

    wait_settled(&db, Duration::from_secs(15)).await;
    server.stop();
    assert_nothing_lost(&db, stage.trip, &seen).await;
    // Charges that landed without an answer (…0119) were all given back.
    let lost: HashSet<String> = token_ids(&db, "0119").await;
    let (s, ledger) = gateway.get("/v1/ledger/charges").await;
    assert_eq!(s, 200, "{ledger}");
    let landed: Vec<_> = ledger["charges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| lost.contains(c["token"].as_str().unwrap()) && c["status"] == "succeeded")
        .collect();
    assert!(!landed.is_empty(), "some charges landed unanswered");
    for c in &landed {
        assert_eq!(
            c["refunded"], c["amount"],
            "every charge taken without an answer is refunded: {c}"
        );
    }
}

/// The tokens of cards ending in `last4`, as the booking database knows them.
async fn token_ids(db: &TestDb, last4: &str) -> HashSet<String> {
    strings(
        db,
        &format!("SELECT token FROM payment_tokens WHERE last4 = '{last4}'"),
    )
    .await
    .into_iter()
    .collect()
}

async fn gateway_slower_than_the_charge_timeout(db: TestDb) {
    let stage = stage(&db, 200).await;
    let mut gateway = GatewayProcess::start(ledger_path(db.url()), &["--latency-ms", "1500"]).await;
    let server = serve(&db, &gateway).await;
    let crowd = Crowd::start(&server.base, stage.trip, &stage.tokens, Cards::Mostly);
    tokio::time::sleep(Duration::from_millis(3000)).await;
    let stopped_at = crowd.elapsed();
    // The gateway is fast again: restarted without the latency.
    gateway.kill();
    gateway.restart(&["--latency-ms", "0"]).await;
    let back_at = crowd.elapsed();
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let seen = crowd.finish().await;

    assert_payments_failed(
        &seen,
        Duration::ZERO,
        stopped_at - Duration::from_millis(1500),
    );
    assert!(seen.confirmed_after(back_at) > 0, "{:?}", seen.statuses());
    wait_settled(&db, Duration::from_secs(15)).await;
    server.stop();
    assert_nothing_lost(&db, stage.trip, &seen).await;
}

on_both_databases!(
    gateway_stops_answering_then_is_killed_mid_sale,
    gateway_slower_than_the_charge_timeout
);
