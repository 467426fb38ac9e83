//! `ticketctl serve`: the booking server.

use anyhow::Context;
use std::net::SocketAddr;
use std::time::Duration;

use crate::adapters::nats::{self, NatsSettings};
use crate::adapters::sms_http::SmsGatewaySettings;
use crate::app::gauges::GaugeSettings;
use crate::app::payments::{GatewayConfig, RemoteGateway};
use crate::app::wallet::{RemoteWallet, WalletConfig};
use crate::store::redact_url;

use crate::app::{App, AppConfig};
use crate::domain::RefundRule;
use crate::server::limits::{ConnLimits, StreamLimits, TrustedProxies};
use crate::server::{Limits, Server};
use std::num::NonZeroU32;

mod demo;
mod plugs;

pub use demo::DEMO_PASSWORD;
use demo::{DEMO_USERS, prepare_demo};
use plugs::{SMS_TIMEOUT, plug_adapters, plug_sms};

#[derive(Debug, clap::Args)]
pub struct Cmd {
    /// Address to listen on.
    #[arg(long, env = "TICKETCTL_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Demo mode: seed the network and trips if the database is empty, and create demo users.
    #[arg(long)]
    pub demo: bool,
    /// With --demo: days of trips to create.
    #[arg(long, default_value_t = 3)]
    pub demo_days: u32,
    /// Secret for signing access tokens (at least 32 characters). By default one is
    /// generated and kept in the database, so all servers on one database agree.
    #[arg(long, env = "TICKETCTL_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// How long held seats stay held without an order, in seconds.
    #[arg(long, default_value_t = 600, value_parser = clap::value_parser!(u64).range(5..=86_400))]
    pub hold_ttl_secs: u64,
    /// The card gateway (e.g. `ticketctl mock-gateway` at http://127.0.0.1:8090):
    /// clients tokenize cards there, this server charges the tokens. Without it
    /// the mock gateway runs inside this process, on a loopback port of its own.
    #[arg(long, env = "TICKETCTL_GATEWAY_URL")]
    pub gateway_url: Option<String>,
    /// The gateway's secret key, for charges, refunds and token checks.
    #[arg(long, env = "TICKETCTL_GATEWAY_SECRET_KEY", hide_env_values = true,
          default_value = crate::outside::gateway::TEST_SECRET_KEY)]
    pub gateway_secret_key: String,
    /// The gateway's publishable key, handed to clients to tokenize cards with.
    #[arg(long, env = "TICKETCTL_GATEWAY_PUBLISHABLE_KEY",
          default_value = crate::outside::gateway::TEST_PUBLISHABLE_KEY)]
    pub gateway_publishable_key: String,
    /// Without --gateway-url: the embedded mock gateway's ledger file (default:
    /// `<database file>-gateway.sqlite` beside a SQLite database, else in memory).
    #[arg(long)]
    pub gateway_ledger: Option<std::path::PathBuf>,
    /// Without --gateway-url: simulated latency of the embedded mock gateway, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub gateway_latency_ms: u64,
    /// The mobile-wallet provider (e.g. `ticketctl mock-wallet` at
    /// http://127.0.0.1:8095). Without it the mock provider runs inside this
    /// process, on a loopback port of its own.
    #[arg(long, env = "TICKETCTL_WALLET_URL")]
    pub wallet_url: Option<String>,
    /// The merchant key the wallet provider knows us by and signs callbacks with.
    #[arg(long, env = "TICKETCTL_WALLET_MERCHANT_KEY", hide_env_values = true,
          default_value = crate::outside::wallet::TEST_MERCHANT_KEY)]
    pub wallet_merchant_key: String,
    /// Without --wallet-url: the embedded mock provider's ledger file (default:
    /// `<database file>-wallet.sqlite` beside a SQLite database, else in memory).
    #[arg(long)]
    pub wallet_ledger: Option<std::path::PathBuf>,
    /// How long an order awaits its wallet payment before the provider is asked
    /// and an unpaid order fails; must be shorter than --hold-ttl-secs
    /// (default: 300, or half the hold TTL when that is shorter).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub wallet_payment_timeout_secs: Option<u64>,
    /// This server's base URL as outside services reach it (the wallet
    /// provider posts callbacks to `<URL>/v1/payments/wallet/callback`);
    /// default: the address it listens on.
    #[arg(long, env = "TICKETCTL_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// How long to wait for a charge before treating it as unknown, in milliseconds.
    #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(u64).range(50..))]
    pub charge_timeout_ms: u64,
    /// Settle orders left mid-saga (by a crash) after this many seconds.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub recovery_after_secs: u64,
    /// Directory where e-mail and SMS notifications are written (default: log only).
    #[arg(long, env = "TICKETCTL_NOTIFICATIONS_DIR")]
    pub notifications_dir: Option<std::path::PathBuf>,
    /// SMTP relay for passenger e-mail: smtp://host:port, smtp://user:pass@host:587?tls=required
    /// or smtps://host (default: no e-mail is sent).
    #[arg(long, env = "TICKETCTL_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// The NID registry registration verifies NIDs at (e.g. http://127.0.0.1:7070,
    /// a `ticketctl mock-nid`). Without it the mock registry runs in this
    /// process, on a loopback port of its own.
    #[arg(
        long,
        env = "TICKETCTL_NID_REGISTRY_URL",
        requires = "nid_registry_key"
    )]
    pub nid_registry_url: Option<String>,
    /// The registry's API key (sent as X-Api-Key).
    #[arg(long, env = "TICKETCTL_NID_REGISTRY_KEY", hide_env_values = true)]
    pub nid_registry_key: Option<String>,
    /// Seats one NID may hold or own on all trains of one travel day, online
    /// and at counters together (0: no day cap). The cap per trip is 4.
    #[arg(long, default_value_t = crate::domain::SEATS_PER_NID_PER_DAY, value_parser = clap::value_parser!(u32).range(0..=1000))]
    pub seats_per_nid_per_day: u32,
    /// Sales refused by an NID's seat caps before the NID is flagged for an
    /// admin to review (it cannot buy until cleared).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(i64).range(1..=1000))]
    pub nid_flag_after: i64,
    /// Anonymise personal data older than this many days (passengers and
    /// counter buyers of trips that left before then, delivered SMS bodies,
    /// passenger accounts with no sign-in or trip since), checked hourly.
    /// Without it personal data is kept until erased.
    #[arg(long, env = "TICKETCTL_PERSONAL_DATA_RETENTION_DAYS", value_parser = clap::value_parser!(u32).range(1..=36500))]
    pub personal_data_retention_days: Option<u32>,
    /// Redis shared by several `serve` processes (e.g. redis://127.0.0.1:6379/):
    /// the waiting room and rate limits are kept there. Without it they live in
    /// this process's memory, so only one process may serve a queued sale.
    #[arg(long, env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    /// Prefix of every Redis key, so several deployments can share one Redis.
    #[arg(long, env = "TICKETCTL_REDIS_PREFIX", default_value = "ticketctl:")]
    pub redis_prefix: String,
    /// NATS server for the event relay (e.g. nats://127.0.0.1:4222): every outbox
    /// event is published to a JetStream stream. Without it no relay runs and
    /// events stay in the database.
    #[arg(long, env = "NATS_URL", hide_env_values = true)]
    pub nats_url: Option<String>,
    /// The JetStream stream events are published to (created if missing).
    #[arg(long, env = "TICKETCTL_NATS_STREAM", default_value = nats::DEFAULT_STREAM)]
    pub nats_stream: String,
    /// First part of every event subject: events go to `<prefix>.<kind>`.
    #[arg(long, env = "TICKETCTL_NATS_SUBJECT_PREFIX", default_value = nats::DEFAULT_SUBJECT_PREFIX)]
    pub nats_subject_prefix: String,
    /// Outbox events a process claims stay its own this many seconds; events of
    /// a process killed mid-batch are taken over by another after it.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub outbox_lease_secs: u64,
    /// Do not LISTEN for other processes' seat changes (Postgres); see them by
    /// polling instead. For a connection pooler in transaction mode, which
    /// cannot LISTEN.
    #[arg(long)]
    pub no_seat_feed: bool,
    /// SMS gateway for traveller SMS, a Bangladeshi bulk-SMS API (e.g.
    /// https://bulksmsbd.net, or `ticketctl mock-sms`). Without it a mock
    /// gateway runs inside this process on a loopback port of its own.
    #[arg(long, env = "TICKETCTL_SMS_URL")]
    pub sms_url: Option<String>,
    /// API key of the SMS gateway account.
    #[arg(
        long,
        env = "TICKETCTL_SMS_API_KEY",
        hide_env_values = true,
        default_value = ""
    )]
    pub sms_api_key: String,
    /// Sender id (masking) travellers see on SMS.
    #[arg(long, env = "TICKETCTL_SMS_SENDER_ID", default_value = "BDRAILWAY")]
    pub sms_sender_id: String,
    /// Sender address of passenger e-mail.
    #[arg(
        long,
        env = "TICKETCTL_MAIL_FROM",
        default_value = "Bangladesh Railway tickets <tickets@localhost>"
    )]
    pub mail_from: String,
    /// Ed25519 seed (64 hex digits) for signing tickets; by default one is generated
    /// and kept in the database.
    #[arg(long, env = "TICKETCTL_TICKET_KEY", hide_env_values = true)]
    pub ticket_key: Option<String>,
    /// Requests per second per client address, bursts of twice that (0: no limit).
    #[arg(long, default_value_t = 100)]
    pub rate_per_ip: u32,
    /// Requests per second per signed-in user, bursts of twice that (0: no limit).
    #[arg(long, default_value_t = 20)]
    pub rate_per_user: u32,
    /// A proxy (load balancer) whose X-Forwarded-For / Forwarded header names
    /// the client: a CIDR or an address, repeatable (or comma-separated in the
    /// environment). Per-address limits then count that client, not the proxy.
    #[arg(
        long = "trusted-proxy",
        value_name = "CIDR",
        env = "TICKETCTL_TRUSTED_PROXIES",
        value_delimiter = ',',
        value_parser = TrustedProxies::parse_net
    )]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Requests handled at once; beyond this the server answers 503 at once.
    #[arg(long, default_value_t = 2048, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_in_flight: u64,
    #[command(flatten)]
    pub sale: super::seed::SaleFlags,
    #[command(flatten)]
    pub region: super::region_flags::RegionFlags,
    /// Cancellation deductions: hours before departure and percent kept, most hours first.
    #[arg(long, default_value = "48:0,24:25,12:50")]
    pub refund_tiers: String,
    /// Taka kept per ticket on every cancellation, on top of the percentage.
    #[arg(long, default_value_t = 30)]
    pub refund_flat: i64,
    /// Unexpired seat holds one account may have at once (0: no cap).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(0..=1000))]
    pub max_holds_per_account: u64,
    /// Unexpired seat holds one client address may have at once (0: no cap).
    /// Behind a proxy every client shares its address: raise it or set 0.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(0..=100_000))]
    pub max_holds_per_address: u64,
    /// A fraud-velocity rule's setting, repeatable: NAME=LIMIT/WINDOW:OUTCOME
    /// (e.g. holds_per_account=20/1m:step-up; windows in s, m, h, d; outcomes
    /// allow, step-up, block) or NAME=off. See the README for the rules and
    /// their defaults.
    #[arg(long = "risk-rule", value_name = "SPEC")]
    pub risk_rules: Vec<String>,
    /// Deadline for read requests, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    pub read_timeout_ms: u64,
    /// Password hashes (argon2id, ~19 MiB each) computed at once, by logins and
    /// registrations together [default: the number of cores].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub max_password_hashes: Option<u64>,
    /// How long a login or registration waits for a hashing turn before it is
    /// answered 503 with Retry-After, in milliseconds.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(0..=60_000))]
    pub password_hash_wait_ms: u64,
    /// A client must send a request's headers within this many seconds (also
    /// the longest a keep-alive connection waits for its next request).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub header_read_timeout_secs: u64,
    /// A connection with no traffic for this many seconds is closed.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub idle_timeout_secs: u64,
    /// Connections one client address may hold open.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub max_connections_per_ip: u64,
    /// Live seat-map streams open at once, in all.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub max_streams: u64,
    /// Live streams one client address may hold (signed-in staff are exempt).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub max_streams_per_ip: u64,
    /// Percent of --max-streams open to anonymous clients and passengers; the
    /// rest is kept for clerks and admins.
    #[arg(long, default_value_t = 75, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub public_streams_percent: u8,
    /// How often the /metrics gauges that need a query (outbox backlog, free
    /// seats of the hottest trips, waiting rooms, pool) are refreshed, in seconds.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub metrics_refresh_secs: u64,
    /// How often the invariants (no seat-segment sold twice, tickets, money)
    /// are checked for /metrics, in seconds (0: never). Each check reads every
    /// live seat claim.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(0..=86_400))]
    pub invariant_check_secs: u64,
}

