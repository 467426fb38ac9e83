//! The outbox relay to NATS JetStream, against a real NATS server: one
//! message per event (by event id) in the documented envelope, no copies when
//! events are published again, bookings unharmed while NATS is down, and
//! `ticketctl events tail` printing a booking's events.
//!
//! Each test has its own stream and subject prefix, deleted at the end. The
//! relay's outbox queries are the ones every consumer shares (tested on both
//! backends by the conformance suite), so these run on SQLite.

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::BufRead;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::booking_flow::book;
use crate::common::db::{TestDb, scalar, sqlite};
use crate::common::nats::{self, NatsServer, TestStream};
use crate::common::server::{TestApp, test_config, tiny_trip};
use ticketctl::app::App;
use ticketctl::app::relay::EventPublisher;
use ticketctl::domain::TripId;
use ticketctl::server::Limits;
use ticketctl::store::AuditRecord;

const CARD: &str = "4242424242424242";

/// A server whose background workers relay through `publisher`.
async fn serve_relaying(db: TestDb, publisher: Arc<dyn EventPublisher>) -> TestApp {
    TestApp::start_plugged(db, test_config(), Limits::unlimited(), |app: App| {
        app.with_event_publisher(publisher)
    })
    .await
}

/// Every event the outbox holds, from the audit log (which copies each one
/// verbatim once `settle` ran), by event id.
async fn outbox_events(app: &App) -> BTreeMap<i64, AuditRecord> {
    app.settle().await.unwrap();
    let log = app.raw_store().audit_log().await.unwrap();
    log.into_iter().map(|r| (r.event_id.get(), r)).collect()
}

async fn unrelayed(db: &TestDb) -> i64 {
    scalar(db, "SELECT COUNT(*) FROM outbox WHERE relayed_at IS NULL").await
}

