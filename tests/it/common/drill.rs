//! Chaos drills: a sale under load against a real `ticketctl serve`, a fault
//! injected mid-way, and the checks that nothing was lost.
//!
//! - [`stage`] prepares a trip and passengers in the database (with the library).
//! - [`Crowd`] is the load: passengers who hold a seat, pay, and now and then
//!   cancel, each request recorded as the client saw it (status, problem type,
//!   `Retry-After`, time taken). An order refused with 503 is sent again under
//!   its Idempotency-Key after its `Retry-After`, as a well-behaved client does.
//! - [`wait_settled`] waits for the server to settle everything by itself
//!   (holds expire, orders cut short are recovered), and [`assert_nothing_lost`]
//!   checks DESIGN.md's invariants and what clients were told against the database.

use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ticketctl::app::{App, AppConfig};
use ticketctl::domain::TripId;

use super::db::{TestDb, open_store, scalar};
use super::server::{TEST_JWT_SECRET, quick_user, suite_clock, tiny_trip};

/// The `serve` flags every drill uses: holds that expire in seconds and quick
/// recovery (so the server settles by itself within the test), and no rate
/// limits or hold caps (the whole crowd comes from 127.0.0.1).
pub const SERVE_FLAGS: [&str; 14] = [
    "--hold-ttl-secs",
    "5",
    "--recovery-after-secs",
    "1",
    "--charge-timeout-ms",
    "1000",
    "--rate-per-ip",
    "0",
    "--rate-per-user",
    "0",
    "--max-holds-per-account",
    "0",
    "--max-holds-per-address",
    "0",
];

/// Which cards the crowd pays with (see `app::payments` for the test cards).
#[derive(Debug, Clone, Copy)]
pub enum Cards {
    /// Good cards, one in ten declined.
    Mostly,
    /// Every other card's charge lands but its answer comes too late (…0119),
    /// the rest get no answer at all (…0259): a gateway that is slow or gone.
    Unanswered,
}

/// Buyers in a drill's crowd; each goes through `ACCOUNTS_PER_BUYER` accounts,
/// since one account may have at most 4 seats of a trip.
pub const BUYERS: usize = 8;
const ACCOUNTS_PER_BUYER: usize = 25;

/// The trip on sale and the passengers' access tokens.
pub struct Stage {
    pub trip: TripId,
    pub tokens: Vec<String>,
}

/// A trip with `seats` S_CHAIR seats and accounts for the crowd, made with
/// the library before any server runs on the database.
pub async fn stage(db: &TestDb, seats: u32) -> Stage {
    let app = checker(db).await;
    let trip = tiny_trip(&app, seats).await;
    let mut tokens = vec![];
    for n in 0..(BUYERS * ACCOUNTS_PER_BUYER) as u32 {
        tokens.push(quick_user(&app, 500 + n).await.1);
    }
    Stage { trip, tokens }
}

/// The library's app on the drill's database, with the servers' JWT secret.
async fn checker(db: &TestDb) -> App {
    let config = AppConfig {
        jwt_secret: Some(TEST_JWT_SECRET.into()),
        clock: suite_clock(),
        gateway: super::gateway::embedded_for(db.url(), Default::default()),
        ..AppConfig::default()
    };
    App::new(open_store(db).await, config).await.expect("app")
}

/// One request as the client saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub step: &'static str,
    /// When it was sent, from the crowd's start.
    pub at: Duration,
    pub took: Duration,
    /// 0: no answer (connection refused or cut, or the client's 20 s timeout).
    pub status: u16,
    pub content_type: String,
    /// The problem+json `type`, if the answer was a problem.
    pub problem: Option<String>,
    pub detail: Option<String>,
    pub retry_after: Option<String>,
}

impl Seen {
    /// A 503 problem that tells the client when to come back.
    pub fn is_unavailable_with_retry_after(&self) -> bool {
        self.status == 503
            && self.content_type == "application/problem+json"
            && self
                .retry_after
                .as_deref()
                .is_some_and(|s| s.parse::<u64>().is_ok_and(|secs| (1..=60).contains(&secs)))
    }
}

/// Everything the crowd saw, and the orders it was told were confirmed.
#[derive(Debug, Default)]
pub struct Seens {
    pub requests: Vec<Seen>,
    /// Order ids answered 201 confirmed (by the first answer or a retry).
    pub confirmed: Vec<i64>,
    /// Confirmed orders the crowd then cancelled (answered 200).
    pub cancelled: Vec<i64>,
    /// Confirmed orders whose cancellation got no answer (either outcome is right).
    pub cancel_unanswered: Vec<i64>,
}