/// A cap flag: 0 turns the cap off.
fn cap(flag: u64) -> Option<i64> {
    (flag > 0).then_some(flag as i64)
}

/// Resolved settings for one server process.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub database_url: String,
    pub listen: SocketAddr,
    pub demo: Option<u32>,
    pub app: AppConfig,
    pub limits: Limits,
    /// Passenger e-mail through an SMTP relay; `None` = no e-mail is sent.
    pub smtp: Option<SmtpSettings>,
    /// Where outbox events are relayed; `None` = they stay in the database.
    pub events: Option<NatsSettings>,
    /// The NID registry; `None` = the mock, embedded.
    pub nid_registry: Option<NidRegistrySettings>,
    /// Where traveller SMS go.
    pub sms: SmsPlan,
}

/// Where NIDs are verified, and the key to show.
#[derive(Clone)]
pub struct NidRegistrySettings {
    pub url: String,
    pub key: String,
}

impl std::fmt::Debug for NidRegistrySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NidRegistrySettings")
            .field("url", &redact_url(&self.url))
            .finish_non_exhaustive()
    }
}

/// The SMS gateway `serve` talks to.
#[derive(Debug, Clone)]
pub enum SmsPlan {
    /// A gateway at a URL (`--sms-url`).
    Gateway(SmsGatewaySettings),
    /// A mock gateway this process starts, reached over loopback HTTP all the same.
    Embedded { sender_id: String },
}

