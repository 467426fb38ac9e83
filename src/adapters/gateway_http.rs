//! The card gateway over HTTP: `app::payments::PaymentGateway` on reqwest,
//! against the mock (`ticketctl mock-gateway`, or embedded on a loopback port
//! when `serve` is given no gateway URL) or any gateway speaking its API.
//!
//! The booking server talks to the gateway with its secret key only: it
//! checks tokens, charges, looks charges up, refunds, and reads the ledger.
//! It never sends or receives a card number.

use async_trait::async_trait;
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use std::time::Duration;

use crate::app::payments::{ChargeOutcome, GatewayConfig, GatewayEndpoint, PaymentGateway};
use crate::app::{AppError, AppResult, Clock};
use crate::domain::{Charge, ChargeStatus};
use crate::outside::Embedded;
use crate::outside::gateway::{self as mock, GatewaySettings, Ledger};
use crate::store::PaymentToken;
use crate::wire::gateway::{
    CardToken, ChargeBody, ChargeList, ChargeView, GatewayErrorBody, RefundBody,
};

/// How long any call but a charge may take (a charge has its own timeout).
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

pub struct HttpGateway {
    client: reqwest::Client,
    base: String,
    secret_key: String,
    publishable_key: String,
    charge_timeout: Duration,
    /// The embedded mock this client talks to, kept alive as long as the client.
    _embedded: Option<Embedded>,
}

impl HttpGateway {
    pub fn new(
        base: &str,
        secret_key: &str,
        publishable_key: &str,
        charge_timeout: Duration,
    ) -> HttpGateway {
        HttpGateway {
            client: reqwest::Client::new(),
            base: base.trim_end_matches('/').to_owned(),
            secret_key: secret_key.to_owned(),
            publishable_key: publishable_key.to_owned(),
            charge_timeout,
            _embedded: None,
        }
    }

    /// The gateway `config` names: the one at its URL, or the mock started on
    /// a loopback port of this process (ledger in memory or in `config.ledger`).
    pub async fn connect(config: &GatewayConfig, clock: Clock) -> std::io::Result<HttpGateway> {
        if let Some(remote) = &config.remote {
            return Ok(HttpGateway::new(
                &remote.url,
                &remote.secret_key,
                &remote.publishable_key,
                config.charge_timeout,
            ));
        }
        let ledger = Ledger::open(config.ledger.as_deref()).map_err(std::io::Error::other)?;
        let settings = GatewaySettings {
            latency: config.latency,
            // Long enough that our own charge timeout always strikes first.
            lost_answer: config.charge_timeout * 2,
            clock,
            ..GatewaySettings::default()
        };
        let embedded = mock::embedded(ledger, settings).await?;
        let mut gw = HttpGateway::new(
            &embedded.url(),
            mock::TEST_SECRET_KEY,
            mock::TEST_PUBLISHABLE_KEY,
            config.charge_timeout,
        );
        gw._embedded = Some(embedded);
        Ok(gw)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn unreachable(&self, e: impl std::fmt::Display) -> AppError {
        tracing::warn!(error = %e, "the card gateway cannot be reached");
        AppError::Unavailable {
            detail: "the card gateway cannot be reached; try again shortly".into(),
            retry_after_secs: 5,
        }
    }

    /// Sends `req`; `Ok(None)` for 404, the body for 2xx, an error otherwise.
    async fn call<T: DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
    ) -> AppResult<Option<T>> {
        let resp = req
            .bearer_auth(&self.secret_key)
            .timeout(CALL_TIMEOUT)
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        match resp.status() {
            StatusCode::NOT_FOUND => Ok(None),
            s if s.is_success() => resp.json().await.map(Some).map_err(|e| self.unreachable(e)),
            s => {
                let why = resp
                    .json::<GatewayErrorBody>()
                    .await
                    .map(|b| b.error.message)
                    .unwrap_or_default();
                Err(AppError::Internal(format!(
                    "card gateway answered {s}: {why}"
                )))
            }
        }
    }
}

