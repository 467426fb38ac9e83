//! `ticketctl rehearse`: a peak-sale rehearsal against a real server, with a
//! report and a verdict on the invariants, and optionally the raw-storage baseline.

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::app::seed::{Quiet, SeedReport};
use crate::app::{App, AppConfig};
use crate::domain::{Journey, SeatClass, ServiceDate};
use crate::rehearse::stats::{self, Outcome, StepStats};
use crate::rehearse::{QueuePlan, Scenario, Target, baseline, run, status_counts};
use crate::server::Server;

use super::output::{print_json, table};

#[derive(Debug, clap::Args)]
pub struct Cmd {
    /// Rehearse against this running server (e.g. http://127.0.0.1:8080) instead of
    /// starting one on a fresh embedded database.
    #[arg(long)]
    pub server: Option<String>,
    /// Use --database-url for the embedded server (and for the invariant check with
    /// --server) instead of a fresh temporary SQLite file. It is seeded for tomorrow.
    #[arg(long)]
    pub use_database: bool,
    /// Simulated passengers (each searches, views seats, holds, pays, fetches the ticket).
    #[arg(long, default_value_t = 10_000)]
    pub passengers: usize,
    /// Passengers active at once (open connections).
    #[arg(long, default_value_t = 256)]
    pub concurrency: usize,
    /// Share of declined cards.
    #[arg(long, default_value_t = 0.05)]
    pub decline_share: f64,
    /// Share of cards whose charge times out.
    #[arg(long, default_value_t = 0.01)]
    pub timeout_share: f64,
    /// Share of passengers who abandon their hold.
    #[arg(long, default_value_t = 0.10)]
    pub abandon_share: f64,
    /// Passengers arrive spread over this many seconds (a queued sale opens halfway).
    #[arg(long, default_value_t = 2.0)]
    pub arrival_secs: f64,
    /// Let passengers in directly instead of through the waiting room. (Against a
    /// --server the waiting room is not used: creating a queued sale needs an admin.)
    #[arg(long)]
    pub no_queue: bool,
    /// Passengers the waiting room admits per second.
    #[arg(long, default_value_t = 2000.0)]
    pub admit_rate: f64,
    /// Shoppers the waiting room lets in at once (default: --concurrency).
    #[arg(long)]
    pub max_active: Option<usize>,
    /// The shortest time between a waiting passenger's polls, in milliseconds (the
    /// room tells those far back to ask less often).
    #[arg(long, default_value_t = 500)]
    pub poll_ms: u64,
    /// Also measure the raw-storage baseline (bookings written straight to the store).
    #[arg(long)]
    pub baseline: bool,
    /// Bookings the baseline writes.
    #[arg(long, default_value_t = 20_000)]
    pub baseline_bookings: usize,
    /// Where to write the throughput/latency chart (SVG).
    #[arg(long, default_value = "rehearsal.svg")]
    pub chart: PathBuf,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
struct Report {
    machine: String,
    backend: String,
    passengers: usize,
    concurrency: usize,
    duration_s: f64,
    requests: u64,
    requests_per_s: f64,
    bookings: u64,
    bookings_per_s: f64,
    /// When the last booking completed (s from the start); once the seats are
    /// gone the rest of the crowd only learns it is sold out.
    last_booking_s: Option<f64>,
    /// Bookings per second until the last booking.
    bookings_per_s_while_selling: Option<f64>,
    seats_booked: u64,
    /// All seats of tomorrow's trips; known only with database access.
    seats_for_sale: Option<i64>,
    outcomes: BTreeMap<Outcome, u64>,
    statuses: Vec<(u16, u64)>,
    steps: Vec<StepStats>,
    /// The waiting room: how long admitted passengers waited.
    queue_waits: Option<stats::QueueWaits>,
    /// Join, status and leave requests, and their rate while anyone was in the room.
    room_requests: Option<u64>,
    room_requests_per_s: Option<f64>,
    /// Peak resident memory of this process (the embedded server and the load generator).
    peak_rss_mb: Option<u64>,
    invariants: Option<Verdict>,
    baseline_bookings_per_s: Option<f64>,
    server_to_baseline: Option<f64>,
    timeline: Vec<stats::Second>,
}

#[derive(Debug, Serialize)]
struct Verdict {
    ok: bool,
    no_seat_segment_sold_twice: bool,
    tickets_equal_confirmed_passengers: bool,
    charges_equal_confirmed_totals: bool,
    seats_checked: usize,
    detail: Vec<String>,
}

/// The process's peak resident set (VmHWM), in MiB, where /proc tells it.
fn peak_rss_mb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024)
}

