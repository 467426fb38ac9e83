//! Subcommands: one module each, with a clap `Cmd` struct and a `run`.
//! Flags are parsed here and resolved into app configuration; the work itself
//! is done by `app`.

mod audit;
mod completions;
mod events;
mod export;
mod migrate;
mod mock_gateway;
mod mock_nid;
mod mock_sms;
mod mock_wallet;
mod nid;
mod output;
mod payment_flags;
mod region;
pub mod region_flags;
mod rehearse;
mod risk;
mod seed;
mod serve;
mod simulate;
mod station;
mod ticket;
mod train;
mod trip;
mod trip_sale;
mod trip_search;
mod tui;
mod user;

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::sync::Arc;

use crate::app::{App, AppConfig, Clock};
use crate::store::prelude::*;

/// The default embedded database: a SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://ticketctl.db";

#[derive(Debug, Parser)]
#[command(
    name = "ticketctl",
    version,
    about = "Open railway ticketing: booking server, admin tools and load rehearsal"
)]
pub struct Cli {
    /// Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB.
    #[arg(long, global = true, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,

    /// Log lines on stderr as text or as one JSON object per line (a request's
    /// lines carry its request_id either way). Filter with TICKETCTL_LOG.
    #[arg(
        long,
        global = true,
        value_enum,
        env = "TICKETCTL_LOG_FORMAT",
        default_value = "text"
    )]
    pub log_format: crate::observe::logging::LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the booking server (HTTP API).
    // Boxed: the server has by far the most flags, and the enum would otherwise
    // be as large as they are for every other subcommand.
    Serve(Box<serve::Cmd>),
    /// Create or update the database schema.
    Migrate(migrate::Cmd),
    /// Load the Bangladesh Railway network and create trips for the coming days.
    Seed(seed::Cmd),
    /// List or add stations.
    #[command(subcommand)]
    Station(station::Cmd),
    /// List or show trains.
    #[command(subcommand)]
    Train(train::Cmd),
    /// List, search or schedule trips.
    #[command(subcommand)]
    Trip(trip::Cmd),
    /// Manage users and roles.
    #[command(subcommand)]
    User(user::Cmd),
    /// Verify tickets (signature and status) or print the public key.
    #[command(subcommand)]
    Ticket(ticket::Cmd),
    /// Check the tamper-evident audit log.
    #[command(subcommand)]
    Audit(audit::Cmd),
    /// Export orders for the accounts office, as CSV or JSON Lines.
    #[command(subcommand)]
    Export(export::Cmd),
    /// Watch the events `serve --nats-url` publishes to NATS JetStream.
    #[command(subcommand)]
    Events(events::Cmd),
    /// Rehearse a peak sale against a real server and check the invariants afterwards.
    Rehearse(rehearse::Cmd),
    /// The counter clerks' terminal: seat map and cash sales through a running server.
    Tui(tui::Cmd),
    /// List or clear NIDs flagged for abuse.
    #[command(subcommand)]
    Nid(nid::Cmd),
    /// List fraud-velocity decisions or clear a block.
    #[command(subcommand)]
    Risk(risk::Cmd),
    /// Regions: home trips among them, take over a lost region's trips, status.
    Region(region::Cmd),
    /// Run the mock NID registry (the verification service registration asks).
    MockNid(mock_nid::Cmd),
    /// Write shell completion scripts.
    Completions(completions::Cmd),
    /// Run the mock SMS gateway (a Bangladeshi bulk-SMS API) for development and tests.
    MockSms(mock_sms::Cmd),
    /// The mock card gateway, a process of its own: tokenizes cards, charges tokens.
    MockGateway(mock_gateway::Cmd),
    /// Check the two-region protocol on thousands of seeded schedules of faults.
    Simulate(simulate::Cmd),
    /// The mock mobile-wallet provider (bKash-like), a process of its own: payment
    /// pages, signed callbacks, status queries, refunds.
    MockWallet(mock_wallet::Cmd),
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(cmd) => cmd.run(&cli.database_url).await,
        Command::Migrate(cmd) => cmd.run(&cli.database_url).await,
        Command::Seed(cmd) => {
            let config = AppConfig {
                sale: cmd.sale.policy(),
                clock: Clock::from_env()?,
                ..AppConfig::default()
            };
            let app = App::new(open_store(&cli.database_url).await?, config).await?;
            cmd.run(&app).await
        }
        Command::Station(cmd) => cmd.run(&open_app(&cli.database_url).await?).await,
        Command::Train(cmd) => cmd.run(&open_app(&cli.database_url).await?).await,
        Command::Trip(cmd) => {
            let mut config = AppConfig {
                clock: Clock::from_env()?,
                ..AppConfig::default()
            };
            if let Some(payments) = cmd.payments() {
                config.gateway = payments.gateway(&cli.database_url)?;
                config.wallet = payments.wallet(&cli.database_url)?;
            }
            let app = App::new(open_store(&cli.database_url).await?, config).await?;
            cmd.run(&app).await
        }
        Command::User(cmd) => cmd.run(&open_app(&cli.database_url).await?).await,
        Command::Ticket(cmd) => match cmd.run_offline() {
            Some(result) => result,
            None => cmd.run(&open_app(&cli.database_url).await?).await,
        },
        Command::Audit(cmd) => cmd.run(&open_app(&cli.database_url).await?).await,
        Command::Events(cmd) => cmd.run().await,
        Command::Export(cmd) => cmd.run(&open_app(&cli.database_url).await?).await,
        Command::Rehearse(cmd) => cmd.run(&cli.database_url).await,
        Command::Tui(cmd) => cmd.run().await,
        Command::Nid(cmd) => cmd.run(&open_app(&cli.database_url).await?).await,
        Command::Risk(cmd) => {
            let (redis_url, redis_prefix) = match cmd.redis() {
                Some((url, prefix)) => (Some(url), prefix),
                None => (None, AppConfig::default().redis_prefix),
            };
            let config = AppConfig {
                clock: Clock::from_env()?,
                redis_url,
                redis_prefix,
                ..AppConfig::default()
            };
            let app = App::new(open_store(&cli.database_url).await?, config).await?;
            cmd.run(&app).await
        }
        Command::Region(cmd) => {
            let config = AppConfig {
                clock: Clock::from_env()?,
                region: cmd.region.resolve()?,
                ..AppConfig::default()
            };
            let app = App::new(open_store(&cli.database_url).await?, config).await?;
            cmd.run(&app).await
        }
        Command::MockNid(cmd) => cmd.run().await,
        Command::Completions(cmd) => cmd.run(),
        Command::MockSms(cmd) => cmd.run().await,
        Command::MockGateway(cmd) => cmd.run().await,
        Command::Simulate(cmd) => cmd.run(),
        Command::MockWallet(cmd) => cmd.run().await,
    }
}