impl Seens {
    /// Statuses and how often, for failure messages.
    pub fn statuses(&self) -> std::collections::BTreeMap<(&'static str, u16), usize> {
        let mut m = std::collections::BTreeMap::new();
        for s in &self.requests {
            *m.entry((s.step, s.status)).or_default() += 1;
        }
        m
    }

    /// Requests in flight at some moment within `from..to` of the crowd's start.
    pub fn in_flight_between(&self, from: Duration, to: Duration) -> Vec<&Seen> {
        self.requests
            .iter()
            .filter(|s| s.at < to && s.at + s.took > from)
            .collect()
    }

    /// Requests sent within `from..to` of the crowd's start.
    pub fn between(&self, from: Duration, to: Duration) -> Vec<&Seen> {
        self.requests
            .iter()
            .filter(|s| s.at >= from && s.at < to)
            .collect()
    }

    /// Requests answered with `status`.
    pub fn with_status(&self, status: u16) -> Vec<&Seen> {
        self.requests
            .iter()
            .filter(|s| s.status == status)
            .collect()
    }

    /// Orders confirmed (to a client) from requests sent after `from`.
    pub fn confirmed_after(&self, from: Duration) -> usize {
        self.requests
            .iter()
            .filter(|s| s.step == "order" && s.status == 201 && s.at >= from)
            .count()
    }

    /// No answer was a 500, and every 5xx was a 503 problem with Retry-After.
    pub fn assert_no_500s(&self) {
        let bad: Vec<&Seen> = self
            .requests
            .iter()
            .filter(|s| s.status >= 500 && !s.is_unavailable_with_retry_after())
            .collect();
        assert!(
            bad.is_empty(),
            "5xx answers other than 503 with Retry-After: {:?}\n{:?}",
            bad.iter().take(5).collect::<Vec<_>>(),
            self.statuses()
        );
    }

    /// Every request was answered (or refused) within `limit`.
    pub fn assert_answered_within(&self, limit: Duration) {
        let slow: Vec<&Seen> = self.requests.iter().filter(|s| s.took > limit).collect();
        assert!(
            slow.is_empty(),
            "{} requests took over {limit:?}: {:?}",
            slow.len(),
            slow.iter().take(5).collect::<Vec<_>>()
        );
    }
}

/// The load: one task per passenger, each buying again and again until stopped.
pub struct Crowd {
    stop: Arc<AtomicBool>,
    cards: Arc<std::sync::Mutex<Cards>>,
    pub started: Instant,
    tasks: Vec<tokio::task::JoinHandle<Seens>>,
}

/// Saves card `number` for every account of `tokens` at the server at `base`
/// (tokenized at its gateway): account token → card token.
pub async fn save_cards(
    base: &str,
    tokens: &[String],
    number: &str,
) -> std::collections::HashMap<String, String> {
    let client = reqwest::Client::new();
    let mut saved = std::collections::HashMap::new();
    for chunk in tokens.chunks(BUYERS) {
        let cards = chunk.iter().map(|account| {
            let client = client.clone();
            async move {
                let card = super::gateway::card_token(&client, base, account, number).await;
                (account.clone(), card)
            }
        });
        saved.extend(futures_util::future::join_all(cards).await);
    }
    saved
}

/// Journeys the crowd asks for, so seats are sold in pieces as well as whole.
const JOURNEYS: [(&str, &str); 4] = [
    ("DHK", "CTG"),
    ("DHK", "FNI"),
    ("FNI", "CTG"),
    ("APT", "FNI"),
];

impl Crowd {
    /// Starts `BUYERS` buyers against the server at `base`, sharing out `tokens`.
    pub fn start(base: &str, trip: TripId, tokens: &[String], cards: Cards) -> Crowd {
        Self::start_queued(base, trip, tokens, cards, None)
    }

    /// As `start`, for a trip in the queued sale `sale`: each purchase first
    /// joins the waiting room and shops with the admission token it gets.
    pub fn start_queued(
        base: &str,
        trip: TripId,
        tokens: &[String],
        cards: Cards,
        sale: Option<&str>,
    ) -> Crowd {
        Self::start_with_saved(base, trip, tokens, cards, sale, Default::default())
    }

