//! Drills on the card gateway (runbook: "Card gateway slow or down").
//!
//! The gateway is an in-process mock today, so "down" is drilled as a gateway
//! that stops answering: its test cards …0259 (no answer, nothing charged) and
//! …0119 (the charge lands, its answer never arrives), until the gateway is a
//! process of its own that can be stopped. "Slow" is a gateway latency above
//! the charge timeout.
//!
//! Clients see 402 problem+json `/problems/payment-failed` within the charge
//! timeout, never a 500 or a hang; every such order ends failed with its seats
//! free, and money the gateway took without an answer is refunded in full:
//! never money taken without a ticket.

use std::time::Duration;

use crate::common::db::{TestDb, scalar};
use crate::common::drill::{
    Cards, Crowd, SERVE_FLAGS, Seens, assert_nothing_lost, stage, wait_settled,
};
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
        "orders were placed: {:?}",
        seen.statuses()
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

async fn gateway_stops_answering_mid_sale(db: TestDb) {
    let stage = stage(&db, 200).await;
    let server = ServedBinary::start(db.url(), &SERVE_FLAGS).await;
    let crowd = Crowd::start(&server.base, stage.trip, &stage.tokens, Cards::Mostly);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let silent_at = crowd.elapsed();
    crowd.pay_with(Cards::Unanswered);
    tokio::time::sleep(Duration::from_millis(3000)).await;
    let back_at = crowd.elapsed();
    crowd.pay_with(Cards::Mostly);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let seen = crowd.finish().await;

    // Orders paid with a silent gateway: in flight at the switch may be either.
    assert_payments_failed(
        &seen,
        silent_at + Duration::from_millis(100),
        back_at - Duration::from_millis(1500),
    );
    assert!(
        seen.confirmed_after(back_at + Duration::from_millis(100)) > 0,
        "{:?}",
        seen.statuses()
    );

    wait_settled(&db, Duration::from_secs(15)).await;
    server.stop();
    // Charges that landed without an answer (…0119) were all given back.
    let landed = scalar(
        &db,
        "SELECT COUNT(*) FROM gateway_charges c JOIN payment_tokens t ON t.token = c.token \
         WHERE t.last4 = '0119' AND c.status = 'succeeded'",
    )
    .await;
    let refunded = scalar(
        &db,
        "SELECT COUNT(*) FROM gateway_charges c JOIN payment_tokens t ON t.token = c.token \
         WHERE t.last4 = '0119' AND c.refunded = c.amount",
    )
    .await;
    assert!(landed > 0, "some charges landed unanswered");
    assert_eq!(
        refunded, landed,
        "every charge taken without an answer is refunded"
    );
    assert_nothing_lost(&db, stage.trip, &seen).await;
}

async fn gateway_slower_than_the_charge_timeout(db: TestDb) {
    let stage = stage(&db, 200).await;
    let mut slow = SERVE_FLAGS.to_vec();
    slow.extend(["--gateway-latency-ms", "1500"]);
    let server = ServedBinary::start(db.url(), &slow).await;
    let port = server.port;
    let crowd = Crowd::start(&server.base, stage.trip, &stage.tokens, Cards::Mostly);
    tokio::time::sleep(Duration::from_millis(3000)).await;
    let stopped_at = crowd.elapsed();
    // The gateway is fast again (here: the server restarted without the latency).
    server.stop();
    let server = ServedBinary::start_on(port, db.url(), &SERVE_FLAGS).await;
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
    gateway_stops_answering_mid_sale,
    gateway_slower_than_the_charge_timeout
);
