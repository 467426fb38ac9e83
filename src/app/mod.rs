//! Use cases: the only callers of the store. The server, the TUI and the
//! admin commands all go through here, so a rule lives in one place.

pub mod audit;
pub mod availability;
pub mod booking;
pub mod catalog;
pub mod catalog_cache;
pub mod clock;
pub mod counter;
pub mod error;
pub mod export;
pub mod fixtures;
pub mod gauges;
pub mod identity;
pub mod invariants;
pub mod live;
pub mod nid;
pub mod notify;
mod passwords;
pub mod payments;
pub mod personal;
pub mod queue;
pub mod region;
pub mod relay;
pub mod risk;
pub mod search;
pub mod search_index;
pub mod seat_feed;
pub mod seed;
mod sessions;
pub mod tickets;
pub mod trip_ops;
pub mod trip_sale;
mod two_factor;
pub mod wallet;
pub mod workers;

// Kept at their old paths after moving under `booking`.
pub use booking::{order_keys, seat_choice};
pub use clock::Clock;
pub use error::{AppError, AppResult};

use chrono::{DateTime, Utc};
use std::sync::Arc;

use crate::domain::{RefundRule, SalePolicy};
use crate::store::prelude::*;
use payments::{GatewayConfig, PaymentGateway};

/// Settings of the use cases, resolved from flags and environment by `commands`.
#[derive(Debug, Clone)]
pub struct AppConfig {
    pub sale: SalePolicy,
    pub access_token_ttl: chrono::Duration,
    pub refresh_token_ttl: chrono::Duration,
    /// Failed logins in a row before an account is locked for `lockout`.
    pub max_failed_logins: i64,
    pub lockout: chrono::Duration,
    /// Password hashes (argon2id, ~19 MiB each) computed at once; about the core count.
    pub max_password_hashes: usize,
    /// How long a login or registration waits for a hashing turn before it is
    /// shed with 503 and Retry-After.
    pub password_hash_wait: std::time::Duration,
    /// HMAC secret for access tokens; `None` = generate one and keep it in the database.
    pub jwt_secret: Option<String>,
    /// How long held seats stay held without an order.
    pub hold_ttl: chrono::Duration,
    /// Unexpired holds one account may have at once online (`None`: no cap;
    /// `serve` sets 2). Counter clerks are not capped.
    pub max_holds_per_account: Option<i64>,
    /// Unexpired holds one client address may have at once online (`None`: no
    /// cap; `serve` sets 8). Off in the library so tests and the rehearsal,
    /// whose buyers all come from 127.0.0.1, are not capped by accident.
    pub max_holds_per_address: Option<i64>,
    pub refund_rule: RefundRule,
    pub gateway: GatewayConfig,
    /// The mobile-wallet provider and how long a wallet payment is awaited.
    pub wallet: wallet::WalletConfig,
    /// An order left mid-saga this long is settled by recovery.
    pub recovery_after: chrono::Duration,
    /// How often expired holds are swept and stuck orders recovered.
    pub sweep_every: std::time::Duration,
    /// Where e-mail and SMS notifications are written; `None` = log only.
    pub notifications_dir: Option<std::path::PathBuf>,
    /// Ed25519 seed (hex) for signing tickets; `None` = generate and keep in the database.
    pub ticket_key: Option<String>,
    /// Redis shared by every `serve` process (`redis://127.0.0.1:6379`): the
    /// waiting room and rate limits live there when set; `None` = this
    /// process alone keeps them in memory.
    pub redis_url: Option<String>,
    /// Prefix of every Redis key this deployment uses, so several deployments
    /// (or tests) can share one Redis server.
    pub redis_prefix: String,
    /// Where every time rule reads "now": the system clock, or a manual one in tests.
    pub clock: Clock,
    /// How often the metrics' queried gauges are refreshed.
    pub gauges: gauges::GaugeSettings,
    /// Follow seat changes committed by other processes through the store's
    /// seat feed (Postgres LISTEN/NOTIFY). Off, they are seen by polling only
    /// (needed behind a connection pooler in transaction mode, which cannot LISTEN).
    pub follow_seat_changes: bool,
    /// How long a claimed outbox batch is the claimant's alone: a process
    /// killed mid-batch delays its events by at most this much.
    pub outbox_lease: chrono::Duration,
    /// Seats one NID may hold or own on all trains of one travel day
    /// (`None`: no day cap); the per-trip cap is the rule's four.
    pub seats_per_nid_per_day: Option<u32>,
    /// Sales refused by an NID's caps before the NID is flagged for review.
    pub nid_flag_after: i64,
    /// How traveller SMS are retried (when a sender is plugged in).
    pub sms: notify::sms::SmsPolicy,
    /// Personal data older than this many days is anonymised by a worker
    /// (see `personal::purge_personal_data`); `None`: kept until erased.
    pub personal_data_retention_days: Option<u32>,
    /// The fraud-velocity rules (`serve --risk-rule`); their counters live
    /// where the waiting room does (`redis_url`).
    pub risk: crate::domain::risk::RiskPolicy,
    /// The region this app serves when the deployment spans several.
    pub region: Option<region::RegionConfig>,
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            sale: SalePolicy::default(),
            access_token_ttl: chrono::Duration::minutes(15),
            refresh_token_ttl: chrono::Duration::days(30),
            max_failed_logins: 5,
            lockout: chrono::Duration::minutes(15),
            max_password_hashes: std::thread::available_parallelism().map_or(2, |n| n.get()),
            password_hash_wait: std::time::Duration::from_millis(200),
            jwt_secret: None,
            hold_ttl: chrono::Duration::minutes(10),
            max_holds_per_account: None,
            max_holds_per_address: None,
            refund_rule: RefundRule::default(),
            gateway: GatewayConfig::default(),
            wallet: wallet::WalletConfig::default(),
            recovery_after: chrono::Duration::seconds(30),
            sweep_every: std::time::Duration::from_secs(1),
            notifications_dir: None,
            ticket_key: None,
            redis_url: None,
            redis_prefix: "ticketctl:".into(),
            clock: Clock::System,
            gauges: gauges::GaugeSettings::default(),
            follow_seat_changes: true,
            outbox_lease: workers::OUTBOX_LEASE,
            seats_per_nid_per_day: Some(crate::domain::SEATS_PER_NID_PER_DAY),
            nid_flag_after: 5,
            sms: notify::sms::SmsPolicy::default(),
            personal_data_retention_days: None,
            risk: crate::domain::risk::RiskPolicy::default(),
            region: None,
        }
    }
}