/// Waits until every outbox event is in the audit log.
async fn wait_until_audited(db: &TestDb, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let events = scalar(db, "SELECT COUNT(*) FROM outbox").await;
        let audited = scalar(db, "SELECT COUNT(*) FROM audit_log").await;
        if audited >= events {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{audited} of {events} events audited"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the background relay has marked every event relayed.
async fn wait_until_relayed(db: &TestDb, within: Duration) {
    let deadline = Instant::now() + within;
    while unrelayed(db).await > 0 {
        assert!(
            Instant::now() < deadline,
            "{} events still not relayed",
            unrelayed(db).await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Exactly one message per event, with the envelope of docs/events.md.
fn assert_one_message_per_event(
    stored: &[nats::Stored],
    events: &BTreeMap<i64, AuditRecord>,
    prefix: &str,
) {
    let mut by_id: BTreeMap<i64, Vec<&nats::Stored>> = BTreeMap::new();
    for m in stored {
        by_id
            .entry(m.msg_id.parse().expect("a numeric Nats-Msg-Id"))
            .or_default()
            .push(m);
    }
    assert_eq!(
        by_id.keys().collect::<Vec<_>>(),
        events.keys().collect::<Vec<_>>(),
        "the stream holds exactly the outbox's events"
    );
    for (id, copies) in &by_id {
        assert_eq!(copies.len(), 1, "event {id} is in the stream once");
        let (m, e) = (copies[0], &events[id]);
        assert_eq!(m.subject, format!("{prefix}.{}", e.kind));
        let occurred = chrono::DateTime::from_timestamp(e.at, 0).unwrap();
        assert_eq!(
            m.envelope,
            json!({
                "version": 1,
                "id": id,
                "kind": e.kind,
                "subject_id": e.subject_id,
                "occurred_at": occurred.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
                "payload": serde_json::from_str::<Value>(&e.detail).unwrap(),
            })
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_booking_publishes_one_message_per_event_nats() {
    let Some(stream) = nats::stream().await else {
        return;
    };
    let t = serve_relaying(sqlite(), stream.publisher()).await;
    let trip = tiny_trip(&t.app, 8).await;
    let booked = book(&t, trip, 1, 2, CARD).await;
    assert_eq!(
        booked.reply.body["status"], "confirmed",
        "{}",
        booked.reply.body
    );
    // A cancellation and a declined card, so the other order kinds travel too.
    let cancel = format!("/v1/orders/{}/cancel", booked.order_id);
    let r = t.post_as(&cancel, &booked.token, json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let declined = book(&t, trip, 2, 1, "4000000000000002").await;
    assert_eq!(
        declined.reply.body["order"]["status"], "failed",
        "{}",
        declined.reply.body
    );

    let events = outbox_events(&t.app).await;
    let kinds: Vec<&str> = events.values().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "order.reserved",
            "order.paid",
            "order.confirmed",
            "ticket.issued",
            "ticket.issued",
            "order.refunded",
            "order.reserved",
            "order.failed",
        ]
    );
    let documented = include_str!("../../docs/events.md");
    for kind in &kinds {
        assert!(
            documented.contains(&format!("| `{kind}` |")),
            "{kind} is in docs/events.md"
        );
    }
    wait_until_relayed(&t.db, Duration::from_secs(20)).await;
    assert_one_message_per_event(&stream.messages().await, &events, &stream.prefix);

    // The relay made the stream: every event subject, a duplicate window of at least 2 minutes.
    let config = stream.config().await;
    assert_eq!(config.subjects, [format!("{}.>", stream.prefix)]);
    assert!(config.duplicate_window >= Duration::from_secs(120));
}

/// The relay publishes, then dies before marking (here: the marks are undone,
/// and later a real `kill -9` of the binary): publishing the same events again
/// leaves one message per event id, because the message id is the event id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_again_after_a_crash_adds_no_copies_nats() {
    let Some(stream) = nats::stream().await else {
        return;
    };
    // No background relay: this test drives it.
    let t = TestApp::start(sqlite()).await;
    let publisher = stream.publisher();
    let trip = tiny_trip(&t.app, 8).await;
    for n in 1..=3 {
        book(&t, trip, n, 1, CARD).await;
    }
    let events = outbox_events(&t.app).await;
    assert_eq!(
        t.app.relay_once(publisher.as_ref()).await.unwrap(),
        events.len()
    );
    assert_eq!(t.app.relay_once(publisher.as_ref()).await.unwrap(), 0);

    // A crash after the acknowledgements, before the marks were written.
    crate::common::db::exec(&t.db, "UPDATE outbox SET relayed_at = NULL").await;
    assert_eq!(
        t.app.relay_once(publisher.as_ref()).await.unwrap(),
        events.len(),
        "published again"
    );
    assert_eq!(unrelayed(&t.db).await, 0);
    assert_one_message_per_event(&stream.messages().await, &events, &stream.prefix);
}

/// The real binary killed with SIGKILL while it relays, then started again:
/// still one message per event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_killed_mid_stream_leaves_one_message_per_event_nats() {
    let Some(stream) = nats::stream().await else {
        return;
    };
    let db = sqlite();
    let flags = [
        "--nats-url",
        &stream.url,
        "--nats-stream",
        &stream.name,
        "--nats-subject-prefix",
        &stream.prefix,
        // The killed process may die holding claims on events: short leases let
        // the next one take them over within the test's patience.
        "--outbox-lease-secs",
        "2",
    ];
    // The trip and users are planted with the library (no server, no workers);
    // the binary does the rest.
    let config = ticketctl::app::AppConfig {
        jwt_secret: Some(crate::common::server::TEST_JWT_SECRET.into()),
        ..test_config()
    };
    let app = App::new(crate::common::db::open_store(&db).await, config)
        .await
        .unwrap();
    let trip = tiny_trip(&app, 40).await;
    let mut tokens = Vec::new();
    for n in 1..=12 {
        tokens.push(crate::common::server::quick_user(&app, n).await.1);
    }
    let server = crate::common::process::ServedBinary::start(db.url(), &flags).await;
    let orders = book_through(&server, trip, &tokens).await;
    // Killed at once: the relay may be between a publish and its mark.
    server.kill_9();
    let relayed_before = scalar(
        &db,
        "SELECT COUNT(*) FROM outbox WHERE relayed_at IS NOT NULL",
    )
    .await;

    let server = crate::common::process::ServedBinary::start(db.url(), &flags).await;
    wait_until_relayed(&db, Duration::from_secs(30)).await;
    // The server's own audit worker may hold a claim on the last events; stopping
    // it then would leave them to the lease's expiry, so let it finish first.
    wait_until_audited(&db, Duration::from_secs(30)).await;
    drop(server);
    let events = outbox_events(&app).await;
    let confirmed = events
        .values()
        .filter(|e| e.kind == "order.confirmed")
        .count();
    assert_eq!(confirmed, orders, "every order confirmed: {events:?}");
    eprintln!(
        "relayed before the kill: {relayed_before} of {}",
        events.len()
    );
    assert_one_message_per_event(&stream.messages().await, &events, &stream.prefix);
}

/// One-seat bookings through a served binary, one per token; returns how many.
async fn book_through(
    server: &crate::common::process::ServedBinary,
    trip: TripId,
    tokens: &[String],
) -> usize {
    for (n, token) in tokens.iter().enumerate() {
        let (s, card) = server.card(token, CARD).await;
        assert_eq!(s, 201, "{card}");
        let (s, held) = server
            .post(
                "/v1/holds",
                token,
                None,
                &json!({ "trip_id": trip, "from": "DHK", "to": "CTG", "class": "S_CHAIR", "count": 1 }),
            )
            .await;
        assert_eq!(s, 201, "{held}");
        let (s, order) = server
            .post(
                "/v1/orders",
                token,
                Some(&format!("kill-{n}")),
                &json!({ "hold_id": held["hold_id"], "passengers": [{ "name": "Rahim" }], "payment_token": card["token"] }),
            )
            .await;
        assert_eq!(s, 201, "{order}");
    }
    tokens.len()
}

/// NATS unreachable: bookings succeed at their usual pace and their events
/// wait in the outbox; once a NATS server answers on that address, the
/// background relay publishes them all, once each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_wait_in_the_outbox_while_nats_is_down_nats() {
    let port = nats::free_port();
    let down = TestStream::on(&format!("nats://127.0.0.1:{port}"));
    let Some(binary) = nats::nats_server_binary() else {
        return relay_after_switching_to_a_reachable_server_nats(down).await;
    };
    crate::common::services::ran(crate::common::services::Service::Nats);
    let t = serve_relaying(sqlite(), down.publisher()).await;
    let trip = tiny_trip(&t.app, 8).await;
    let started = Instant::now();
    for n in 1..=3 {
        let booked = book(&t, trip, n, 1, CARD).await;
        assert_eq!(booked.reply.body["status"], "confirmed");
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "bookings do not wait for NATS: {:?}",
        started.elapsed()
    );
    let events = outbox_events(&t.app).await;
    assert_eq!(unrelayed(&t.db).await, events.len() as i64, "all wait");
    assert!(t.app.relay_once(down.publisher().as_ref()).await.is_err());

    let server = NatsServer::start(&binary, port).await;
    wait_until_relayed(&t.db, Duration::from_secs(30)).await;
    assert_one_message_per_event(&down.messages().await, &events, &down.prefix);
    drop(t);
    drop(server);
}

/// Without a `nats-server` binary to start: the relay first points at a
/// closed port (nothing is marked), then at the shared NATS server.
async fn relay_after_switching_to_a_reachable_server_nats(down: TestStream) {
    eprintln!("no nats-server binary: relaying to a closed port, then to the shared server");
    let Some(up) = nats::stream().await else {
        return;
    };
    let t = TestApp::start(sqlite()).await;
    let trip = tiny_trip(&t.app, 8).await;
    book(&t, trip, 1, 1, CARD).await;
    let events = outbox_events(&t.app).await;
    assert!(t.app.relay_once(down.publisher().as_ref()).await.is_err());
    assert_eq!(unrelayed(&t.db).await, events.len() as i64);
    assert_eq!(
        t.app.relay_once(up.publisher().as_ref()).await.unwrap(),
        events.len()
    );
    assert_one_message_per_event(&up.messages().await, &events, &up.prefix);
}

/// Lines a child prints, as they come, through a thread (std pipes block).
fn lines_of(out: impl std::io::Read + Send + 'static) -> std::sync::mpsc::Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(out).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

fn tail_command(stream: &TestStream, extra: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ticketctl"));
    cmd.args([
        "events",
        "tail",
        "--nats-url",
        &stream.url,
        "--stream",
        &stream.name,
    ])
    .args(extra)
    .env("TICKETCTL_LOG", "warn");
    cmd
}

/// `ticketctl events tail`, the real binary: watching `<prefix>.order.>` on the
/// stream a relay created at start, it prints each order event of a booking
/// made after it started, as one JSON line; `--from-start --limit` replays the
/// ticket events and exits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_tail_prints_a_bookings_events_nats() {
    let Some(stream) = nats::stream().await else {
        return;
    };
    // The relay creates the stream before any event, so a watcher can come first.
    let t = serve_relaying(sqlite(), stream.publisher()).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !stream.exists().await {
        assert!(
            Instant::now() < deadline,
            "the relay did not create the stream"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let order_subject = format!("{}.order.>", stream.prefix);
    let mut child = tail_command(&stream, &["--subject", &order_subject])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = lines_of(child.stdout.take().unwrap());
    let stderr = lines_of(child.stderr.take().unwrap());
    let ready = stderr.recv_timeout(Duration::from_secs(20)).unwrap();
    assert!(ready.starts_with("watching"), "{ready}");

    let trip = tiny_trip(&t.app, 8).await;
    book(&t, trip, 1, 2, CARD).await;
    let events = outbox_events(&t.app).await;
    let order_events: Vec<i64> = events
        .values()
        .filter(|e| e.kind.starts_with("order."))
        .map(|e| e.event_id.get())
        .collect();
    let mut printed = Vec::new();
    while printed.len() < order_events.len() {
        let line = stdout
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("tail printed only {printed:?}"));
        let envelope: Value = serde_json::from_str(&line).expect("one JSON object per line");
        assert_eq!(envelope["version"], 1, "{line}");
        assert!(
            envelope["kind"].as_str().unwrap().starts_with("order."),
            "{line}"
        );
        printed.push(envelope["id"].as_i64().unwrap());
    }
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(printed, order_events, "each order event once, in order");

    // Replay from the start: the two tickets, then it stops by itself.
    wait_until_relayed(&t.db, Duration::from_secs(20)).await;
    let ticket_subject = format!("{}.ticket.>", stream.prefix);
    let out = tail_command(
        &stream,
        &["--subject", &ticket_subject, "--from-start", "--limit", "2"],
    )
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let replayed: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let tickets: Vec<i64> = events
        .values()
        .filter(|e| e.kind == "ticket.issued")
        .map(|e| e.event_id.get())
        .collect();
    assert_eq!(
        replayed
            .iter()
            .map(|e| e["id"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        tickets
    );
    assert!(replayed.iter().all(|e| e["payload"]["pnr"].is_string()));
}