    /// As `start_queued`, each account having saved the card in `saved`
    /// (account token → card token; see `save_cards`) to pay with when the
    /// gateway cannot tokenize another.
    pub fn start_with_saved(
        base: &str,
        trip: TripId,
        tokens: &[String],
        cards: Cards,
        sale: Option<&str>,
        saved: std::collections::HashMap<String, String>,
    ) -> Crowd {
        let saved = Arc::new(saved);
        let stop = Arc::new(AtomicBool::new(false));
        let cards = Arc::new(std::sync::Mutex::new(cards));
        let started = Instant::now();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap();
        let tasks = (0..BUYERS)
            .map(|n| {
                let buyer = Buyer {
                    client: client.clone(),
                    base: base.to_owned(),
                    tokens: tokens.iter().skip(n).step_by(BUYERS).cloned().collect(),
                    token: String::new(),
                    sale: sale.map(str::to_owned),
                    admission: None,
                    trip,
                    n,
                    cards: cards.clone(),
                    cards_saved: Default::default(),
                    saved: saved.clone(),
                    gateway: None,
                    started,
                    seen: Seens::default(),
                };
                tokio::spawn(buyer.run(stop.clone()))
            })
            .collect();
        Crowd {
            stop,
            cards,
            started,
            tasks,
        }
    }

    /// From now on the buyers pay with `cards`.
    pub fn pay_with(&self, cards: Cards) {
        *self.cards.lock().unwrap() = cards;
    }

    /// Time since the crowd started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Stops the buyers (each finishes its current purchase) and gathers what they saw.
    pub async fn finish(self) -> Seens {
        self.stop.store(true, Ordering::SeqCst);
        let mut all = Seens::default();
        for t in self.tasks {
            let mut s = t.await.expect("buyer task");
            all.requests.append(&mut s.requests);
            all.confirmed.append(&mut s.confirmed);
            all.cancelled.append(&mut s.cancelled);
            all.cancel_unanswered.append(&mut s.cancel_unanswered);
        }
        all.requests.sort_by_key(|s| s.at);
        all
    }
}

struct Buyer {
    client: reqwest::Client,
    base: String,
    /// This buyer's accounts, used in turn, one per purchase.
    tokens: Vec<String>,
    token: String,
    /// The queued sale the trip is in, if any, and this purchase's admission.
    sale: Option<String>,
    admission: Option<String>,
    trip: TripId,
    n: usize,
    cards: Arc<std::sync::Mutex<Cards>>,
    /// Tokens registered per (account, card number).
    cards_saved: std::collections::HashMap<(String, &'static str), String>,
    /// A card each account saved before the crowd started (may be empty).
    saved: Arc<std::collections::HashMap<String, String>>,
    /// `GET /v1/payments/gateway`, once asked.
    gateway: Option<Value>,
    started: Instant,
    seen: Seens,
}

impl Buyer {
    async fn run(mut self, stop: Arc<AtomicBool>) -> Seens {
        let mut visit = 0usize;
        while !stop.load(Ordering::SeqCst) {
            visit += 1;
            self.token = self.tokens[visit % self.tokens.len()].clone();
            let pause = self.buy(visit).await;
            tokio::time::sleep(pause).await;
        }
        self.seen
    }

    /// One purchase; returns how long to wait before the next.
    async fn buy(&mut self, visit: usize) -> Duration {
        self.admission = None;
        if let Some(sale) = self.sale.clone() {
            let (s, status) = self
                .send(
                    "join",
                    "POST",
                    &format!("/v1/queue/{sale}/join"),
                    Some(json!({})),
                    None,
                )
                .await;
            match status["token"].as_str() {
                Some(admission) if s == 200 => self.admission = Some(admission.to_owned()),
                _ => return back_off(self.seen.requests.last()),
            }
        }
        let (from, to) = JOURNEYS[(self.n + visit) % JOURNEYS.len()];
        let hold_body =
            json!({ "trip_id": self.trip, "from": from, "to": to, "class": "S_CHAIR", "count": 1 });
        let (s, hold) = self
            .send("hold", "POST", "/v1/holds", Some(hold_body), None)
            .await;
        if s != 201 {
            return back_off(self.seen.requests.last());
        }
        let cards = *self.cards.lock().unwrap();
        let number = match cards {
            Cards::Mostly if visit % 10 == 0 => "4000000000000002",
            Cards::Mostly => "4242424242424242",
            Cards::Unanswered if visit % 2 == 0 => "4000000000000119",
            Cards::Unanswered => "4000000000000259",
        };
        let Some(card) = self.card(number).await else {
            self.release(&hold).await;
            return back_off(self.seen.requests.last());
        };
        let key = format!("drill-{}-{visit}", self.n);
        let order_body = json!({ "hold_id": hold["hold_id"], "passengers": [{ "name": format!("Drill Passenger {}", self.n) }], "payment_token": card });
        // Sent again under the same key while the server asks to come back.
        let mut answer = (0, Value::Null);
        for _ in 0..6 {
            answer = self
                .send(
                    "order",
                    "POST",
                    "/v1/orders",
                    Some(order_body.clone()),
                    Some(&key),
                )
                .await;
            let last = self.seen.requests.last().unwrap();
            if answer.0 != 503 && answer.0 != 0 {
                break;
            }
            tokio::time::sleep(back_off(Some(last))).await;
        }
        let (s, order) = answer;
        if s == 201 && order["status"] == "confirmed" {
            let id = order["order_id"].as_i64().expect("an order id");
            self.seen.confirmed.push(id);
            if visit % 5 == 0 {
                let (s, _) = self
                    .send(
                        "cancel",
                        "POST",
                        &format!("/v1/orders/{id}/cancel"),
                        None,
                        None,
                    )
                    .await;
                match s {
                    200 => self.seen.cancelled.push(id),
                    0 | 503 => self.seen.cancel_unanswered.push(id),
                    _ => {}
                }
            }
        } else if s != 402 {
            // Given up on: let the seat go at once rather than at expiry.
            self.release(&hold).await;
        }
        Duration::from_millis(5)
    }