/// Puts all of `date`'s trips in one queued sale that opens `opens_in` from now.
async fn queue_the_sale(
    app: &App,
    date: ServiceDate,
    cmd: &Cmd,
    opens_in: std::time::Duration,
) -> anyhow::Result<QueuePlan> {
    let trip_ids = app
        .trips_between(date, date)
        .await?
        .iter()
        .map(|t| t.id)
        .collect();
    let id = format!("eid-{date}");
    app.waiting_room()
        .create(
            crate::app::queue::SaleSettings {
                id: id.clone(),
                opens_at: chrono::Utc::now() + chrono::Duration::from_std(opens_in)?,
                trip_ids,
                rate_per_sec: cmd.admit_rate,
                max_active: cmd.max_active.unwrap_or(cmd.concurrency).max(1),
                idle_secs: 120,
            },
            chrono::Utc::now(),
        )
        .context("creating the queued sale")?;
    Ok(QueuePlan {
        sale: id,
        poll: std::time::Duration::from_millis(cmd.poll_ms.max(10)),
        give_up_after: std::time::Duration::from_secs(600),
    })
}

fn machine() -> String {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mem_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0 / 1024.0)
        .unwrap_or(0.0);
    format!("{cores} cores, {mem_gib:.0} GiB, load generator on the same machine")
}

/// Production limits, except per address: every simulated passenger comes from 127.0.0.1.
fn rehearsal_limits() -> crate::server::Limits {
    crate::server::Limits::one_address()
}

/// The corridor's journeys, weighted like demand at an Eid sale: most want the whole way.
fn journeys() -> Vec<(String, String, u32)> {
    [
        ("DHK", "CTG", 55),
        ("DHK", "CML", 10),
        ("DHK", "FNI", 8),
        ("APT", "CTG", 8),
        ("CML", "CTG", 6),
        ("FNI", "CTG", 5),
        ("CTG", "DHK", 8),
    ]
    .into_iter()
    .map(|(a, b, w)| (a.to_owned(), b.to_owned(), w))
    .collect()
}

async fn prepare_app(
    database_url: &str,
    use_database: bool,
) -> anyhow::Result<(App, Option<tempfile::TempDir>)> {
    let (url, dir) = if use_database {
        (database_url.to_owned(), None)
    } else {
        let dir = tempfile::tempdir().context("creating a temporary directory")?;
        (
            format!("sqlite://{}/rehearsal.db", dir.path().display()),
            Some(dir),
        )
    };
    let store = super::open_store(&url).await?;
    // The mock gateway keeps its ledger in the same database, so under load its
    // answers slow down with ours; 2 s keeps "timed out" to the cards meant to time out.
    let config = AppConfig {
        gateway: crate::app::payments::GatewayConfig {
            latency: std::time::Duration::ZERO,
            charge_timeout: std::time::Duration::from_secs(2),
        },
        ..AppConfig::default()
    };
    Ok((App::new(store, config).await?, dir))
}

async fn passengers_tokens(app: &App, n: usize) -> anyhow::Result<Vec<String>> {
    let mut tasks = tokio::task::JoinSet::new();
    let chunk = n.div_ceil(16).max(1);
    for part in 0..16 {
        let app = app.clone();
        tasks.spawn(async move {
            let mut tokens = Vec::new();
            for i in part * chunk..((part + 1) * chunk).min(n) {
                let phone = format!("+88015{:08}", 10_000_000 + i);
                let user = match app.store.user_by_login(&phone).await? {
                    Some(u) => u,
                    None => {
                        app.store
                            .create_user(&crate::store::NewUser {
                                name: format!("Passenger {i}"),
                                phone,
                                email: format!("p{i}@rehearsal.invalid"),
                                password_hash: "unusable".into(),
                                role: crate::domain::Role::Passenger,
                            })
                            .await?
                    }
                };
                tokens.push(app.access_token_for(&user)?);
            }
            anyhow::Ok(tokens)
        });
    }
    let mut tokens = Vec::with_capacity(n);
    while let Some(t) = tasks.join_next().await {
        tokens.extend(t??);
    }
    Ok(tokens)
}