/// Where passenger e-mail is relayed, and from whom it comes.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    pub url: String,
    pub from: String,
}

/// How long an order awaits its wallet payment unless told (or the hold is short).
const WALLET_PAYMENT_TIMEOUT_SECS: u64 = 300;

impl Cmd {
    fn resolve(&self, database_url: &str) -> anyhow::Result<ServeConfig> {
        let refund_rule = RefundRule::parse_tiers(&self.refund_tiers, self.refund_flat)?;
        if let Some(url) = &self.redis_url {
            // Only the form is checked: a Redis that is down is not a reason to
            // refuse to start (see `server::rate_redis`).
            redis::Client::open(url.as_str()).map_err(|e| {
                anyhow::anyhow!("--redis-url {}: {e}", crate::store::redact_url(url))
            })?;
        }
        let mut risk = crate::domain::risk::RiskPolicy::default();
        for spec in &self.risk_rules {
            risk.set(spec)
                .map_err(|e| anyhow::anyhow!("--risk-rule: {}", e.message))?;
        }
        Ok(ServeConfig {
            database_url: database_url.to_owned(),
            listen: self.listen,
            demo: self.demo.then_some(self.demo_days),
            app: AppConfig {
                jwt_secret: self.jwt_secret.clone(),
                region: self.region.resolve()?,
                hold_ttl: chrono::Duration::seconds(self.hold_ttl_secs as i64),
                gateway: self.gateway(database_url)?,
                wallet: self.wallet(database_url)?,
                recovery_after: chrono::Duration::seconds(self.recovery_after_secs as i64),
                notifications_dir: self.notifications_dir.clone(),
                ticket_key: self.ticket_key.clone(),
                redis_url: self.redis_url.clone(),
                redis_prefix: self.redis_prefix.clone(),
                sale: self.sale.policy(),
                refund_rule,
                max_password_hashes: self
                    .max_password_hashes
                    .map_or(AppConfig::default().max_password_hashes, |n| n as usize),
                password_hash_wait: Duration::from_millis(self.password_hash_wait_ms),
                clock: crate::app::Clock::from_env()?,
                max_holds_per_account: cap(self.max_holds_per_account),
                max_holds_per_address: cap(self.max_holds_per_address),
                gauges: GaugeSettings {
                    refresh_every: Duration::from_secs(self.metrics_refresh_secs),
                    invariants_every: (self.invariant_check_secs > 0)
                        .then(|| Duration::from_secs(self.invariant_check_secs)),
                },
                follow_seat_changes: !self.no_seat_feed,
                outbox_lease: chrono::Duration::seconds(self.outbox_lease_secs as i64),
                seats_per_nid_per_day: (self.seats_per_nid_per_day > 0)
                    .then_some(self.seats_per_nid_per_day),
                nid_flag_after: self.nid_flag_after,
                personal_data_retention_days: self.personal_data_retention_days,
                risk,
                ..AppConfig::default()
            },
            nid_registry: match (&self.nid_registry_url, &self.nid_registry_key) {
                (Some(url), Some(key)) => Some(NidRegistrySettings {
                    url: url.clone(),
                    key: key.clone(),
                }),
                _ => None,
            },
            events: self
                .nats_url
                .as_deref()
                .map(|url| NatsSettings::new(url, &self.nats_stream, &self.nats_subject_prefix))
                .transpose()?,
            sms: match &self.sms_url {
                Some(url) => SmsPlan::Gateway(SmsGatewaySettings {
                    url: url.clone(),
                    api_key: self.sms_api_key.clone(),
                    sender_id: self.sms_sender_id.clone(),
                    timeout: SMS_TIMEOUT,
                }),
                None => SmsPlan::Embedded {
                    sender_id: self.sms_sender_id.clone(),
                },
            },
            smtp: self.smtp_url.as_ref().map(|url| SmtpSettings {
                url: url.clone(),
                from: self.mail_from.clone(),
            }),
            limits: Limits {
                per_ip: NonZeroU32::new(self.rate_per_ip),
                per_user: NonZeroU32::new(self.rate_per_user),
                max_in_flight: self.max_in_flight as usize,
                read_timeout: Duration::from_millis(self.read_timeout_ms),
                connections: ConnLimits {
                    header_read_timeout: Duration::from_secs(self.header_read_timeout_secs),
                    idle_timeout: Duration::from_secs(self.idle_timeout_secs),
                    max_per_ip: self.max_connections_per_ip as usize,
                },
                streams: StreamLimits {
                    max_streams: self.max_streams as usize,
                    per_ip: self.max_streams_per_ip as usize,
                    public_percent: self.public_streams_percent,
                },
                trusted_proxies: TrustedProxies::new(self.trusted_proxies.clone()),
            },
        })
    }