/// The application: store, settings and keys, shared by every request.
#[derive(Clone)]
pub struct App {
    /// Private to `app`: the server and the commands go through use cases.
    store: Arc<dyn Store>,
    pub config: Arc<AppConfig>,
    pub(crate) tokens: Arc<identity::TokenKeys>,
    pub(crate) passwords: Arc<passwords::Passwords>,
    pub(crate) ticket_key: Arc<ed25519_dalek::SigningKey>,
    pub gateway: Arc<dyn PaymentGateway>,
    /// The mobile-wallet provider (`config.wallet`, or `with_wallet`).
    pub wallet: Arc<dyn wallet::WalletGateway>,
    /// The address this app's server listens on, once bound (for the wallet
    /// callback URL when none is configured).
    pub(crate) bound_url: Arc<std::sync::OnceLock<String>>,
    /// Where NIDs are verified (`with_nid_registry`); none until one is plugged in.
    pub(crate) nid_registry: Arc<dyn nid::NidRegistry>,
    pub(crate) catalog: Arc<catalog_cache::CatalogCache>,
    pub(crate) availability: Arc<availability::Availability>,
    /// Station pairs' trains for trip search, per catalog snapshot.
    pub(crate) search_index: Arc<search_index::SearchIndex>,
    /// Where passenger e-mail goes (`with_mailer`); `None` = no e-mail is sent.
    pub(crate) mailer: Option<Arc<dyn notify::Mailer>>,
    /// Where traveller SMS go (`with_sms_sender`); `None` = none is sent.
    pub(crate) sms: Option<Arc<notify::sms::SmsOut>>,
    /// Where outbox events are relayed (`with_event_publisher`); `None` = they stay in the database.
    pub(crate) events: Option<Arc<dyn relay::EventPublisher>>,
    pub(crate) queue: Arc<queue::Queue>,
    pub(crate) live: Arc<live::LiveTrips>,
    pub(crate) sweeps: Arc<workers::SweepRequests>,
    /// The name this app claims outbox events under (one per app, so per process).
    pub(crate) outbox_owner: Arc<str>,
    /// One batch at a time per outbox consumer in this app (see `OutboxTurns`).
    pub(crate) outbox_turns: Arc<workers::OutboxTurns>,
    pub(crate) orders_in_flight: Arc<order_keys::OrdersInFlight>,
    /// This server's metrics (`observe`), rendered at `GET /metrics`.
    pub(crate) metrics: crate::observe::Metrics,
    pub(crate) gauges: Arc<gauges::GaugeState>,
    pub(crate) risk: Arc<risk::Risk>,
    /// The region this app serves, when it is one of several (`with_region`).
    pub(crate) region: Option<Arc<region::Region>>,
}