/// Opens the database and makes sure its schema exists.
pub(crate) async fn open_store(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    let store = crate::store::open(url).await.with_context(|| {
        format!(
            "opening {} (set --database-url or DATABASE_URL)",
            crate::store::redact_url(url)
        )
    })?;
    if !store.is_migrated().await.unwrap_or(false) {
        store
            .migrate()
            .await
            .context("creating the database schema")?;
    }
    Ok(store)
}

/// Where a `serve` on `database_url` keeps its embedded gateway's ledger by
/// default: beside a SQLite file (`<file>-gateway.sqlite`); nowhere for Postgres.
pub(crate) fn ledger_beside(database_url: &str) -> Option<std::path::PathBuf> {
    ledger_beside_named(database_url, "gateway")
}

/// `<database file>-<name>.sqlite` beside a SQLite database, for an embedded
/// mock's ledger; `None` for Postgres.
pub(crate) fn ledger_beside_named(database_url: &str, name: &str) -> Option<std::path::PathBuf> {
    crate::store::sqlite_path(database_url)
        .map(|p| std::path::PathBuf::from(format!("{}-{name}.sqlite", p.display())))
}

pub(crate) async fn open_app(url: &str) -> anyhow::Result<App> {
    let config = AppConfig {
        clock: Clock::from_env()?,
        ..AppConfig::default()
    };
    Ok(App::new(open_store(url).await?, config).await?)
}
