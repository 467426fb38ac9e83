//! `ticketctl rehearse`: a peak-sale rehearsal against a real server, with a
//! report and a verdict on the invariants, and optionally the raw-storage baseline.

mod baseline;
mod config;
mod remote_sale;
mod report;
mod scrape;
mod setup;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;

use crate::app::App;
use crate::app::seed::{Quiet, SeedReport};
use crate::domain::ServiceDate;
use crate::rehearse::{Run, Scenario, Target, run};
use crate::server::Server;

use super::output::print_json;
use config::{RehearsalConfig, ServerAt};
use report::{Report, Verdict};

#[derive(Debug, clap::Args)]
pub struct Cmd {
    /// Rehearse against this running server (e.g. http://127.0.0.1:8080) instead of
    /// starting one on a fresh embedded database. Repeat it for several `serve`
    /// processes on one database: passengers are spread over them in turn.
    #[arg(long = "server", value_name = "URL")]
    pub servers: Vec<String>,
    /// An admin's e-mail on the running servers: with it the rehearsal creates
    /// the queued sale for tomorrow's trips through the API, and the crowd goes
    /// through the waiting room (unless --no-queue).
    #[arg(long, env = "TICKETCTL_ADMIN_EMAIL")]
    pub admin_email: Option<String>,
    /// That admin's password.
    #[arg(long, env = "TICKETCTL_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,
    /// The servers' --jwt-secret, if they were given one: with --server and
    /// --use-database the passengers' tokens are signed here (by default with
    /// the secret the servers keep in the database).
    #[arg(long, env = "TICKETCTL_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// The servers' card gateway (their --gateway-url): with --server and
    /// --use-database the invariant check reads the gateway's ledger there.
    #[arg(long, env = "TICKETCTL_GATEWAY_URL")]
    pub gateway_url: Option<String>,
    /// The servers' --gateway-secret-key.
    #[arg(long, env = "TICKETCTL_GATEWAY_SECRET_KEY", hide_env_values = true,
          default_value = crate::outside::gateway::TEST_SECRET_KEY)]
    pub gateway_secret_key: String,
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
    /// Share of passengers who pay with a mobile wallet (the mock provider's
    /// test numbers: most pay, some cancel, some pay too late and are refunded).
    #[arg(long, default_value_t = 0.0)]
    pub wallet_share: f64,
    /// Passengers arrive spread over this many seconds (a queued sale opens halfway).
    #[arg(long, default_value_t = 2.0)]
    pub arrival_secs: f64,
    /// Let passengers in directly instead of through the waiting room. (Against
    /// --server the waiting room is used only with --admin-email: creating a
    /// queued sale needs an admin.)
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
    /// Write the server's /metrics (Prometheus text) at the end of the sale to this file.
    #[arg(long)]
    pub metrics_out: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

impl Cmd {
    pub async fn run(&self, database_url: &str) -> anyhow::Result<()> {
        rehearse(self.resolve()?, database_url).await
    }
}

