//! The flags naming a region and its witness, shared by `serve` and
//! `ticketctl region` (docs/multi-region.md §4–§5).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::app::region::{RegionConfig, parse_region_name};

#[derive(Debug, Clone, clap::Args)]
pub struct RegionFlags {
    /// This server's region, when the deployment spans several: writes for
    /// trips homed elsewhere are forwarded there, and writes here are fenced
    /// by the region's epochs at the witness. Needs --witness-url.
    #[arg(long, env = "TICKETCTL_REGION", requires = "witness_url")]
    pub region: Option<String>,
    /// Another region's servers: NAME=URL (e.g. B=http://10.1.0.5:8080), repeatable.
    #[arg(
        long = "peer",
        value_name = "NAME=URL",
        value_delimiter = ',',
        env = "TICKETCTL_PEERS"
    )]
    pub peers: Vec<String>,
    /// The witness's Redis (a third site), holding region leases and epochs.
    #[arg(long, env = "TICKETCTL_WITNESS_URL", hide_env_values = true)]
    pub witness_url: Option<String>,
    /// Prefix of the witness's keys.
    #[arg(long, default_value = "ticketctl:")]
    pub witness_prefix: String,
    /// Life of a region's lease at the witness, in milliseconds; renewed every fifth of it.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(500..=600_000))]
    pub lease_ttl_ms: u64,
    /// Writes stop this long before the lease could expire at the witness
    /// (the clock-skew margin), in milliseconds.
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(0..=60_000))]
    pub skew_margin_ms: u64,
}

impl RegionFlags {
    pub fn resolve(&self) -> anyhow::Result<Option<RegionConfig>> {
        let Some(name) = &self.region else {
            anyhow::ensure!(self.peers.is_empty(), "--peer needs --region");
            return Ok(None);
        };
        let name = parse_region_name("region", name)
            .map_err(|e| anyhow::anyhow!("--region: {}", e.message))?;
        let mut peers = BTreeMap::new();
        for spec in &self.peers {
            let (peer, url) = spec
                .split_once('=')
                .ok_or_else(|| anyhow::anyhow!("--peer {spec}: expected NAME=URL"))?;
            let peer = parse_region_name("peer", peer)
                .map_err(|e| anyhow::anyhow!("--peer: {}", e.message))?;
            let parsed =
                reqwest::Url::parse(url).map_err(|e| anyhow::anyhow!("--peer {peer}: {e}"))?;
            anyhow::ensure!(
                matches!(parsed.scheme(), "http" | "https"),
                "--peer {peer}: must be http:// or https://"
            );
            anyhow::ensure!(peer != name, "--peer {peer}: that is this region");
            peers.insert(peer, url.trim_end_matches('/').to_owned());
        }
        anyhow::ensure!(
            self.skew_margin_ms < self.lease_ttl_ms,
            "--skew-margin-ms must be shorter than --lease-ttl-ms"
        );
        let witness_url = self.witness_url.clone().unwrap_or_default();
        redis::Client::open(witness_url.as_str()).map_err(|e| {
            anyhow::anyhow!(
                "--witness-url {}: {e}",
                crate::store::redact_url(&witness_url)
            )
        })?;
        Ok(Some(RegionConfig {
            name,
            peers,
            witness_url,
            witness_prefix: self.witness_prefix.clone(),
            lease_ttl: Duration::from_millis(self.lease_ttl_ms),
            skew_margin: Duration::from_millis(self.skew_margin_ms),
        }))
    }
}
