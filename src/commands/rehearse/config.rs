//! The rehearsal's flags resolved once into what a run needs: where the server
//! is, the crowd, the waiting room, and what to write. Bad values are refused
//! here with a message, before anything is seeded or started.

use anyhow::bail;
use std::path::PathBuf;
use std::time::Duration;

use super::Cmd;

/// Where the rehearsal's server runs.
pub(super) enum ServerAt {
    /// Started in this process on a fresh temporary SQLite file, or on
    /// `--database-url` with `--use-database`.
    Embedded { use_database: bool },
    /// Running servers (one or several processes on one database); passengers
    /// are spread over them in turn. Their database is checked afterwards
    /// only with `--use-database`.
    Remote {
        base_urls: Vec<String>,
        use_database: bool,
        /// An admin's login, to create the queued sale through the API.
        admin: Option<AdminLogin>,
    },
}

/// An admin account on the servers under test.
pub(super) struct AdminLogin {
    pub(super) email: String,
    pub(super) password: String,
}

impl ServerAt {
    pub(super) fn is_embedded(&self) -> bool {
        matches!(self, ServerAt::Embedded { .. })
    }

    /// Whether this process opens the database (to seed it, or to check it afterwards).
    pub(super) fn opens_database(&self) -> bool {
        match self {
            ServerAt::Embedded { .. } => true,
            ServerAt::Remote { use_database, .. } => *use_database,
        }
    }

    pub(super) fn use_database(&self) -> bool {
        match self {
            ServerAt::Embedded { use_database } | ServerAt::Remote { use_database, .. } => {
                *use_database
            }
        }
    }
}

/// The waiting room the crowd goes through: made in the embedded server's
/// database, or through the API of running servers with an admin's login.
pub(super) struct RoomPlan {
    pub(super) admit_rate: f64,
    pub(super) max_active: usize,
    pub(super) poll: Duration,
}

pub(super) struct RehearsalConfig {
    pub(super) server: ServerAt,
    pub(super) passengers: usize,
    pub(super) concurrency: usize,
    pub(super) decline_share: f64,
    pub(super) timeout_share: f64,
    pub(super) abandon_share: f64,
    pub(super) wallet_share: f64,
    pub(super) arrival: Duration,
    pub(super) room: Option<RoomPlan>,
    /// Bookings the raw-storage baseline writes, when it is measured.
    pub(super) baseline_bookings: Option<usize>,
    pub(super) chart: PathBuf,
    pub(super) json: bool,
    /// Where the server's /metrics at the end of the sale is written.
    pub(super) metrics_out: Option<PathBuf>,
    /// Signs the passengers' tokens when they are made in the servers' database.
    pub(super) jwt_secret: Option<String>,
    /// The servers' card gateway, whose ledger the invariant check reads.
    pub(super) gateway: Option<crate::app::payments::RemoteGateway>,
}

fn share(name: &str, value: f64) -> anyhow::Result<f64> {
    if !(0.0..=1.0).contains(&value) {
        bail!("--{name} must be between 0 and 1, not {value}");
    }
    Ok(value)
}

fn base_url(url: &str) -> anyhow::Result<String> {
    let base = url.trim_end_matches('/').to_owned();
    if !base.starts_with("http://") && !base.starts_with("https://") {
        bail!("--server must be an http:// or https:// URL, not {url:?}");
    }
    Ok(base)
}

impl Cmd {
    fn admin_login(&self) -> anyhow::Result<Option<AdminLogin>> {
        match (&self.admin_email, &self.admin_password) {
            (None, _) => Ok(None),
            (Some(_), None) => {
                bail!("--admin-email needs --admin-password (or TICKETCTL_ADMIN_PASSWORD)")
            }
            (Some(email), Some(password)) => Ok(Some(AdminLogin {
                email: email.clone(),
                password: password.clone(),
            })),
        }
    }

    pub(super) fn resolve(&self) -> anyhow::Result<RehearsalConfig> {
        if !(1..=1_000_000).contains(&self.passengers) {
            bail!("--passengers must be between 1 and 1000000");
        }
        if !(1..=10_000).contains(&self.concurrency) {
            bail!("--concurrency must be between 1 and 10000");
        }
        if !(0.0..=3600.0).contains(&self.arrival_secs) {
            bail!("--arrival-secs must be between 0 and 3600");
        }
        if !(self.admit_rate > 0.0 && self.admit_rate <= 1_000_000.0) {
            bail!("--admit-rate must be above 0 and at most 1000000");
        }
        let (decline, timeout, abandon) = (
            share("decline-share", self.decline_share)?,
            share("timeout-share", self.timeout_share)?,
            share("abandon-share", self.abandon_share)?,
        );
        if decline + timeout > 1.0 {
            bail!("--decline-share and --timeout-share add up to more than 1");
        }
        let server = if self.servers.is_empty() {
            if self.admin_email.is_some() {
                bail!(
                    "--admin-email is for running servers (--server); the embedded one needs none"
                );
            }
            ServerAt::Embedded {
                use_database: self.use_database,
            }
        } else {
            ServerAt::Remote {
                base_urls: self
                    .servers
                    .iter()
                    .map(|url| base_url(url))
                    .collect::<anyhow::Result<_>>()?,
                use_database: self.use_database,
                admin: self.admin_login()?,
            }
        };
        let queued = match &server {
            ServerAt::Embedded { .. } => true,
            ServerAt::Remote { admin, .. } => admin.is_some(),
        };
        let room = (queued && !self.no_queue).then(|| RoomPlan {
            admit_rate: self.admit_rate,
            max_active: self.max_active.unwrap_or(self.concurrency).max(1),
            poll: Duration::from_millis(self.poll_ms.max(10)),
        });
        Ok(RehearsalConfig {
            server,
            passengers: self.passengers,
            concurrency: self.concurrency,
            decline_share: decline,
            timeout_share: timeout,
            abandon_share: abandon,
            wallet_share: share("wallet-share", self.wallet_share)?,
            arrival: Duration::from_secs_f64(self.arrival_secs),
            room,
            baseline_bookings: self.baseline.then_some(self.baseline_bookings),
            chart: self.chart.clone(),
            json: self.json,
            metrics_out: self.metrics_out.clone(),
            jwt_secret: self.jwt_secret.clone(),
            gateway: self
                .gateway_url
                .as_ref()
                .map(|url| crate::app::payments::RemoteGateway {
                    url: url.clone(),
                    secret_key: self.gateway_secret_key.clone(),
                    publishable_key: String::new(),
                }),
        })
    }
}
