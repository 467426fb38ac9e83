//! Drill: `kill -9` of the server in the middle of a sale (runbook: "A server
//! process died"). A crowd buys against the real binary; the process is killed
//! without warning and started again on the same port by its supervisor.
//!
//! Clients see: no answer (connection refused or cut, status 0) while it is
//! down, never a 5xx; an order sent again under its Idempotency-Key after the
//! restart gets the one outcome of that order. Afterwards: nothing lost.

use std::time::Duration;

use crate::common::db::TestDb;
use crate::common::drill::{Cards, Crowd, SERVE_FLAGS, assert_nothing_lost, stage, wait_settled};
use crate::common::process::ServedBinary;

async fn kill_9_during_a_sale(db: TestDb) {
    let stage = stage(&db, 200).await;
    let server = ServedBinary::start(db.url(), &SERVE_FLAGS).await;
    let port = server.port;
    let crowd = Crowd::start(&server.base, stage.trip, &stage.tokens, Cards::Mostly);

    tokio::time::sleep(Duration::from_millis(1500)).await;
    let killed_at = crowd.elapsed();
    server.kill_9();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let restarting_at = crowd.elapsed();
    let server = ServedBinary::start_on(port, db.url(), &SERVE_FLAGS).await;
    let back_at = crowd.elapsed();
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let seen = crowd.finish().await;

    // What clients saw: while it was down, no answer at all.
    let down = seen.in_flight_between(killed_at + Duration::from_millis(100), restarting_at);
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
    server.stop();
    assert_nothing_lost(&db, stage.trip, &seen).await;
}

on_both_databases!(kill_9_during_a_sale);
