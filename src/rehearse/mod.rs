//! The peak-sale rehearsal: many simulated passengers rush a real server at sale
//! opening, each searching, looking at the seat map, holding seats (with the
//! realistic mix of full-route and intermediate journeys), paying (with a share
//! of declined and timed-out cards, or with a mobile wallet: approving on the
//! mock provider's page, some cancelling or paying late, then waiting for the
//! callback to settle the order) and fetching the ticket; some abandon their
//! holds. With a queued sale they first go through the waiting room: join
//! around opening, wait for admission, then shop with the admission token.
//! Afterwards the database is checked against DESIGN.md's invariants.

mod queue;
pub mod stats;
mod wallet;

pub use queue::QueuePlan;

use parking_lot::Mutex;
use rand::Rng;
use rand::seq::SliceRandom;
use reqwest::{Client, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

use crate::domain::trip::SaleState;
use crate::domain::{HoldId, SeatClass, TripId};
use crate::wire::booking::{
    GatewayInfo, HoldRequest, HoldView, OrderRequest, OrderView, PassengerBody, TokenRequest,
    TokenView,
};
use crate::wire::catalog::SearchResult;
use crate::wire::gateway::{CardBody, CardToken};
use stats::{Outcome, Sample};

/// How passengers behave.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub passengers: usize,
    /// Passengers active at once (each is one connection).
    pub concurrency: usize,
    pub date: String,
    /// (from, to) pairs with weights: most want the whole corridor.
    pub journeys: Vec<(String, String, u32)>,
    pub decline_share: f64,
    pub timeout_share: f64,
    pub abandon_share: f64,
    /// Share of passengers who pay with a mobile wallet instead of a card.
    pub wallet_share: f64,
    /// Passengers arrive spread evenly over this long (a crowd at opening).
    pub arrival: Duration,
    /// The waiting room they go through, when the sale is queued.
    pub queue: Option<QueuePlan>,
}

/// Where the passengers go, and who they are.
pub struct Target {
    /// One server, or several `serve` processes on one database: passenger
    /// `n` uses `base_urls[n % len]` for the whole visit, as a load balancer
    /// with sticky sessions would send them.
    pub base_urls: Vec<String>,
    pub tokens: Vec<String>,
}

/// What one server of the target saw.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ServerTally {
    pub base_url: String,
    pub passengers: u64,
    pub requests: u64,
    pub bookings: u64,
    /// Answers a healthy server does not give (5xx, or no answer).
    pub unexpected: u64,
}

/// What the run measured.
pub struct Run {
    pub elapsed: Duration,
    pub samples: Vec<Sample>,
    pub outcomes: Vec<Outcome>,
    pub booked_at_ms: Vec<u64>,
    pub seats_booked: u64,
    /// How long each admitted passenger waited in the queue.
    pub queue_waits_ms: Vec<u64>,
    /// Per server, in the order of `Target::base_urls`.
    pub per_server: Vec<ServerTally>,
}

struct Passenger<'a> {
    client: &'a Client,
    base: &'a str,
    token: &'a str,
    start: Instant,
    samples: Vec<Sample>,
    /// Requests in flight across all passengers (open connections).
    permits: &'a Semaphore,
    /// The waiting room's admission token, once admitted.
    admission: Option<String>,
    /// Where cards are tokenized (the card gateway, not the server).
    gateway: Option<&'a GatewayInfo>,
}

impl Passenger<'_> {
    /// Sends one request and returns its status and raw body. The body is parsed
    /// only by the steps that need something from it, into small typed structs:
    /// the load generator shares the machine with the server, and building a
    /// `serde_json::Value` of every seat map was a tenth of the run's CPU.
    async fn call(
        &mut self,
        step: usize,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        key: Option<&str>,
    ) -> (u16, Vec<u8>) {
        let url = format!("{}{path}", self.base);
        let req = self.client.request(method, url).bearer_auth(self.token);
        self.send(step, req, body, key).await
    }

    /// Sends `req` (to the server or the card gateway) and records its sample.
    async fn send(
        &mut self,
        step: usize,
        mut req: reqwest::RequestBuilder,
        body: Option<Value>,
        key: Option<&str>,
    ) -> (u16, Vec<u8>) {
        if let Some(b) = body {
            req = req.json(&b);
        }
        if let Some(k) = key {
            req = req.header("idempotency-key", k);
        }
        if let Some(a) = &self.admission {
            req = req.header("admission-token", a);
        }
        // Latency counts from when a connection is free, as a browser's would.
        let _permit = self.permits.acquire().await.expect("never closed");
        let began = Instant::now();
        let (status, body) = match req.send().await {
            Ok(r) => {
                let s = r.status().as_u16();
                // Read to the end even when unused, so the connection can be reused.
                (s, r.bytes().await.map(|b| b.to_vec()).unwrap_or_default())
            }
            Err(_) => (0, Vec::new()),
        };
        self.samples.push(Sample {
            step,
            at_ms: self.start.elapsed().as_millis() as u64,
            micros: began.elapsed().as_micros() as u64,
            status,
        });
        (status, body)
    }
}