async fn remote_tokens(base: &str, n: usize) -> anyhow::Result<Vec<String>> {
    let client = reqwest::Client::new();
    let mut tokens = Vec::new();
    for i in 0..n {
        let phone = format!("016{:08}", 10_000_000 + i);
        let body = serde_json::json!({ "name": format!("Rehearsal {i}"), "phone": phone, "email": format!("r{i}@rehearsal.invalid"), "password": "rehearsal-password" });
        client
            .post(format!("{base}/v1/auth/register"))
            .json(&body)
            .send()
            .await?;
        let login: serde_json::Value = client
            .post(format!("{base}/v1/auth/login"))
            .json(&serde_json::json!({ "login": phone, "password": "rehearsal-password" }))
            .send()
            .await?
            .json()
            .await?;
        tokens.push(
            login["access_token"]
                .as_str()
                .context("login failed on the target server")?
                .to_owned(),
        );
    }
    Ok(tokens)
}

async fn seats_for_sale(app: &App, date: ServiceDate) -> anyhow::Result<i64> {
    let trains: BTreeMap<i64, _> = app
        .trains()
        .await?
        .into_iter()
        .map(|t| (t.id, t.train))
        .collect();
    let mut total = 0;
    for trip in app.trips_between(date, date).await? {
        if let Some(t) = trains.get(&trip.train_id) {
            total += t.seat_count() as i64;
        }
    }
    Ok(total)
}

/// One free full-route seat per slot on `date`'s trips, for the baseline.
async fn baseline_slots(
    app: &App,
    date: ServiceDate,
    limit: usize,
) -> anyhow::Result<Vec<baseline::Slot>> {
    let trains: BTreeMap<i64, _> = app
        .trains()
        .await?
        .into_iter()
        .map(|t| (t.id, t.train))
        .collect();
    let mut slots = Vec::new();
    for trip in app.trips_between(date, date).await? {
        let Some(train) = trains.get(&trip.train_id) else {
            continue;
        };
        let journey = Journey::new(0, train.stops.len() - 1, train.stops.len())?;
        for seat in app.store.seats(trip.id).await? {
            if slots.len() >= limit {
                return Ok(slots);
            }
            if seat.taken.is_empty() && seat.class != SeatClass::AcBerth {
                slots.push(baseline::Slot {
                    trip_id: trip.id,
                    seat_id: seat.id,
                    class: seat.class,
                    journey,
                });
            }
        }
    }
    Ok(slots)
}