    pub async fn run(&self, database_url: &str) -> anyhow::Result<()> {
        serve(self.resolve(database_url)?).await
    }

    fn wallet(&self, database_url: &str) -> anyhow::Result<WalletConfig> {
        let http_url = |flag: &str, url: &str| -> anyhow::Result<()> {
            let parsed =
                reqwest::Url::parse(url).map_err(|e| anyhow::anyhow!("--{flag} {url}: {e}"))?;
            anyhow::ensure!(
                matches!(parsed.scheme(), "http" | "https"),
                "--{flag} {url}: must be http:// or https://"
            );
            Ok(())
        };
        if let Some(url) = &self.wallet_url {
            http_url("wallet-url", url)?;
        }
        if let Some(url) = &self.public_url {
            http_url("public-url", url)?;
        }
        let config = WalletConfig {
            remote: self.wallet_url.as_ref().map(|url| RemoteWallet {
                url: url.clone(),
                merchant_key: self.wallet_merchant_key.clone(),
            }),
            payment_timeout: chrono::Duration::seconds(
                self.wallet_payment_timeout_secs
                    .unwrap_or((self.hold_ttl_secs / 2).clamp(1, WALLET_PAYMENT_TIMEOUT_SECS))
                    as i64,
            ),
            public_url: self.public_url.clone(),
            ledger: self
                .wallet_ledger
                .clone()
                .or_else(|| super::ledger_beside_named(database_url, "wallet")),
            ..WalletConfig::default()
        };
        config
            .check_against_hold(chrono::Duration::seconds(self.hold_ttl_secs as i64))
            .map_err(|e| anyhow::anyhow!("--{e}"))?;
        Ok(config)
    }