/// An answer read as the wire contract's body; `None` when it is not one
/// (the step after it then fails as for any unknown hold, token or ticket).
fn parse<T: DeserializeOwned>(body: &[u8]) -> Option<T> {
    serde_json::from_slice(body).ok()
}

/// A request body of the wire contract, as the JSON sent.
fn body_of(body: &impl Serialize) -> Value {
    serde_json::to_value(body).expect("wire bodies serialise")
}

fn pick_journey<'a, R: Rng>(
    journeys: &'a [(String, String, u32)],
    rng: &mut R,
) -> &'a (String, String, u32) {
    journeys
        .choose_weighted(rng, |j| j.2)
        .expect("journeys are configured")
}

/// The filters of a browsing search: a class, enough free seats, a time of
/// day or a fare cap, one of the sort orders.
fn browse_query(count: i64) -> String {
    let mut rng = rand::thread_rng();
    let class = ["S_CHAIR", "SNIGDHA", "AC_S", "AC_B"]
        .choose(&mut rng)
        .expect("non-empty");
    let narrow = [
        "depart_after=06:00&depart_before=12:00",
        "depart_after=12:00",
        "fare_max=1000",
        "days=1",
    ]
    .choose(&mut rng)
    .expect("non-empty");
    let sort = ["departure", "duration", "fare", "seats_free"]
        .choose(&mut rng)
        .expect("non-empty");
    format!("class={class}&min_free={count}&{narrow}&sort={sort}")
}

/// One passenger's visit: through the waiting room when the sale is queued,
/// then shopping. Returns the outcome, the seats booked and the queue wait.
async fn visit(
    p: &mut Passenger<'_>,
    scenario: &Scenario,
    n: usize,
) -> (Outcome, u64, Option<Duration>) {
    let Some(plan) = &scenario.queue else {
        let (outcome, seats) = shop(p, scenario, n).await;
        return (outcome, seats, None);
    };
    let Some(wait) = queue::wait_for_admission(p, plan).await else {
        queue::leave(p, plan).await;
        return (Outcome::GaveUp, 0, None);
    };
    let (outcome, seats) = shop(p, scenario, n).await;
    if outcome != Outcome::Booked {
        // A booking spends the admission; anyone else hands the slot on.
        queue::leave(p, plan).await;
    }
    (outcome, seats, Some(wait))
}