impl Cmd {
    pub async fn run(&self, database_url: &str) -> anyhow::Result<()> {
        let embedded = self.server.is_none();
        let app_and_dir = if embedded || self.use_database {
            Some(prepare_app(database_url, self.use_database).await?)
        } else {
            None
        };
        let app = app_and_dir.as_ref().map(|(a, _)| a.clone());
        let today = ServiceDate::today_at(chrono::Utc::now());
        let date = today.add_days(1);

        let (base, tokens, server) = match (&self.server, &app) {
            (Some(url), _) => {
                let users = self.passengers.min(200);
                eprintln!("registering {users} passengers on {url}…");
                (
                    url.trim_end_matches('/').to_owned(),
                    remote_tokens(url.trim_end_matches('/'), users).await?,
                    None,
                )
            }
            (None, Some(app)) => {
                eprintln!("seeding the network and tomorrow's trips…");
                let mut report: SeedReport = app.seed_network(&Quiet).await?;
                app.seed_trips(&[date, date.add_days(1)], &mut report, &Quiet)
                    .await?;
                let tokens = passengers_tokens(app, self.passengers).await?;
                let server =
                    Server::bind("127.0.0.1:0".parse()?, app.clone(), rehearsal_limits()).await?;
                let addr = server.local_addr()?;
                let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
                tokio::spawn(server.run(async {
                    let _ = stopped.await;
                }));
                (format!("http://{addr}"), tokens, Some(stop))
            }
            (None, None) => unreachable!("an embedded rehearsal always has an app"),
        };

        let arrival = std::time::Duration::from_secs_f64(self.arrival_secs.max(0.0));
        let queue = match &app {
            Some(app) if embedded && !self.no_queue => {
                Some(queue_the_sale(app, date, self, arrival / 2).await?)
            }
            _ => None,
        };
        let scenario = Scenario {
            passengers: self.passengers,
            concurrency: self.concurrency,
            date: date.to_string(),
            journeys: journeys(),
            decline_share: self.decline_share,
            timeout_share: self.timeout_share,
            abandon_share: self.abandon_share,
            arrival,
            queue,
        };
        let bar = ProgressBar::new(self.passengers as u64).with_style(
            ProgressStyle::with_template("passengers [{bar:40}] {pos}/{len} {per_sec} {elapsed}")
                .expect("template")
                .progress_chars("=> "),
        );
        let ticker = bar.clone();
        let result = run(
            &Target {
                base_url: base,
                tokens,
            },
            &scenario,
            move || ticker.inc(1),
        )
        .await;
        bar.finish();

        let requests = result.samples.len() as u64;
        let secs = result.elapsed.as_secs_f64();
        let mut outcomes = BTreeMap::new();
        for o in &result.outcomes {
            *outcomes.entry(*o).or_insert(0) += 1;
        }
        let bookings = outcomes.get(&Outcome::Booked).copied().unwrap_or(0);
        let timeline = stats::timeline(&result.samples, &result.booked_at_ms);

        let mut report = Report {
            machine: machine(),
            backend: match &app {
                Some(a) => format!("{:?}", a.store.backend()),
                None => "remote".into(),
            },
            passengers: self.passengers,
            concurrency: self.concurrency,
            duration_s: (secs * 100.0).round() / 100.0,
            requests,
            requests_per_s: (requests as f64 / secs).round(),
            bookings,
            bookings_per_s: (bookings as f64 / secs).round(),
            last_booking_s: result
                .booked_at_ms
                .iter()
                .max()
                .map(|ms| (*ms as f64 / 10.0).round() / 100.0),
            bookings_per_s_while_selling: result
                .booked_at_ms
                .iter()
                .max()
                .map(|ms| (bookings as f64 * 1000.0 / (*ms).max(1) as f64).round()),
            seats_booked: result.seats_booked,
            seats_for_sale: None,
            outcomes,
            statuses: status_counts(&result.samples),
            steps: stats::per_step(&result.samples),
            queue_waits: stats::queue_waits(&result.queue_waits_ms),
            room_requests: stats::room_rate(&result.samples).map(|(n, _)| n),
            room_requests_per_s: stats::room_rate(&result.samples).map(|(_, r)| r.round()),
            peak_rss_mb: embedded.then(peak_rss_mb).flatten(),
            invariants: None,
            baseline_bookings_per_s: None,
            server_to_baseline: None,
            timeline,
        };

        if let Some(stop) = server {
            // The embedded server's work is done; its workers must not handle the baseline's writes.
            let _ = stop.send(());
        }
        if let Some(app) = &app {
            app.settle().await?;
            let check = app.check_invariants(None).await?;
            let mut detail = check.double_taken.clone();
            detail.extend(check.mask_mismatches.clone());
            report.seats_for_sale = Some(seats_for_sale(app, date).await?);
            report.invariants = Some(Verdict {
                ok: check.ok(),
                no_seat_segment_sold_twice: check.double_taken.is_empty()
                    && check.mask_mismatches.is_empty(),
                tickets_equal_confirmed_passengers: check.tickets_match(),
                charges_equal_confirmed_totals: check.money_matches(),
                seats_checked: check.seats_checked,
                detail: detail.into_iter().take(10).collect(),
            });
            if self.baseline {
                eprintln!("measuring the raw-storage baseline…");
                let slots = baseline_slots(app, date.add_days(1), self.baseline_bookings).await?;
                let b = baseline::run(app.store.clone(), slots, self.concurrency.min(64)).await?;
                report.baseline_bookings_per_s = Some(b.per_second().round());
                report.server_to_baseline =
                    Some(((report.bookings_per_s / b.per_second()) * 1000.0).round() / 1000.0);
            }
        }

        std::fs::write(
            &self.chart,
            stats::svg_chart(
                &format!(
                    "ticketctl rehearse — {} passengers, {} concurrent ({})",
                    self.passengers, self.concurrency, report.backend
                ),
                &report.timeline,
            ),
        )
        .with_context(|| format!("writing {}", self.chart.display()))?;
        if self.json {
            print_json(&report)?;
        } else {
            print_report(&report, &self.chart);
        }
        match &report.invariants {
            Some(v) if !v.ok => anyhow::bail!("invariants violated: {:?}", v.detail),
            _ => Ok(()),
        }
    }
}

