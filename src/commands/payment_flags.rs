//! The payment providers a command that moves money (refunds) must reach:
//! the same ones `serve` charged through, so a refund finds its charge.
//! Without URLs the mocks run embedded with their ledgers beside a SQLite
//! database, where `serve` keeps them by default.

use crate::app::payments::{GatewayConfig, RemoteGateway};
use crate::app::wallet::{RemoteWallet, WalletConfig};

#[derive(Debug, Clone, clap::Args)]
pub struct PaymentFlags {
    /// The card gateway the server charges through (as `serve --gateway-url`).
    #[arg(long, env = "TICKETCTL_GATEWAY_URL")]
    pub gateway_url: Option<String>,
    /// The gateway's secret key, for refunds.
    #[arg(long, env = "TICKETCTL_GATEWAY_SECRET_KEY", hide_env_values = true,
          default_value = crate::outside::gateway::TEST_SECRET_KEY)]
    pub gateway_secret_key: String,
    /// Without --gateway-url: the embedded mock gateway's ledger (default:
    /// `<database file>-gateway.sqlite`, as `serve` keeps it).
    #[arg(long)]
    pub gateway_ledger: Option<std::path::PathBuf>,
    /// The mobile-wallet provider the server takes payments through.
    #[arg(long, env = "TICKETCTL_WALLET_URL")]
    pub wallet_url: Option<String>,
    /// The merchant key the wallet provider knows us by.
    #[arg(long, env = "TICKETCTL_WALLET_MERCHANT_KEY", hide_env_values = true,
          default_value = crate::outside::wallet::TEST_MERCHANT_KEY)]
    pub wallet_merchant_key: String,
    /// Without --wallet-url: the embedded mock provider's ledger (default:
    /// `<database file>-wallet.sqlite`).
    #[arg(long)]
    pub wallet_ledger: Option<std::path::PathBuf>,
}

fn http_url(flag: &str, url: &str) -> anyhow::Result<()> {
    let parsed = reqwest::Url::parse(url).map_err(|e| anyhow::anyhow!("--{flag} {url}: {e}"))?;
    anyhow::ensure!(
        matches!(parsed.scheme(), "http" | "https"),
        "--{flag} {url}: must be http:// or https://"
    );
    Ok(())
}

impl PaymentFlags {
    pub fn gateway(&self, database_url: &str) -> anyhow::Result<GatewayConfig> {
        if let Some(url) = &self.gateway_url {
            http_url("gateway-url", url)?;
        }
        Ok(GatewayConfig {
            remote: self.gateway_url.as_ref().map(|url| RemoteGateway {
                url: url.clone(),
                secret_key: self.gateway_secret_key.clone(),
                publishable_key: crate::outside::gateway::TEST_PUBLISHABLE_KEY.into(),
            }),
            ledger: self
                .gateway_ledger
                .clone()
                .or_else(|| super::ledger_beside(database_url)),
            ..GatewayConfig::default()
        })
    }

    pub fn wallet(&self, database_url: &str) -> anyhow::Result<WalletConfig> {
        if let Some(url) = &self.wallet_url {
            http_url("wallet-url", url)?;
        }
        Ok(WalletConfig {
            remote: self.wallet_url.as_ref().map(|url| RemoteWallet {
                url: url.clone(),
                merchant_key: self.wallet_merchant_key.clone(),
            }),
            ledger: self
                .wallet_ledger
                .clone()
                .or_else(|| super::ledger_beside_named(database_url, "wallet")),
            ..WalletConfig::default()
        })
    }
}