/// Shopping: search, seat map, hold, pay, ticket. Returns the outcome and the seats booked.
async fn shop(p: &mut Passenger<'_>, scenario: &Scenario, n: usize) -> (Outcome, u64) {
    use reqwest::Method as M;
    let (from, to, card, abandon, count, wallet) = {
        let mut rng = rand::thread_rng();
        let (from, to, _) = pick_journey(&scenario.journeys, &mut rng).clone();
        let wallet = (rng.r#gen::<f64>() < scenario.wallet_share).then(|| {
            wallet::WALLET_NUMBERS
                .choose_weighted(&mut rng, |w| w.1)
                .expect("weights")
                .0
        });
        let roll: f64 = rng.r#gen();
        let card = if roll < scenario.decline_share {
            "4000000000000002"
        } else if roll < scenario.decline_share + scenario.timeout_share {
            "4000000000000119"
        } else {
            "4242424242424242"
        };
        (
            from,
            to,
            card,
            rng.r#gen::<f64>() < scenario.abandon_share,
            if rng.gen_bool(0.75) { 1 } else { 2 },
            wallet,
        )
    };
    // Browsing first: a filtered search with facets, as a passenger narrowing
    // the list does; its answer is not used, only timed.
    let browse = browse_query(count);
    let (status, _) = p
        .call(
            stats::FACETS,
            M::GET,
            &format!(
                "/v1/trips?from={from}&to={to}&date={}&{browse}",
                scenario.date
            ),
            None,
            None,
        )
        .await;
    if status != 200 {
        return (Outcome::Error, 0);
    }
    let (status, found) = p
        .call(
            0,
            M::GET,
            &format!("/v1/trips?from={from}&to={to}&date={}", scenario.date),
            None,
            None,
        )
        .await;
    if status != 200 {
        return (Outcome::Error, 0);
    }
    // Trains with S_CHAIR seats left, in the passenger's order of preference (earliest first).
    let trips = parse::<SearchResult>(&found).map_or_else(Vec::new, |f| f.trips);
    let mut options: Vec<(TripId, SeatClass)> = trips
        .into_iter()
        .filter(|t| t.sale.state == SaleState::Open)
        .flat_map(|t| {
            let trip = t.trip_id;
            t.classes
                .into_iter()
                .filter(|c| c.seats_free >= count)
                .map(move |c| (trip, c.class))
        })
        .collect();
    if options.is_empty() {
        return (Outcome::SoldOut, 0);
    }
    // Most passengers want one of the first few trains; spread a little like people do.
    options.truncate(6);
    let (trip, class) = options
        .choose(&mut rand::thread_rng())
        .cloned()
        .expect("non-empty");
    let (status, _) = p
        .call(
            1,
            M::GET,
            &format!("/v1/trips/{trip}/seats?from={from}&to={to}"),
            None,
            None,
        )
        .await;
    if status != 200 {
        return (Outcome::Error, 0);
    }
    let hold_body = body_of(&HoldRequest {
        trip_id: trip,
        from: from.clone(),
        to: to.clone(),
        class: class.to_string(),
        seats: None,
        count: Some(count as u32),
    });
    let (status, hold) = p.call(2, M::POST, "/v1/holds", Some(hold_body), None).await;
    match status {
        201 => {}
        409 => return (Outcome::LostRace, 0),
        _ => return (Outcome::Error, 0),
    }
    let hold_id = parse::<HoldView>(&hold).map_or(0, |h| h.hold_id.get());
    if abandon {
        let (status, _) = p
            .call(3, M::DELETE, &format!("/v1/holds/{hold_id}"), None, None)
            .await;
        return (
            if status == 204 {
                Outcome::Abandoned
            } else {
                Outcome::Error
            },
            0,
        );
    }
    if let Some(number) = wallet {
        return wallet::pay_by_wallet(p, n, HoldId(hold_id), count as usize, number).await;
    }
    // The card goes to the gateway, never to the server; the server gets the token.
    let Some(gateway) = p.gateway else {
        return (Outcome::Error, 0);
    };
    let card_body = body_of(&CardBody {
        number: card.into(),
        exp_month: 12,
        exp_year: 2035,
        cvc: "123".into(),
    });
    let req = p
        .client
        .post(&gateway.tokens_url)
        .bearer_auth(&gateway.publishable_key);
    let (status, card_token) = p.send(stats::GATEWAY, req, Some(card_body), None).await;
    let Some(card_token) = parse::<CardToken>(&card_token).filter(|_| status == 201) else {
        return (Outcome::Error, 0);
    };
    let register = body_of(&TokenRequest {
        gateway_token: card_token.token,
    });
    let (status, token) = p
        .call(4, M::POST, "/v1/payments/tokens", Some(register), None)
        .await;
    if status != 201 {
        return (Outcome::Error, 0);
    }
    let passengers = (0..count)
        .map(|i| PassengerBody {
            name: format!("Passenger {n}-{i}"),
            nid: None,
        })
        .collect();
    let order_body = body_of(&OrderRequest {
        hold_id: HoldId(hold_id),
        passengers,
        payment_token: Some(parse::<TokenView>(&token).map_or_else(String::new, |t| t.token)),
        wallet: None,
    });
    let (status, order) = p
        .call(
            5,
            M::POST,
            "/v1/orders",
            Some(order_body),
            Some(&format!("rehearsal-{n}")),
        )
        .await;
    match status {
        201 => {}
        402 if card.ends_with("0002") => return (Outcome::Declined, 0),
        402 => return (Outcome::TimedOut, 0),
        _ => return (Outcome::Error, 0),
    }
    let ticket = parse::<OrderView>(&order)
        .and_then(|o| o.tickets.first().map(|t| t.ticket_id.get()))
        .unwrap_or(0);
    let (status, _) = p
        .call(6, M::GET, &format!("/v1/tickets/{ticket}"), None, None)
        .await;
    if status != 200 {
        return (Outcome::Error, 0);
    }
    (Outcome::Booked, count as u64)
}

/// What the passengers' tasks collect together.
#[derive(Default)]
struct Collected {
    samples: Vec<Sample>,
    outcomes: Vec<Outcome>,
    booked_at_ms: Vec<u64>,
    seats_booked: u64,
    queue_waits_ms: Vec<u64>,
    per_server: Vec<ServerTally>,
}