fn charge_of(v: ChargeView) -> AppResult<Charge> {
    let status: ChargeStatus = v.status.parse().map_err(|_| {
        AppError::Internal(format!("card gateway sent charge status '{}'", v.status))
    })?;
    Ok(Charge {
        idempotency_key: v.idempotency_key,
        charge_id: v.id,
        token: v.token,
        amount: v.amount,
        status,
        refunded: v.refunded,
    })
}

#[async_trait]
impl PaymentGateway for HttpGateway {
    fn endpoint(&self) -> Option<GatewayEndpoint> {
        Some(GatewayEndpoint {
            tokens_url: self.url("/v1/tokens"),
            publishable_key: self.publishable_key.clone(),
        })
    }

    async fn card_token(&self, token: &str) -> AppResult<Option<CardToken>> {
        let path = format!("/v1/tokens/{}", urlencoding_path(token));
        self.call(self.client.get(self.url(&path))).await
    }

    async fn charge(&self, key: &str, token: &PaymentToken, amount: i64) -> ChargeOutcome {
        let sent = self
            .client
            .post(self.url("/v1/charges"))
            .bearer_auth(&self.secret_key)
            .header("idempotency-key", key)
            .timeout(self.charge_timeout)
            .json(&ChargeBody {
                token: token.token.clone(),
                amount,
            })
            .send()
            .await;
        let resp = match sent {
            Ok(r) => r,
            // Timed out or unreachable: the charge may or may not have landed.
            Err(e) => {
                tracing::warn!(error = %e, key, "no answer from the card gateway");
                return ChargeOutcome::Unknown;
            }
        };
        let status = resp.status();
        if status.is_success() {
            match resp.json::<ChargeView>().await.map(charge_of) {
                Ok(Ok(c)) => match c.status.decline_reason() {
                    None => ChargeOutcome::Succeeded {
                        charge_id: c.charge_id,
                    },
                    Some(reason) => ChargeOutcome::Declined {
                        reason: reason.into(),
                    },
                },
                _ => ChargeOutcome::Unknown,
            }
        } else if status.is_client_error() {
            // The gateway refused the request itself (e.g. a token it does not
            // know): nothing was charged.
            let why = resp
                .json::<GatewayErrorBody>()
                .await
                .map(|b| b.error.message)
                .unwrap_or_else(|_| format!("card gateway answered {status}"));
            ChargeOutcome::Declined { reason: why }
        } else {
            ChargeOutcome::Unknown
        }
    }

    async fn lookup(&self, key: &str) -> AppResult<Option<Charge>> {
        let path = format!("/v1/charges/{}", urlencoding_path(key));
        self.call::<ChargeView>(self.client.get(self.url(&path)))
            .await?
            .map(charge_of)
            .transpose()
    }

    async fn refund(&self, charge_id: &str, total: i64) -> AppResult<Charge> {
        let path = format!("/v1/charges/{}/refunds", urlencoding_path(charge_id));
        let req = self
            .client
            .post(self.url(&path))
            .json(&RefundBody { total });
        match self.call::<ChargeView>(req).await? {
            Some(c) => charge_of(c),
            None => Err(AppError::NotFound(format!(
                "the card gateway has no charge {charge_id}"
            ))),
        }
    }

    async fn charges(&self) -> AppResult<Vec<Charge>> {
        let list: Option<ChargeList> = self
            .call(self.client.get(self.url("/v1/ledger/charges")))
            .await?;
        list.map_or(Ok(vec![]), |l| {
            l.charges.into_iter().map(charge_of).collect()
        })
    }
}

/// Keys and ids are ours or the gateway's (letters, digits, `-`, `_`), but a
/// path segment is escaped anyway so nothing can walk the gateway's paths.
fn urlencoding_path(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