impl App {
    /// Builds the app on a migrated store, loading (or creating) its signing keys.
    pub async fn new(store: Arc<dyn Store>, config: AppConfig) -> AppResult<App> {
        let tokens =
            identity::TokenKeys::load(store.as_ref(), config.jwt_secret.as_deref()).await?;
        let ticket_key =
            tickets::load_signing_key(store.as_ref(), config.ticket_key.as_deref()).await?;
        // The one place `app` reaches past its ports: with no gateway URL the
        // mock is started here, so every caller of `App::new` (the commands,
        // the rehearsal, tests) gets a gateway reached over HTTP.
        let gateway: Arc<dyn PaymentGateway> = Arc::new(
            crate::adapters::gateway_http::HttpGateway::connect(
                &config.gateway,
                config.clock.clone(),
            )
            .await
            .map_err(|e| AppError::Internal(format!("starting the card gateway: {e}")))?,
        );
        let wallet: Arc<dyn wallet::WalletGateway> = Arc::new(
            crate::adapters::wallet_http::HttpWallet::connect(&config.wallet, config.clock.clone())
                .await
                .map_err(|e| AppError::Internal(format!("starting the wallet provider: {e}")))?,
        );
        let queue_key = store
            .setting_or_init("admission_key", &hex::encode(rand::random::<[u8; 32]>()))
            .await?;
        let queue = Arc::new(queue::Queue::new(
            store.clone(),
            queue_key.into_bytes(),
            &config,
        )?);
        let risk = Arc::new(risk::Risk::new(&config)?);
        let metrics = crate::observe::Metrics::new(config.gauges.ttl());
        store.observe_writer(gauges::writer_observer(&metrics));
        let passwords = Arc::new(passwords::Passwords::new(
            config.max_password_hashes,
            config.password_hash_wait,
        )?);
        let config_region = config.region.clone();
        let app = App {
            store,
            config: Arc::new(config),
            tokens: Arc::new(tokens),
            passwords,
            ticket_key: Arc::new(ticket_key),
            gateway,
            wallet,
            bound_url: Arc::default(),
            nid_registry: Arc::new(nid::NoRegistry),
            catalog: Arc::default(),
            availability: Arc::default(),
            search_index: Arc::default(),
            mailer: None,
            sms: None,
            events: None,
            queue,
            live: Arc::default(),
            sweeps: Arc::default(),
            outbox_owner: workers::outbox_owner().into(),
            outbox_turns: Arc::default(),
            orders_in_flight: Arc::default(),
            metrics,
            gauges: Arc::default(),
            risk,
            region: None,
        };
        match config_region {
            Some(rc) => Ok(app.with_region(region::Region::new(rc)?)),
            None => Ok(app),
        }
    }

    /// Verifies NIDs at `registry` (e.g. the HTTP adapter).
    pub fn with_nid_registry(mut self, registry: Arc<dyn nid::NidRegistry>) -> App {
        self.nid_registry = registry;
        self
    }

    /// Pays cards through `gateway` instead of the one `config.gateway` names
    /// (e.g. one gateway kept across several apps on one database).
    pub fn with_gateway(mut self, gateway: Arc<dyn PaymentGateway>) -> App {
        self.gateway = gateway;
        self
    }

    /// Takes wallet payments through `wallet` instead of the one
    /// `config.wallet` names (e.g. one provider kept across several apps).
    pub fn with_wallet(mut self, wallet: Arc<dyn wallet::WalletGateway>) -> App {
        self.wallet = wallet;
        self
    }

    /// Sends passenger e-mail through `mailer` (e.g. the SMTP adapter).
    pub fn with_mailer(mut self, mailer: Arc<dyn notify::Mailer>) -> App {
        self.mailer = Some(mailer);
        self
    }

    /// The store itself, past every use case and rule: for the raw-storage
    /// benchmark and for tests that plant or inspect rows. Nothing that serves
    /// users calls it.
    pub fn raw_store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Whether the database answers and its schema is up to date (readiness).
    pub async fn database_ready(&self) -> AppResult<bool> {
        Ok(self.store.is_migrated().await?)
    }

    /// The instant every time rule is judged at (see `clock`).
    pub fn now(&self) -> DateTime<Utc> {
        self.config.clock.now()
    }

    /// The app's clock, for tests that set or advance a manual one.
    pub fn clock(&self) -> &Clock {
        &self.config.clock
    }
}