/// Runs the scenario against the target; `progress` is told of every finished passenger.
///
/// Every passenger is a task of its own, arriving at its moment in the crowd
/// (spread over `scenario.arrival`); requests in flight are bounded by
/// `scenario.concurrency`, like the connections of a crowd of browsers. With a
/// queued sale the waiting room decides how many shop at once. Without one,
/// at most `concurrency` passengers shop at once and the next starts when one
/// finishes: a closed loop that measures what the server can sustain (a crowd
/// let in all at once mostly measures lost races for seats already gone).
pub async fn run(
    target: &Target,
    scenario: &Scenario,
    progress: impl Fn() + Send + Sync + 'static,
) -> Run {
    let client = Client::builder()
        .pool_max_idle_per_host(scenario.concurrency)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("http client");
    let permits = Arc::new(Semaphore::new(scenario.concurrency.max(1)));
    let shoppers = Arc::new(Semaphore::new(if scenario.queue.is_some() {
        Semaphore::MAX_PERMITS
    } else {
        scenario.concurrency.max(1)
    }));
    let results = Arc::new(Mutex::new(Collected {
        per_server: target
            .base_urls
            .iter()
            .map(|b| ServerTally {
                base_url: b.clone(),
                ..ServerTally::default()
            })
            .collect(),
        ..Collected::default()
    }));
    let progress = Arc::new(progress);
    let bases: Arc<[String]> = target.base_urls.clone().into();
    let tokens: Arc<[String]> = target.tokens.clone().into();
    let scenario = Arc::new(scenario.clone());
    let gateway: Arc<Option<GatewayInfo>> = Arc::new(card_gateway(&client, &bases[0]).await);
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..scenario.passengers {
        let arrives = scenario
            .arrival
            .mul_f64(n as f64 / scenario.passengers as f64);
        let gateway = gateway.clone();
        let (client, permits, shoppers, results, progress, bases, tokens, scenario) = (
            client.clone(),
            permits.clone(),
            shoppers.clone(),
            results.clone(),
            progress.clone(),
            bases.clone(),
            tokens.clone(),
            scenario.clone(),
        );
        tasks.spawn(async move {
            tokio::time::sleep_until((start + arrives).into()).await;
            let _shopping = shoppers.acquire().await.expect("never closed");
            let server = n % bases.len();
            let mut p = Passenger {
                client: &client,
                base: &bases[server],
                token: &tokens[n % tokens.len()],
                start,
                samples: Vec::new(),
                permits: &permits,
                admission: None,
                gateway: gateway.as_ref().as_ref(),
            };
            let (outcome, seats, wait) = visit(&mut p, &scenario, n).await;
            let finished = start.elapsed().as_millis() as u64;
            let mut r = results.lock();
            let tally = &mut r.per_server[server];
            tally.passengers += 1;
            tally.requests += p.samples.len() as u64;
            tally.bookings += u64::from(outcome == Outcome::Booked);
            tally.unexpected += p
                .samples
                .iter()
                .filter(|s| s.status == 0 || s.status >= 500)
                .count() as u64;
            r.samples.append(&mut p.samples);
            r.outcomes.push(outcome);
            if outcome == Outcome::Booked {
                r.booked_at_ms.push(finished);
            }
            r.seats_booked += seats;
            if let Some(w) = wait {
                r.queue_waits_ms.push(w.as_millis() as u64);
            }
            drop(r);
            progress();
        });
    }
    while tasks.join_next().await.is_some() {}
    let elapsed = start.elapsed();
    let c = std::mem::take(&mut *results.lock());
    Run {
        elapsed,
        samples: c.samples,
        outcomes: c.outcomes,
        booked_at_ms: c.booked_at_ms,
        seats_booked: c.seats_booked,
        queue_waits_ms: c.queue_waits_ms,
        per_server: c.per_server,
    }
}

/// Where the target's clients tokenize cards (`None`: it would not say, and
/// every passenger who reaches the card step fails there).
async fn card_gateway(client: &Client, base: &str) -> Option<GatewayInfo> {
    let r = client
        .get(format!("{base}/v1/payments/gateway"))
        .send()
        .await
        .ok()?;
    r.json().await.ok()
}

/// The passenger's status code distribution, for the report.
pub fn status_counts(samples: &[Sample]) -> Vec<(u16, u64)> {
    let mut counts: std::collections::BTreeMap<u16, u64> = Default::default();
    for s in samples {
        *counts.entry(s.status).or_default() += 1;
    }
    counts.into_iter().collect()
}

/// True for answers a healthy server gives during a sale.
pub fn is_expected(status: u16) -> bool {
    StatusCode::from_u16(status).is_ok_and(|s| {
        s.is_success() || s == StatusCode::CONFLICT || s == StatusCode::PAYMENT_REQUIRED
    })
}
