//! Drill: NATS goes away while the relay publishes (runbook: "NATS is
//! unavailable"). The server relays to a private `nats-server` that is killed
//! mid-sale and started again on its port and storage.
//!
//! Clients see nothing of it: bookings go on at their pace, no 5xx. The events
//! wait in the outbox, and after the restart every event is in the stream
//! exactly once (by event id), none lost and none twice.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::common::db::{TestDb, scalar, sqlite};
use crate::common::drill::{Cards, Crowd, SERVE_FLAGS, assert_nothing_lost, stage, wait_settled};
use crate::common::nats::{self, NatsServer, TestStream};
use crate::common::process::ServedBinary;
use crate::common::services::{self, Service};

async fn unrelayed(db: &TestDb) -> i64 {
    scalar(db, "SELECT COUNT(*) FROM outbox WHERE relayed_at IS NULL").await
}

async fn nats_down_while_relaying(db: TestDb) {
    let Some(binary) = nats::nats_server_binary() else {
        services::skip(Service::Nats, "no nats-server binary to kill and restart");
        return;
    };
    services::ran(Service::Nats);
    let mut broker = NatsServer::start(&binary, nats::free_port()).await;
    let stream = TestStream::on(&broker.url);
    let stage = stage(&db, 200).await;
    let mut flags = SERVE_FLAGS.to_vec();
    flags.extend([
        "--nats-url",
        &broker.url,
        "--nats-stream",
        &stream.name,
        "--nats-subject-prefix",
        &stream.prefix,
    ]);
    let server = ServedBinary::start(db.url(), &flags).await;
    let crowd = Crowd::start(&server.base, stage.trip, &stage.tokens, Cards::Mostly);

    tokio::time::sleep(Duration::from_millis(1500)).await;
    let down_at = crowd.elapsed();
    broker.kill();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let waiting = unrelayed(&db).await;
    broker.start_again().await;
    let up_at = crowd.elapsed();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let seen = crowd.finish().await;

    // Clients saw nothing of it.
    seen.assert_no_500s();
    assert!(
        seen.requests
            .iter()
            .all(|s| s.status != 503 && s.status != 0),
        "{:?}",
        seen.statuses()
    );
    let during = seen.between(down_at, up_at);
    assert!(
        during.iter().any(|s| s.step == "order" && s.status == 201),
        "bookings went on while NATS was down: {:?}",
        seen.statuses()
    );
    assert!(
        waiting > 0,
        "events waited in the outbox while NATS was down"
    );

    wait_settled(&db, Duration::from_secs(15)).await;
    // The relay backs off up to 5 s between tries; then it drains the backlog.
    let deadline = Instant::now() + Duration::from_secs(20);
    while unrelayed(&db).await > 0 {
        assert!(
            Instant::now() < deadline,
            "{} events never relayed",
            unrelayed(&db).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.stop();

    let mut copies: BTreeMap<i64, usize> = BTreeMap::new();
    for m in stream.messages().await {
        *copies
            .entry(m.msg_id.parse().expect("a numeric Nats-Msg-Id"))
            .or_default() += 1;
    }
    let events = scalar(&db, "SELECT COUNT(*) FROM outbox").await;
    assert_eq!(copies.len() as i64, events, "every event is in the stream");
    let twice: Vec<_> = copies.iter().filter(|(_, n)| **n != 1).collect();
    assert!(
        twice.is_empty(),
        "events in the stream more than once: {twice:?}"
    );
    let first = scalar(&db, "SELECT MIN(id) FROM outbox").await;
    let last = scalar(&db, "SELECT MAX(id) FROM outbox").await;
    assert_eq!(
        (copies.keys().next().copied(), copies.keys().last().copied()),
        (Some(first), Some(last)),
        "the stream holds the outbox's own events"
    );
    assert_nothing_lost(&db, stage.trip, &seen).await;
    drop(broker);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_down_while_relaying_sqlite_nats() {
    nats_down_while_relaying(sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_down_while_relaying_postgres_nats() {
    if let Some(db) = crate::common::db::postgres().await {
        nats_down_while_relaying(db).await;
    }
}