    /// This account's token for card `number`: tokenized at the gateway and
    /// registered at the server once, then kept (as a browser keeps a saved
    /// card), so purchases go on while the gateway cannot tokenize.
    async fn card(&mut self, number: &'static str) -> Option<String> {
        let cached = (self.token.clone(), number);
        if let Some(t) = self.cards_saved.get(&cached) {
            return Some(t.clone());
        }
        if self.gateway.is_none() {
            let (s, info) = self
                .send("gateway-info", "GET", "/v1/payments/gateway", None, None)
                .await;
            if s != 200 {
                return None;
            }
            self.gateway = Some(info);
        }
        let info = self.gateway.clone()?;
        let req = self
            .client
            .post(info["tokens_url"].as_str()?)
            .bearer_auth(info["publishable_key"].as_str()?)
            .json(&json!({ "number": number, "exp_month": 12, "exp_year": 2035, "cvc": "123" }));
        let (s, tok) = self.record("tokenize", req).await;
        if s != 201 {
            // Ask again next time: a restarted server may name another gateway.
            self.gateway = None;
            // The gateway cannot tokenize: pay with a card this account saved before.
            return self
                .cards_saved
                .iter()
                .find(|((account, _), _)| *account == self.token)
                .map(|(_, t)| t)
                .or_else(|| self.saved.get(&self.token))
                .cloned();
        }
        let (s, card) = self
            .send(
                "card",
                "POST",
                "/v1/payments/tokens",
                Some(json!({ "gateway_token": tok["token"] })),
                None,
            )
            .await;
        let token = card["token"].as_str().filter(|_| s == 201)?.to_owned();
        self.cards_saved.insert(cached, token.clone());
        Some(token)
    }

    async fn release(&mut self, hold: &Value) {
        if let Some(id) = hold["hold_id"].as_i64() {
            self.send("release", "DELETE", &format!("/v1/holds/{id}"), None, None)
                .await;
        }
    }

    async fn send(
        &mut self,
        step: &'static str,
        method: &str,
        path: &str,
        body: Option<Value>,
        key: Option<&str>,
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        if let Some(k) = key {
            req = req.header("idempotency-key", k);
        }
        if let Some(a) = &self.admission {
            req = req.header("admission-token", a);
        }
        self.record(step, req).await
    }

    /// Sends `req` (to the server or the gateway) and records what came back.
    async fn record(&mut self, step: &'static str, req: reqwest::RequestBuilder) -> (u16, Value) {
        let sent = Instant::now();
        let at = sent.duration_since(self.started);
        let (status, content_type, retry_after, body) = match req.send().await {
            Ok(r) => {
                let header = |name: &str| {
                    r.headers()
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned)
                };
                let (ct, ra) = (header("content-type"), header("retry-after"));
                let status = r.status().as_u16();
                let body = r.json::<Value>().await.unwrap_or(Value::Null);
                (status, ct.unwrap_or_default(), ra, body)
            }
            Err(_) => (0, String::new(), None, Value::Null),
        };
        let is_problem = content_type == "application/problem+json";
        let field = |name: &str| {
            is_problem
                .then(|| body[name].as_str().map(str::to_owned))
                .flatten()
        };
        let (problem, detail) = (field("type"), field("detail"));
        self.seen.requests.push(Seen {
            step,
            at,
            took: sent.elapsed(),
            status,
            content_type,
            problem,
            detail,
            retry_after,
        });
        (status, body)
    }
}

