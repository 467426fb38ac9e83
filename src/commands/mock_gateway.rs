//! `ticketctl mock-gateway`: the mock card gateway as a process of its own,
//! the PCI boundary of development and tests (see `outside::gateway`).

use anyhow::Context;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::outside::gateway::{
    self as gateway, GatewaySettings, Ledger, TEST_PUBLISHABLE_KEY, TEST_SECRET_KEY,
};

#[derive(Debug, clap::Args)]
pub struct Cmd {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8090")]
    pub listen: SocketAddr,
    /// The gateway's own ledger (SQLite file, created if missing); default: in memory.
    #[arg(long)]
    pub ledger: Option<PathBuf>,
    /// How long a charge takes, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// How long test cards …0119 (charged, answer lost) and …0259 (no answer)
    /// keep a caller waiting, in milliseconds: longer than its charge timeout.
    #[arg(long, default_value_t = 30_000)]
    pub lost_answer_ms: u64,
    /// The merchant's key: charges, refunds, token checks, the ledger.
    #[arg(long, env = "TICKETCTL_GATEWAY_SECRET_KEY", hide_env_values = true, default_value = TEST_SECRET_KEY)]
    pub secret_key: String,
    /// The key clients tokenize cards with (may be published).
    #[arg(long, default_value = TEST_PUBLISHABLE_KEY)]
    pub publishable_key: String,
}

impl Cmd {
    pub async fn run(&self) -> anyhow::Result<()> {
        let ledger = Ledger::open(self.ledger.as_deref())
            .with_context(|| format!("opening the ledger {:?}", self.ledger))?;
        let settings = GatewaySettings {
            secret_key: self.secret_key.clone(),
            publishable_key: self.publishable_key.clone(),
            latency: Duration::from_millis(self.latency_ms),
            lost_answer: Duration::from_millis(self.lost_answer_ms),
            clock: crate::app::Clock::from_env()?,
        };
        crate::outside::serve_with_ledger(
            "mock card gateway",
            self.ledger.as_deref(),
            gateway::router(ledger, settings),
            self.listen,
        )
        .await
        .with_context(|| format!("serving the mock card gateway on {}", self.listen))
    }
}