fn print_report(r: &Report, chart: &std::path::Path) {
    println!(
        "\nRehearsal of an Eid sale: {} passengers, {} at once, {} backend; {}",
        r.passengers, r.concurrency, r.backend, r.machine
    );
    let mut t = table([
        "step", "requests", "errors", "p50 ms", "p90 ms", "p99 ms", "max ms",
    ]);
    for s in &r.steps {
        t.add_row(vec![
            s.step.to_string(),
            s.requests.to_string(),
            s.errors.to_string(),
            s.p50_ms.to_string(),
            s.p90_ms.to_string(),
            s.p99_ms.to_string(),
            s.max_ms.to_string(),
        ]);
    }
    println!("{t}");
    let mut s = table(["figure", "value"]);
    let row = |s: &mut comfy_table::Table, k: &str, v: String| {
        s.add_row(vec![k.to_string(), v]);
    };
    row(&mut s, "duration", format!("{} s", r.duration_s));
    row(
        &mut s,
        "requests",
        format!("{} ({}/s)", r.requests, r.requests_per_s),
    );
    row(
        &mut s,
        "completed bookings",
        format!("{} ({}/s)", r.bookings, r.bookings_per_s),
    );
    if let (Some(at), Some(rate)) = (r.last_booking_s, r.bookings_per_s_while_selling) {
        row(
            &mut s,
            "last booking",
            format!("at {at} s ({rate} bookings/s until then)"),
        );
    }
    row(
        &mut s,
        "seats booked / all seats tomorrow",
        match r.seats_for_sale {
            Some(all) => format!("{} / {all}", r.seats_booked),
            None => format!("{} / unknown (no database access)", r.seats_booked),
        },
    );
    for (outcome, n) in &r.outcomes {
        row(
            &mut s,
            &format!(
                "passengers: {}",
                serde_json::to_value(outcome)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            ),
            n.to_string(),
        );
    }
    row(
        &mut s,
        "HTTP statuses",
        r.statuses
            .iter()
            .map(|(c, n)| format!("{c}: {n}"))
            .collect::<Vec<_>>()
            .join(", "),
    );
    if let Some(q) = &r.queue_waits {
        row(
            &mut s,
            "queue wait p50 / p90 / p99 / max",
            format!(
                "{} / {} / {} / {} ms ({} admitted)",
                q.p50_ms, q.p90_ms, q.p99_ms, q.max_ms, q.admitted
            ),
        );
    }
    if let (Some(n), Some(rate)) = (r.room_requests, r.room_requests_per_s) {
        row(
            &mut s,
            "waiting room requests",
            format!("{n} join/status/leave ({rate}/s while anyone waited)"),
        );
    }
    if let Some(mb) = r.peak_rss_mb {
        row(
            &mut s,
            "peak RSS (server + load generator)",
            format!("{mb} MiB"),
        );
    }
    if let Some(b) = r.baseline_bookings_per_s {
        row(&mut s, "raw-storage baseline", format!("{b} bookings/s"));
        row(
            &mut s,
            "server / baseline",
            format!("{:.1} %", r.server_to_baseline.unwrap_or(0.0) * 100.0),
        );
    }
    println!("{s}");
    match &r.invariants {
        Some(v) => {
            let mark = |ok: bool| if ok { "OK" } else { "VIOLATED" };
            println!("invariants: {}", mark(v.ok));
            println!(
                "  no seat-segment held or sold twice ({} seats checked): {}",
                v.seats_checked,
                mark(v.no_seat_segment_sold_twice)
            );
            println!(
                "  one valid ticket per confirmed passenger, none stray: {}",
                mark(v.tickets_equal_confirmed_passengers)
            );
            println!(
                "  money kept by the gateway = confirmed totals − refunds: {}",
                mark(v.charges_equal_confirmed_totals)
            );
        }
        None => println!(
            "invariants: not checked (give --use-database with --database-url to check a remote server's database)"
        ),
    }
    println!("chart: {}", chart.display());
}
