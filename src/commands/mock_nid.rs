//! `ticketctl mock-nid --listen ADDR`: the mock NID registry as a process of
//! its own, for a `serve --nid-registry-url` (or several) to verify NIDs at.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;

use crate::outside::nid::{MockNidRegistry, router};

#[derive(Debug, clap::Args)]
pub struct Cmd {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:7070")]
    pub listen: SocketAddr,
    /// The API key clients must send in `X-Api-Key` (give `serve` the same
    /// with --nid-registry-key).
    #[arg(long, env = "TICKETCTL_NID_REGISTRY_KEY", hide_env_values = true)]
    pub api_key: String,
    /// How long NIDs starting with 222 take to answer, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    pub slow_ms: u64,
}

impl Cmd {
    pub async fn run(self) -> anyhow::Result<()> {
        if self.api_key.len() < 8 {
            anyhow::bail!("--api-key: use at least 8 characters");
        }
        let mock = MockNidRegistry::new(&self.api_key, Duration::from_millis(self.slow_ms));
        println!("mock NID registry on http://{}", self.listen);
        crate::outside::serve_standalone(router(mock), self.listen)
            .await
            .with_context(|| format!("serving the mock NID registry on {}", self.listen))
    }
}