    fn gateway(&self, database_url: &str) -> anyhow::Result<GatewayConfig> {
        let remote = match &self.gateway_url {
            Some(url) => {
                let parsed = reqwest::Url::parse(url)
                    .map_err(|e| anyhow::anyhow!("--gateway-url {url}: {e}"))?;
                anyhow::ensure!(
                    matches!(parsed.scheme(), "http" | "https"),
                    "--gateway-url {url}: must be http:// or https://"
                );
                Some(RemoteGateway {
                    url: url.clone(),
                    secret_key: self.gateway_secret_key.clone(),
                    publishable_key: self.gateway_publishable_key.clone(),
                })
            }
            None => None,
        };
        // An embedded gateway beside a SQLite file keeps its ledger beside it,
        // so a restarted server still finds the charges it made.
        let ledger = self
            .gateway_ledger
            .clone()
            .or_else(|| super::ledger_beside(database_url));
        Ok(GatewayConfig {
            latency: Duration::from_millis(self.gateway_latency_ms),
            charge_timeout: Duration::from_millis(self.charge_timeout_ms),
            remote,
            ledger,
        })
    }
}

pub async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    raise_open_file_limit();
    let store = super::open_store(&config.database_url).await?;
    let app = plug_adapters(App::new(store, config.app.clone()).await?, &config).await?;
    let (app, _mock_sms) = plug_sms(app, &config).await?;
    if let Some(days) = config.demo {
        prepare_demo(&app, days).await?;
    }
    let gateway = app.card_gateway()?;
    let app_wallet_url = app.wallet.base_url();
    let server = Server::bind(config.listen, app.clone(), config.limits.clone())
        .await
        .with_context(|| {
            format!(
                "listening on {} (is another server running there?)",
                config.listen
            )
        })?;
    let addr = server.local_addr()?;
    let callback_url = app.wallet_callback_url();
    drop(app);
    println!(
        "ticketctl serving on http://{addr} (database {})",
        redact_url(&config.database_url)
    );
    println!("cards are tokenized at {}", gateway.tokens_url);
    println!(
        "wallet payments at {} (callbacks to {})",
        app_wallet_url, callback_url
    );
    if let Some(events) = &config.events {
        println!(
            "events relayed to NATS at {} (stream {}, subjects {})",
            redact_url(events.url()),
            events.stream(),
            events.all_subjects()
        );
    }
    if config.demo.is_some() {
        let tomorrow = crate::domain::ServiceDate::today_at(config.app.clock.now()).add_days(1);
        println!("try:  curl 'http://{addr}/v1/trips?from=Dhaka&to=Chattogram&date={tomorrow}'");
        println!(
            "demo logins (password '{DEMO_PASSWORD}'): {}",
            DEMO_USERS
                .iter()
                .map(|u| u.2)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    log_client_rules(&config);
    server.run(shutdown_signal()).await?;
    println!("ticketctl stopped");
    Ok(())
}

/// Where the rate limits are counted and whose forwarding headers are believed:
/// the two things an operator behind a load balancer must get right.
fn log_client_rules(config: &ServeConfig) {
    match &config.app.redis_url {
        Some(url) => tracing::info!(
            redis = %crate::store::redact_url(url),
            prefix = %config.app.redis_prefix,
            "rate limits are shared in Redis"
        ),
        None => tracing::info!("rate limits are kept in this process"),
    }
    let proxies = &config.limits.trusted_proxies;
    if !proxies.is_empty() {
        tracing::info!(
            ?proxies,
            "client addresses are read from these proxies' headers"
        );
    }
}

/// Every connection is a file descriptor: a soft limit of 1,024 (a common
/// default) runs out long before the per-address caps do. Raise the soft limit
/// to the hard one; if that fails the server still runs, with a warning.
fn raise_open_file_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => tracing::info!(open_files = n, "open-file limit"),
        Err(e) => tracing::warn!(error = %e, "could not raise the open-file limit"),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