async fn rehearse(cfg: RehearsalConfig, database_url: &str) -> anyhow::Result<()> {
    let app_and_dir = if cfg.server.opens_database() {
        Some(
            setup::prepare_app(
                database_url,
                cfg.server.use_database(),
                cfg.jwt_secret.clone(),
                cfg.gateway.clone(),
            )
            .await?,
        )
    } else {
        None
    };
    let app = app_and_dir.as_ref().map(|(a, _)| a.clone());
    let today = ServiceDate::today_at(chrono::Utc::now());
    let date = today.add_days(1);

    let (bases, tokens, server) = match (&cfg.server, &app) {
        (ServerAt::Remote { base_urls, .. }, Some(app)) => {
            // With the servers' database: one account per passenger, made
            // straight in it, tokens signed with the key the servers keep there.
            eprintln!("creating {} passengers in the database…", cfg.passengers);
            let tokens = setup::passengers_tokens(app, cfg.passengers).await?;
            (base_urls.clone(), tokens, None)
        }
        (ServerAt::Remote { base_urls, .. }, None) => {
            let users = cfg.passengers.min(200);
            // One database behind every process: the accounts are made once.
            let first = &base_urls[0];
            eprintln!("registering {users} passengers on {first} (passengers share them)…");
            (
                base_urls.clone(),
                setup::remote_tokens(first, users).await?,
                None,
            )
        }
        (ServerAt::Embedded { .. }, Some(app)) => {
            eprintln!("seeding the network and tomorrow's trips…");
            let mut report: SeedReport = app.seed_network(&Quiet).await?;
            app.seed_trips(&[date, date.add_days(1)], &mut report, &Quiet)
                .await?;
            let tokens = setup::passengers_tokens(app, cfg.passengers).await?;
            let server = Server::bind(
                "127.0.0.1:0".parse()?,
                app.clone(),
                setup::rehearsal_limits(),
            )
            .await?;
            let addr = server.local_addr()?;
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            tokio::spawn(server.run(async {
                let _ = stopped.await;
            }));
            (vec![format!("http://{addr}")], tokens, Some(stop))
        }
        (ServerAt::Embedded { .. }, None) => {
            unreachable!("an embedded rehearsal always opens its database")
        }
    };

    let queue = match (&cfg.server, &app, &cfg.room) {
        (_, _, None) => None,
        (
            ServerAt::Remote {
                admin: Some(admin), ..
            },
            _,
            Some(room),
        ) => {
            Some(remote_sale::queue_the_sale(&bases[0], admin, date, room, cfg.arrival / 2).await?)
        }
        (ServerAt::Embedded { .. }, Some(app), Some(room)) => {
            Some(setup::queue_the_sale(app, date, room, cfg.arrival / 2).await?)
        }
        _ => None,
    };
    let scenario = Scenario {
        passengers: cfg.passengers,
        concurrency: cfg.concurrency,
        date: date.to_string(),
        journeys: setup::journeys(),
        decline_share: cfg.decline_share,
        timeout_share: cfg.timeout_share,
        abandon_share: cfg.abandon_share,
        wallet_share: cfg.wallet_share,
        arrival: cfg.arrival,
        queue,
    };
    let bar = ProgressBar::new(cfg.passengers as u64).with_style(
        ProgressStyle::with_template("passengers [{bar:40}] {pos}/{len} {per_sec} {elapsed}")
            .expect("template")
            .progress_chars("=> "),
    );
    let ticker = bar.clone();
    let result: Run = run(
        &Target {
            base_urls: bases.clone(),
            tokens,
        },
        &scenario,
        move || ticker.inc(1),
    )
    .await;
    bar.finish();
    if let Some(out) = &cfg.metrics_out {
        scrape::write_metrics(app.as_ref(), &bases, out).await?;
    }

    let backend = match &app {
        Some(a) => format!("{:?}", a.raw_store().backend()),
        None => "remote".into(),
    };
    let mut report = Report::from_run(&cfg, backend, &result);

    if let (Some(app), Some(_)) = (&app, &server) {
        // Wallet payments still moving (a late success on its way, an order
        // awaiting its payment timeout) settle on their own time, through the
        // running server (callbacks, its sweeper); the verdict waits for them.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        while app.wallet_payments_open().await? > 0 && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
    }
    if let Some(stop) = server {
        // The embedded server's work is done; its workers must not handle the baseline's writes.
        let _ = stop.send(());
    }
    if let Some(app) = &app {
        check_afterwards(app, &cfg, date, &mut report).await?;
    }

    std::fs::write(
        &cfg.chart,
        crate::rehearse::stats::svg_chart(
            &format!(
                "ticketctl rehearse — {} passengers, {} concurrent ({})",
                cfg.passengers, cfg.concurrency, report.backend
            ),
            &report.timeline,
        ),
    )
    .with_context(|| format!("writing {}", cfg.chart.display()))?;
    if cfg.json {
        print_json(&report)?;
    } else {
        report::print_report(&report, &cfg.chart);
    }
    match &report.invariants {
        Some(v) if !v.ok => anyhow::bail!("invariants violated: {:?}", v.detail),
        _ => Ok(()),
    }
}

/// With database access: the invariants verdict, the seats there were, and
/// (when asked) the raw-storage baseline on the day after.
async fn check_afterwards(
    app: &App,
    cfg: &RehearsalConfig,
    date: ServiceDate,
    report: &mut Report,
) -> anyhow::Result<()> {
    app.settle().await?;
    let check = app.check_invariants(None).await?;
    let mut detail = check.double_taken.clone();
    detail.extend(check.mask_mismatches.clone());
    detail.extend(check.money_mismatches.clone());
    report.seats_for_sale = Some(setup::seats_for_sale(app, date).await?);
    report.invariants = Some(Verdict {
        ok: check.ok(),
        no_seat_segment_sold_twice: check.double_taken.is_empty()
            && check.mask_mismatches.is_empty(),
        tickets_equal_confirmed_passengers: check.tickets_match(),
        charges_equal_confirmed_totals: check.money_matches(),
        money: check.ledger,
        seats_checked: check.seats_checked,
        detail: detail.into_iter().take(10).collect(),
    });
    if let Some(bookings) = cfg.baseline_bookings {
        eprintln!("measuring the raw-storage baseline…");
        let slots = baseline::slots_for(app, date.add_days(1), bookings).await?;
        let b = baseline::run(app.raw_store().clone(), slots, cfg.concurrency.min(64)).await?;
        report.baseline_bookings_per_s = Some(b.per_second().round());
        report.server_to_baseline =
            Some(((report.bookings_per_s / b.per_second()) * 1000.0).round() / 1000.0);
    }
    Ok(())
}
