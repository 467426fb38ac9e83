//! `ticketctl mock-sms`: the mock SMS gateway as a process of its own, for
//! development and tests (`serve --sms-url http://ADDR`).

use anyhow::Context;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::outside::sms::{MockSms, Settings};

#[derive(Debug, clap::Args)]
pub struct Cmd {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8090")]
    pub listen: SocketAddr,
    /// The API key every request must carry (default: any key is taken).
    #[arg(long, env = "TICKETCTL_MOCK_SMS_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// How long the slow test number (8801999000030) takes to answer, in milliseconds.
    #[arg(long, default_value_t = 3000, value_parser = clap::value_parser!(u64).range(0..=600_000))]
    pub slow_ms: u64,
    /// Also append each accepted message to this file as a JSON line.
    #[arg(long)]
    pub log_file: Option<PathBuf>,
}

impl Cmd {
    pub async fn run(&self) -> anyhow::Result<()> {
        let mock = MockSms::new(Settings {
            api_key: self.api_key.clone(),
            slow: Duration::from_millis(self.slow_ms),
            log_file: self.log_file.clone(),
        });
        println!(
            "mock SMS gateway on http://{} (POST /api/smsapi, GET /messages?to=NUMBER)",
            self.listen
        );
        crate::outside::serve_standalone(mock.router(), self.listen)
            .await
            .with_context(|| format!("serving the mock SMS gateway on {}", self.listen))
    }
}
