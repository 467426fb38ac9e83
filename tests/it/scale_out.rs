//! Scale-out, end to end: three `ticketctl serve` processes (the real binary)
//! on one fresh Postgres database, one Redis (waiting room, rate limits), one
//! JetStream stream and one SMTP sink sell a queued sale; one process is
//! killed with SIGKILL in the middle and started again. Afterwards: no
//! seat-segment sold twice; admissions followed queue places across the
//! restart (the places are read from Redis as the sale runs); nobody bought
//! without a valid admission token of their own, whichever process they hit;
//! every confirmed order produced exactly one e-mail and every event exactly
//! one JetStream message (by event id); a user's rate limit held across the
//! three processes.

use parking_lot::Mutex;
use reqwest::{Client, Method};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::common::db::{TestDb, open_store, postgres, scalar};
use crate::common::nats::{TestStream, stream};
use crate::common::process::{ServeFlags, ServedBinary};
use crate::common::redis::{TestRedis, shared};
use crate::common::server::{mint_token, quick_user, tiny_trip};
use crate::common::smtp::SmtpSink;
use ticketctl::app::{App, AppConfig};
use ticketctl::domain::{Role, TripId, UserId};

const SALE: &str = "eid";
/// Passengers who join before opening (placed by lot) and after (in turn).
const EARLY: u32 = 12;
const LATE: u32 = 12;
/// Lottery draws are below this score in the Redis queue, numbered arrivals above.
const LOTTERY_END: f64 = 4_503_599_627_370_496.0;
const PER_USER_RATE: u32 = 10;

/// One request to the first of `servers` (from `first`) that answers: a
/// process being killed or started refuses connections, and a passenger's
/// browser would try again elsewhere behind the load balancer. Rate-limited
/// answers are retried after a pause too.
/// The three processes, as a passenger's browser reaches them.
struct Cluster {
    client: Client,
    servers: Vec<String>,
}