/// How long a client waits after `seen`: its Retry-After (at most 2 s, to keep
/// the drill short), 200 ms after no answer, else a moment.
fn back_off(seen: Option<&Seen>) -> Duration {
    match seen {
        Some(s) if s.status == 0 => Duration::from_millis(200),
        Some(s) => s
            .retry_after
            .as_deref()
            .and_then(|r| r.parse::<u64>().ok())
            .map_or(Duration::from_millis(20), |secs| {
                Duration::from_secs(secs.min(2))
            }),
        None => Duration::from_millis(20),
    }
}

/// Waits until the server has settled everything by itself: no hold still
/// active and no order left mid-saga (pending, reserved, paid).
pub async fn wait_settled(db: &TestDb, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let active = scalar(db, "SELECT COUNT(*) FROM holds WHERE status = 'active'").await;
        let mid_saga = scalar(
            db,
            "SELECT COUNT(*) FROM orders WHERE status IN ('pending', 'reserved', 'paid')",
        )
        .await;
        if active == 0 && mid_saga == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "not settled after {within:?}: {active} active holds, {mid_saga} orders mid-saga"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits until the fulfilment consumer has handled every event (refunds paid,
/// tickets issued), or fails after `within`.
pub async fn wait_fulfilled(db: &TestDb, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let left = scalar(db, "SELECT COUNT(*) FROM outbox WHERE fulfilled_at IS NULL").await;
        if left == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{left} outbox events not fulfilled after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// DESIGN.md's invariants on the database once the server is stopped: no
/// seat-segment sold twice and every seat's mask exactly its live claims (no
/// seat stuck), one ticket per confirmed passenger, every order's money agrees
/// with the gateway (money kept = confirmed − refunds), the audit chain
/// verifies, and every order a client was told is confirmed still is (or was
/// cancelled by that client).
pub async fn assert_nothing_lost(db: &TestDb, trip: TripId, seen: &Seens) {
    // Shown with --nocapture: what the crowd saw, per step and status.
    eprintln!(
        "drill: {} requests, {} confirmed, {} cancelled; {:?}",
        seen.requests.len(),
        seen.confirmed.len(),
        seen.cancelled.len(),
        seen.statuses()
    );
    assert_invariants(db, trip).await;
    assert!(!seen.confirmed.is_empty(), "the crowd bought nothing");
    for id in &seen.confirmed {
        let status = order_status(db, *id).await;
        let cancelled = ["cancelled", "refunded"].contains(&status.as_str());
        let expected = if seen.cancelled.contains(id) {
            cancelled
        } else if seen.cancel_unanswered.contains(id) {
            cancelled || status == "confirmed"
        } else {
            status == "confirmed"
        };
        assert!(
            expected,
            "order {id} was confirmed to its buyer, now {status}"
        );
    }
    let tickets = scalar(
        db,
        &format!(
            "SELECT COUNT(*) FROM tickets t JOIN orders o ON o.id = t.order_id \
             WHERE o.trip_id = {trip} AND o.status = 'confirmed' AND t.status = 'valid'"
        ),
    )
    .await;
    let confirmed = scalar(
        db,
        &format!("SELECT COUNT(*) FROM orders WHERE trip_id = {trip} AND status = 'confirmed'"),
    )
    .await;
    assert_eq!(
        tickets, confirmed,
        "one ticket per confirmed (one-seat) order"
    );
}

/// The invariants and the audit chain, once the outbox is drained (run with
/// no server on the database).
pub async fn assert_invariants(db: &TestDb, trip: TripId) {
    let app = checker(db).await;
    app.settle().await.expect("settle");
    let report = app.check_invariants(Some(trip)).await.expect("check");
    assert!(report.ok(), "invariants: {report:#?}");
    let audit = app.verify_audit().await.expect("verify audit");
    assert!(audit.intact(), "audit chain: {audit:?}");
}

async fn order_status(db: &TestDb, id: i64) -> String {
    // `scalar` reads integers; compare against each status instead.
    for status in [
        "confirmed",
        "cancelled",
        "refunded",
        "failed",
        "expired",
        "pending",
        "reserved",
        "paid",
    ] {
        let n = scalar(
            db,
            &format!("SELECT COUNT(*) FROM orders WHERE id = {id} AND status = '{status}'"),
        )
        .await;
        if n == 1 {
            return status.to_owned();
        }
    }
    "missing".to_owned()
}
