//! `ticketctl mock-wallet`: the mock mobile-wallet provider as a process of
//! its own (see `outside::wallet` for its API and test numbers).

use anyhow::Context;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::outside::wallet::{self as wallet, Ledger, TEST_MERCHANT_KEY, WalletSettings};

#[derive(Debug, clap::Args)]
pub struct Cmd {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8095")]
    pub listen: SocketAddr,
    /// The merchant's key: authenticates the booking server and signs its callbacks.
    #[arg(long, env = "TICKETCTL_WALLET_MERCHANT_KEY", hide_env_values = true, default_value = TEST_MERCHANT_KEY)]
    pub merchant_key: String,
    /// The provider's own ledger (SQLite file, created if missing); default: in memory.
    #[arg(long)]
    pub ledger: Option<PathBuf>,
    /// How long a late success (numbers ending 0119) stays processing before
    /// it completes and is reported, in milliseconds: longer than the booking
    /// server's wallet payment timeout.
    #[arg(long, default_value_t = 600_000)]
    pub late_delay_ms: u64,
    /// The wait before retrying a callback the merchant did not take, in
    /// milliseconds (doubled on each of up to 6 attempts).
    #[arg(long, default_value_t = 250)]
    pub callback_backoff_ms: u64,
}

impl Cmd {
    pub async fn run(&self) -> anyhow::Result<()> {
        let ledger = Ledger::open(self.ledger.as_deref())
            .with_context(|| format!("opening the ledger {:?}", self.ledger))?;
        let settings = WalletSettings {
            merchant_key: self.merchant_key.clone(),
            late_delay: Duration::from_millis(self.late_delay_ms),
            callback_backoff: Duration::from_millis(self.callback_backoff_ms),
            clock: crate::app::Clock::from_env()?,
            ..WalletSettings::default()
        };
        crate::outside::serve_with_ledger(
            "mock wallet provider",
            self.ledger.as_deref(),
            wallet::router(ledger, settings),
            self.listen,
        )
        .await
        .with_context(|| format!("serving the mock wallet provider on {}", self.listen))
    }
}