impl Cluster {
    async fn call(
        &self,
        first: usize,
        method: Method,
        path: &str,
        bearer: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> (u16, Value) {
        for attempt in 0..40 {
            let base = &self.servers[(first + attempt) % self.servers.len()];
            let mut req = self
                .client
                .request(method.clone(), format!("{base}{path}"))
                .bearer_auth(bearer);
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            if let Some(b) = body {
                req = req.json(b);
            }
            match req.send().await {
                Ok(r) if r.status() == 429 => tokio::time::sleep(Duration::from_millis(300)).await,
                Ok(r) => {
                    let status = r.status().as_u16();
                    return (status, r.json().await.unwrap_or(Value::Null));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        (0, Value::Null)
    }
}

/// What became of one passenger.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Bought,
    /// The order's answer was lost with a killed process; recovery settles it.
    Unknown(u16),
    /// The charge timed out (a loaded machine): the order failed, nothing kept.
    PaymentFailed,
    Refused(&'static str, u16, Value),
}

struct Passenger {
    n: u32,
    user: UserId,
    token: String,
}

struct Shared {
    cluster: Cluster,
    trip: TripId,
    /// An account that never joined the queue, trying the first admission token seen.
    intruder: String,
    intruder_tried: AtomicBool,
    intruder_answers: Mutex<Vec<u16>>,
}

/// Joins (unless the test did), waits for admission, holds a seat and buys it.
async fn visit(s: Arc<Shared>, p: Passenger, joined: Option<Value>) -> (UserId, Outcome) {
    let i = p.n as usize;
    let room = format!("/v1/queue/{SALE}");
    let mut answer = match joined {
        Some(a) => a,
        None => {
            let (status, body) = s
                .cluster
                .call(
                    i,
                    Method::POST,
                    &format!("{room}/join"),
                    &p.token,
                    &[],
                    Some(&json!({})),
                )
                .await;
            if status != 200 {
                return (p.user, Outcome::Refused("join", status, body));
            }
            body
        }
    };
    let mut k = i;
    let admission = loop {
        if answer["state"] == "admitted" {
            break answer["token"].as_str().unwrap().to_owned();
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
        k += 1;
        let (status, body) = s
            .cluster
            .call(
                k,
                Method::GET,
                &format!("{room}/status"),
                &p.token,
                &[],
                None,
            )
            .await;
        if status != 200 {
            return (p.user, Outcome::Refused("status", status, body));
        }
        answer = body;
    };
    if !s.intruder_tried.swap(true, Ordering::SeqCst) {
        // Someone else's admission token, on every process.
        for server in 0..s.cluster.servers.len() {
            let (status, _) = s
                .cluster
                .call(
                    server,
                    Method::POST,
                    "/v1/holds",
                    &s.intruder,
                    &[("admission-token", &admission)],
                    Some(&hold_body(s.trip)),
                )
                .await;
            s.intruder_answers.lock().push(status);
        }
    }
    let with_admission = [("admission-token", admission.as_str())];
    let (status, hold) = s
        .cluster
        .call(
            i + 1,
            Method::POST,
            "/v1/holds",
            &p.token,
            &with_admission,
            Some(&hold_body(s.trip)),
        )
        .await;
    if status != 201 {
        return (p.user, Outcome::Refused("hold", status, hold));
    }
    // The card goes to the gateway the cluster names; the server gets its token.
    let (_, gateway) = s
        .cluster
        .call(
            i + 2,
            Method::GET,
            "/v1/payments/gateway",
            &p.token,
            &[],
            None,
        )
        .await;
    let tok =
        crate::common::gateway::tokenize(&s.cluster.client, &gateway, "4242424242424242").await;
    let card = json!({ "gateway_token": tok });
    let (status, card) = s
        .cluster
        .call(
            i + 2,
            Method::POST,
            "/v1/payments/tokens",
            &p.token,
            &[],
            Some(&card),
        )
        .await;
    if status != 201 {
        return (p.user, Outcome::Refused("card", status, card));
    }
    let order = json!({ "hold_id": hold["hold_id"], "passengers": [{ "name": format!("Passenger {i}") }],
        "payment_token": card["token"] });
    let key = format!("scale-out-{i}");
    let (status, body) = s
        .cluster
        .call(
            i + 3,
            Method::POST,
            "/v1/orders",
            &p.token,
            &[("idempotency-key", &key), with_admission[0]],
            Some(&order),
        )
        .await;
    let outcome = match status {
        201 if body["status"] == "confirmed" => Outcome::Bought,
        // Sent to the process that was killed, retried elsewhere: its
        // answer was never recorded, so the key is still in use.
        0 | 409 | 503 => Outcome::Unknown(status),
        402 => Outcome::PaymentFailed,
        _ => Outcome::Refused("order", status, body),
    };
    (p.user, outcome)
}

fn hold_body(trip: TripId) -> Value {
    json!({ "trip_id": trip, "from": "DHK", "to": "CTG", "class": "S_CHAIR", "count": 1 })
}

/// Each user's place in the Redis queue and admission number, as seen by
/// sampling the room's keys every few milliseconds while the sale runs.
#[derive(Default, Debug)]
struct RoomLog {
    place: BTreeMap<i64, f64>,
    admission: BTreeMap<i64, u64>,
    /// Admission numbers first seen after the restart.
    after_restart: BTreeSet<i64>,
}

fn watch_room(
    redis: &TestRedis,
    stop: Arc<AtomicBool>,
    restarted: Arc<AtomicBool>,
) -> std::thread::JoinHandle<RoomLog> {
    let url = redis.url.clone();
    let key = |part: &str| format!("{}room:{SALE}:{part}", redis.prefix);
    let (queue, admits) = (key("queue"), key("admits"));
    std::thread::spawn(move || {
        let mut conn = redis::Client::open(url).unwrap().get_connection().unwrap();
        let mut log = RoomLog::default();
        while !stop.load(Ordering::SeqCst) {
            let places: Vec<(i64, f64)> = redis::cmd("ZRANGE")
                .arg(&queue)
                .arg(0)
                .arg(-1)
                .arg("WITHSCORES")
                .query(&mut conn)
                .unwrap();
            for (user, place) in places {
                log.place.entry(user).or_insert(place);
            }
            let admitted: BTreeMap<i64, String> =
                redis::cmd("HGETALL").arg(&admits).query(&mut conn).unwrap();
            for (user, value) in admitted {
                let seq = value.split(':').next().unwrap().parse().unwrap();
                if log.admission.insert(user, seq).is_none() && restarted.load(Ordering::SeqCst) {
                    log.after_restart.insert(user);
                }
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        log
    })
}

/// The stage: a trip, an admin, passengers, made straight in the database.
async fn stage(db: &TestDb) -> (App, TripId) {
    let base = crate::common::server::test_config();
    let config = AppConfig {
        jwt_secret: Some(crate::common::server::TEST_JWT_SECRET.into()),
        // The servers' gateway's ledger file: the invariant check reads their charges.
        gateway: crate::common::gateway::embedded_for(db.url(), base.gateway.clone()),
        ..base
    };
    // No workers run in this app: the three servers do all the work.
    let app = App::new(open_store(db).await, config).await.unwrap();
    let trip = tiny_trip(&app, 40).await;
    (app, trip)
}

async fn admin_token(app: &App) -> String {
    let admin = app
        .raw_store()
        .create_user(&ticketctl::store::NewUser {
            name: "Admin".into(),
            phone: "+8801799000000".into(),
            email: "admin@test.ticketctl".into(),
            password_hash: "unusable".into(),
            role: Role::Admin,
            created_at: app.now(),
            nid: None,
        })
        .await
        .unwrap();
    mint_token(admin.id, Role::Admin, 600)
}

/// Waits until every outbox event was fulfilled, notified and relayed.
async fn outbox_settled(db: &TestDb) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let pending = "SELECT COUNT(*) FROM outbox WHERE fulfilled_at IS NULL \
                   OR notified_at IS NULL OR relayed_at IS NULL";
    while scalar(db, pending).await > 0 {
        assert!(Instant::now() < deadline, "the outbox never settled");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Requests one user may make across the three processes in a burst.
async fn accepted_of_a_burst(client: &Client, servers: &[String], token: &str) -> (usize, f64) {
    let began = Instant::now();
    let mut accepted = 0;
    for n in 0..45 {
        let r = client
            .get(format!("{}/v1/me", servers[n % servers.len()]))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        if r.status().is_success() {
            accepted += 1;
        }
    }
    (accepted, began.elapsed().as_secs_f64())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_servers_sell_a_queued_sale_through_a_kill_postgres_redis_nats() {
    let Some(redis) = shared() else { return };
    let Some(nats): Option<TestStream> = stream().await else {
        return;
    };
    let Some(db) = postgres().await else { return };
    let mut smtp = SmtpSink::start().await;
    let (app, trip) = stage(&db).await;
    let admin = admin_token(&app).await;
    let mut passengers = vec![];
    for n in 0..EARLY + LATE {
        let (user, token) = quick_user(&app, n).await;
        passengers.push(Passenger { n, user, token });
    }
    let (_, intruder) = quick_user(&app, 900).await;
    let (_, limited) = quick_user(&app, 901).await;

    // One card gateway of its own for the three servers, as in production.
    let gateway = crate::common::gateway::GatewayProcess::start(
        crate::common::gateway::ledger_path(db.url()),
        &[],
    )
    .await;
    let flags = ServeFlags::new()
        .with("gateway-url", &gateway.url)
        .redis(&redis)
        .nats(&nats)
        .smtp(&smtp)
        // Every passenger comes from 127.0.0.1: the per-user limit is the one tested.
        .rates(0, PER_USER_RATE)
        .with("max-holds-per-address", 0)
        .with("outbox-lease-secs", 3)
        .with("recovery-after-secs", 2)
        .with("charge-timeout-ms", 2000);
    let mut servers = vec![];
    for _ in 0..3 {
        servers.push(ServedBinary::start(db.url(), &flags.args()).await);
    }
    let bases: Vec<String> = servers.iter().map(|s| s.base.clone()).collect();
    let client = Client::new();
    let cluster = Cluster {
        client: client.clone(),
        servers: bases.clone(),
    };

    let opens_at = chrono::Utc::now() + chrono::Duration::seconds(3);
    let sale = json!({ "id": SALE, "opens_at": opens_at, "trip_ids": [trip],
        "rate_per_sec": 4.0, "max_active": 4, "idle_secs": 30 });
    let (status, body) = cluster
        .call(0, Method::POST, "/v1/admin/queue", &admin, &[], Some(&sale))
        .await;
    assert_eq!(status, 201, "{body}");

    // Without an admission token, or with a made-up one, no process sells.
    for server in 0..3 {
        for headers in [vec![], vec![("admission-token", "made.up")]] {
            let (status, body) = cluster
                .call(
                    server,
                    Method::POST,
                    "/v1/holds",
                    &passengers[0].token,
                    &headers,
                    Some(&hold_body(trip)),
                )
                .await;
            assert_eq!(status, 403, "server {server}: {body}");
        }
    }

    let (stop, restarted) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let watcher = watch_room(&redis, stop.clone(), restarted.clone());
    let shared = Arc::new(Shared {
        cluster: Cluster {
            client: client.clone(),
            servers: bases.clone(),
        },
        trip,
        intruder,
        intruder_tried: AtomicBool::new(false),
        intruder_answers: Mutex::default(),
    });
    let mut late = passengers.split_off(EARLY as usize);
    let mut visits = tokio::task::JoinSet::new();
    for p in passengers {
        visits.spawn(visit(shared.clone(), p, None));
    }
    // After opening, the rest arrive one after another, each through the next process.
    let after_opening = (opens_at - chrono::Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(after_opening + Duration::from_millis(300)).await;
    let mut late_order = vec![];
    for p in late.drain(..) {
        let (status, joined) = cluster
            .call(
                p.n as usize,
                Method::POST,
                &format!("/v1/queue/{SALE}/join"),
                &p.token,
                &[],
                Some(&json!({})),
            )
            .await;
        assert_eq!(status, 200, "{joined}");
        late_order.push(p.user.get());
        visits.spawn(visit(shared.clone(), p, Some(joined)));
    }

    // In the middle of the sale, with people still waiting: kill -9 one process, start it again.
    let confirmed =
        format!("SELECT COUNT(*) FROM orders WHERE trip_id = {trip} AND status = 'confirmed'");
    let deadline = Instant::now() + Duration::from_secs(20);
    while scalar(&db, &confirmed).await < 6 {
        assert!(Instant::now() < deadline, "the sale did not get going");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    servers[1].kill_9_and_restart().await;
    restarted.store(true, Ordering::SeqCst);

    let mut outcomes = BTreeMap::new();
    while let Some(done) = visits.join_next().await {
        let (user, outcome) = done.unwrap();
        outcomes.insert(user.get(), outcome);
    }
    stop.store(true, Ordering::SeqCst);
    let room = watcher.join().unwrap();
    let bought = outcomes.values().filter(|o| **o == Outcome::Bought).count();
    for (user, o) in &outcomes {
        assert!(
            matches!(
                o,
                Outcome::Bought | Outcome::Unknown(_) | Outcome::PaymentFailed
            ),
            "user {user}: {o:?}"
        );
    }
    assert!(bought >= EARLY as usize, "{outcomes:?}");

    // Nobody else's admission token was honoured, by any process.
    assert_eq!(*shared.intruder_answers.lock(), vec![403, 403, 403]);

    // Queue order: admissions follow places, across the restart. Early
    // arrivals were placed by lot, later ones in the order they joined.
    let mut by_place: Vec<(f64, i64)> = room.place.iter().map(|(u, p)| (*p, *u)).collect();
    by_place.sort_by(|a, b| a.0.total_cmp(&b.0));
    let admitted_in_place_order: Vec<u64> = by_place
        .iter()
        .map(|(_, u)| {
            *room
                .admission
                .get(u)
                .expect("everyone who waited was admitted")
        })
        .collect();
    assert_eq!(by_place.len(), (EARLY + LATE) as usize, "{room:?}");
    assert!(
        admitted_in_place_order.windows(2).all(|w| w[0] < w[1]),
        "admissions out of place order: {admitted_in_place_order:?}"
    );
    let late_places: Vec<f64> = late_order.iter().map(|u| room.place[u]).collect();
    assert!(
        late_places.windows(2).all(|w| w[0] < w[1]),
        "{late_places:?}"
    );
    assert!(late_places.iter().all(|p| *p > LOTTERY_END));
    assert!(
        room.place.values().filter(|p| **p < LOTTERY_END).count() == EARLY as usize,
        "the early arrivals were placed by lot"
    );
    assert!(
        !room.after_restart.is_empty(),
        "admissions went on after the restart"
    );

    // Every order was placed by someone admitted.
    let admitted: BTreeSet<i64> = room.admission.keys().copied().collect();
    let orders = format!("SELECT COUNT(*) FROM orders WHERE trip_id = {trip}");
    let admitted_list = admitted
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let by_admitted = format!("{orders} AND user_id IN ({admitted_list})");
    assert_eq!(scalar(&db, &orders).await, scalar(&db, &by_admitted).await);

    // Recovery settles orders whose process died; then every event is handled.
    outbox_settled(&db).await;
    let check = app.check_invariants(None).await.unwrap();
    assert!(check.ok(), "{check:?}");

    let tickets = scalar(&db, "SELECT COUNT(*) FROM tickets").await;
    assert_eq!(
        tickets,
        scalar(&db, &confirmed).await,
        "one passenger per order"
    );
    assert!(tickets >= bought as i64);
    // E-mail is sent at least once: a process killed between sending and
    // marking its batch done has it sent again, as the same message (one
    // Message-ID per event). Each ticket is told in exactly one message.
    let mails = smtp.drain(Duration::from_secs(2)).await;
    let mut told: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for m in &mails {
        let Some(pnr) = m.data.split("Your ticket ").nth(1) else {
            continue;
        };
        let id = m
            .data
            .lines()
            .find_map(|l| l.strip_prefix("Message-ID: "))
            .expect("every e-mail has a Message-ID")
            .to_owned();
        told.entry(pnr.split(' ').next().unwrap_or_default().to_owned())
            .or_default()
            .insert(id);
    }
    assert_eq!(told.len() as i64, tickets, "every ticket told");
    assert!(
        told.values().all(|ids| ids.len() == 1),
        "each ticket in one message: {told:?}"
    );
    eprintln!(
        "{} e-mails for {tickets} tickets ({} resent after the kill)",
        mails.len(),
        mails.len() as i64 - tickets
    );

    let messages = nats.messages().await;
    let ids: BTreeSet<i64> = messages
        .iter()
        .map(|m| m.msg_id.parse().expect("a numeric Nats-Msg-Id"))
        .collect();
    assert_eq!(ids.len(), messages.len(), "one message per event id");
    assert_eq!(
        ids.len() as i64,
        scalar(&db, "SELECT COUNT(*) FROM outbox").await
    );
    assert_eq!(
        ids.iter().sum::<i64>(),
        scalar(&db, "SELECT COALESCE(SUM(id), 0)::BIGINT FROM outbox").await,
        "the stream holds exactly the outbox's events"
    );

    // One user's requests, spread over the three processes, share one limit:
    // a burst of twice the rate, plus what refilled meanwhile.
    let (accepted, secs) = accepted_of_a_burst(&client, &bases, &limited).await;
    let bound = 2 * PER_USER_RATE as usize + (PER_USER_RATE as f64 * secs).ceil() as usize + 1;
    assert!(
        (2 * PER_USER_RATE as usize..=bound).contains(&accepted),
        "{accepted} of 45 accepted in {secs:.2} s"
    );
    drop(servers);
}
