//! Drills on Postgres itself, on a private cluster (the machine's shared one
//! must not be restarted): Postgres restarted mid-sale, and its connection
//! slots used up by someone else (runbook: "Postgres is down or restarting",
//! "Postgres connections exhausted").
//!
//! Clients see 503 problem+json with Retry-After while the database cannot be
//! reached, each within the pool's 5 s acquire timeout, never a 500 or a hang;
//! the pool reconnects by itself once Postgres takes connections again, and
//! nothing is lost.

use std::time::Duration;

use crate::common::db::{TestDb, postgres_unowned};
use crate::common::drill::{
    Cards, Crowd, SERVE_FLAGS, Seens, assert_nothing_lost, stage, wait_settled,
};
use crate::common::private_pg::{PrivatePg, StopMode};
use crate::common::process::ServedBinary;

/// The longest a request may wait for the database before it is refused: the
/// pool's acquire timeout (5 s) and some slack for two loaded cores.
const BOUNDED: Duration = Duration::from_secs(9);

/// What clients saw during an outage from `from` to `to` (from the crowd's start).
fn assert_outage_answers(seen: &Seens, from: Duration, to: Duration) {
    let during = seen.in_flight_between(from, to);
    let refused: Vec<_> = during.iter().filter(|s| s.status == 503).collect();
    assert!(
        !refused.is_empty(),
        "requests during the outage were refused: {:?}\n{during:#?}",
        seen.statuses()
    );
    for s in &refused {
        assert!(s.is_unavailable_with_retry_after(), "{s:?}");
        assert_eq!(s.problem.as_deref(), Some("/problems/unavailable"), "{s:?}");
    }
    seen.assert_no_500s();
    seen.assert_answered_within(BOUNDED);
    assert!(
        seen.requests.iter().all(|s| s.status != 0),
        "the server answered every request: {:?}",
        seen.statuses()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarted_mid_sale() {
    let Some(mut pg) = PrivatePg::start(&[]) else {
        return;
    };
    pg.admin("postgres", "CREATE DATABASE ticketctl").await;
    let db: TestDb = postgres_unowned(&pg.url("postgres", "ticketctl"));
    let stage = stage(&db, 200).await;
    let server = ServedBinary::start(db.url(), &SERVE_FLAGS).await;
    let crowd = Crowd::start(&server.base, stage.trip, &stage.tokens, Cards::Mostly);

    tokio::time::sleep(Duration::from_millis(1500)).await;
    let down_at = crowd.elapsed();
    // A crash of the database server: no checkpoint, crash recovery on start.
    pg.stop(StopMode::Immediate);
    tokio::time::sleep(Duration::from_secs(3)).await;
    pg.start_again();
    let up_at = crowd.elapsed();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let seen = crowd.finish().await;

    assert_outage_answers(&seen, down_at, up_at);
    assert!(
        seen.confirmed_after(up_at) > 0,
        "the pool reconnected and sales went on: {:?}",
        seen.statuses()
    );
    wait_settled(&db, Duration::from_secs(15)).await;
    server.stop();
    assert_nothing_lost(&db, stage.trip, &seen).await;
}

/// Someone else takes every connection slot Postgres has for ordinary roles
/// while the server's own connections are cut (a pooler or database restart,
/// an idle timeout): the server cannot open any until they are given back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_connections_exhausted_mid_sale() {
    // 20 slots, 3 kept for superusers: 17 for the server and the hog.
    let Some(pg) = PrivatePg::start(&["max_connections=20", "superuser_reserved_connections=3"])
    else {
        return;
    };
    pg.admin(
        "postgres",
        "CREATE ROLE ticketctl LOGIN; CREATE ROLE hog LOGIN",
    )
    .await;
    pg.admin("postgres", "CREATE DATABASE ticketctl OWNER ticketctl")
        .await;
    let db: TestDb = postgres_unowned(&pg.url("ticketctl", "ticketctl"));
    let stage = stage(&db, 200).await;
    let server = ServedBinary::start(db.url(), &SERVE_FLAGS).await;
    let crowd = Crowd::start(&server.base, stage.trip, &stage.tokens, Cards::Mostly);
    tokio::time::sleep(Duration::from_millis(1500)).await;

    // Frozen for a moment so the hog, not the server, gets the freed slots.
    let exhausted_at = crowd.elapsed();
    server.signal("STOP");
    pg.admin(
        "postgres",
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'ticketctl'",
    )
    .await;
    let hog = take_every_slot(&pg).await;
    server.signal("CONT");
    tokio::time::sleep(Duration::from_secs(6)).await;
    let freed_at = crowd.elapsed();
    let slots = hog.len();
    drop(hog);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let seen = crowd.finish().await;

    assert!(slots >= 10, "the hog took the free slots ({slots})");
    assert_outage_answers(&seen, exhausted_at, freed_at);
    assert!(
        seen.confirmed_after(freed_at) > 0,
        "the server got its connections back: {:?}",
        seen.statuses()
    );
    wait_settled(&db, Duration::from_secs(15)).await;
    server.stop();
    assert_nothing_lost(&db, stage.trip, &seen).await;
}

/// Opens connections as the `hog` role until Postgres refuses one.
async fn take_every_slot(pg: &PrivatePg) -> Vec<sqlx::PgConnection> {
    use sqlx::Connection;
    let mut held = vec![];
    loop {
        match sqlx::PgConnection::connect(&pg.url("hog", "ticketctl")).await {
            Ok(c) => held.push(c),
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("53300") => return held,
            Err(e) => panic!("the hog's connection failed otherwise: {e}"),
        }
        assert!(held.len() < 100, "Postgres never refused a connection");
    }
}
