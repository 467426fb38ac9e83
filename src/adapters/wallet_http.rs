//! The mobile-wallet provider over HTTP: `app::wallet::WalletGateway` on
//! reqwest, against the mock (`ticketctl mock-wallet`, or embedded on a
//! loopback port when `serve` is given no wallet URL) or any provider
//! speaking its API. Authenticated with the merchant key.

use async_trait::async_trait;
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use std::time::Duration;

use crate::app::payments::{ChargeOutcome, GatewayEndpoint, PaymentGateway};
use crate::app::wallet::{WalletConfig, WalletGateway};
use crate::app::{AppError, AppResult, Clock};
use crate::domain::wallet::WalletNumber;
use crate::domain::{Charge, ChargeStatus};
use crate::outside::Embedded;
use crate::outside::wallet::{self as mock, Ledger, WalletSettings};
use crate::store::PaymentToken;
use crate::wire::gateway::CardToken;
use crate::wire::wallet::{
    CreatePaymentBody, PaymentList, PaymentView, WalletErrorBody, WalletRefundBody,
};

/// How long any call to the provider may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

pub struct HttpWallet {
    client: reqwest::Client,
    base: String,
    merchant_key: String,
    /// The embedded mock this client talks to, kept alive as long as the client.
    _embedded: Option<Embedded>,
}

impl HttpWallet {
    pub fn new(base: &str, merchant_key: &str) -> HttpWallet {
        HttpWallet {
            client: reqwest::Client::new(),
            base: base.trim_end_matches('/').to_owned(),
            merchant_key: merchant_key.to_owned(),
            _embedded: None,
        }
    }

    /// The provider `config` names: the one at its URL, or the mock started
    /// on a loopback port of this process.
    pub async fn connect(config: &WalletConfig, clock: Clock) -> std::io::Result<HttpWallet> {
        if let Some(remote) = &config.remote {
            return Ok(HttpWallet::new(&remote.url, &remote.merchant_key));
        }
        let ledger = Ledger::open(config.ledger.as_deref()).map_err(std::io::Error::other)?;
        let late_delay = config.late_delay.unwrap_or_else(|| {
            (config.payment_timeout * 2)
                .to_std()
                .unwrap_or(Duration::from_secs(600))
        });
        let settings = WalletSettings {
            late_delay,
            callback_backoff: config.callback_backoff,
            clock,
            ..WalletSettings::default()
        };
        let embedded = mock::embedded(ledger, settings).await?;
        let mut w = HttpWallet::new(&embedded.url(), mock::TEST_MERCHANT_KEY);
        w._embedded = Some(embedded);
        Ok(w)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn unreachable(&self, e: impl std::fmt::Display) -> AppError {
        tracing::warn!(error = %e, "the wallet provider cannot be reached");
        AppError::Unavailable {
            detail: "the wallet provider cannot be reached; try again shortly".into(),
            retry_after_secs: 5,
        }
    }

    /// Sends `req`: `Ok(Ok(body))` for 2xx, `Ok(Err(status))` for 404/409
    /// (the caller decides), an error otherwise.
    async fn call<T: DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
    ) -> AppResult<Result<T, StatusCode>> {
        let resp = req
            .bearer_auth(&self.merchant_key)
            .timeout(CALL_TIMEOUT)
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        match resp.status() {
            s @ (StatusCode::NOT_FOUND | StatusCode::CONFLICT) => Ok(Err(s)),
            s if s.is_success() => resp.json().await.map(Ok).map_err(|e| self.unreachable(e)),
            s => {
                let why = resp
                    .json::<WalletErrorBody>()
                    .await
                    .map(|b| b.error.message)
                    .unwrap_or_default();
                Err(AppError::Internal(format!(
                    "wallet provider answered {s}: {why}"
                )))
            }
        }
    }
}

/// A payment as a charge under its invoice; `None` while it is open (no money moved).
fn charge_of(p: PaymentView) -> Option<Charge> {
    let status: ChargeStatus = p.status.charge_status()?;
    Some(Charge {
        idempotency_key: p.merchant_invoice,
        charge_id: p.payment_id,
        token: p.payer_reference,
        amount: p.amount,
        status,
        refunded: p.refunded,
    })
}

fn path_segment(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[async_trait]
impl PaymentGateway for HttpWallet {
    fn endpoint(&self) -> Option<GatewayEndpoint> {
        None
    }

    async fn card_token(&self, _token: &str) -> AppResult<Option<CardToken>> {
        Ok(None)
    }

    /// A wallet is never charged by the merchant: the passenger pays on the
    /// provider's page (`create_payment`). Asked anyway, the outcome is unknown,
    /// and the order's recovery asks the provider.
    async fn charge(&self, _key: &str, _token: &PaymentToken, _amount: i64) -> ChargeOutcome {
        ChargeOutcome::Unknown
    }

    async fn lookup(&self, key: &str) -> AppResult<Option<Charge>> {
        let path = format!("/v1/invoices/{}", path_segment(key));
        Ok(self
            .call::<PaymentView>(self.client.get(self.url(&path)))
            .await?
            .ok()
            .and_then(charge_of))
    }

    async fn refund(&self, charge_id: &str, total: i64) -> AppResult<Charge> {
        let path = format!("/v1/payments/{}/refunds", path_segment(charge_id));
        let req = self
            .client
            .post(self.url(&path))
            .json(&WalletRefundBody { total });
        match self.call::<PaymentView>(req).await? {
            Ok(p) => charge_of(p).ok_or_else(|| {
                AppError::Internal(format!("wallet payment {charge_id} is still open"))
            }),
            Err(_) => Err(AppError::NotFound(format!(
                "the wallet provider has no payment {charge_id}"
            ))),
        }
    }

    async fn charges(&self) -> AppResult<Vec<Charge>> {
        let list = self
            .call::<PaymentList>(self.client.get(self.url("/v1/ledger/payments")))
            .await?
            .map_err(|s| AppError::Internal(format!("wallet ledger answered {s}")))?;
        Ok(list.payments.into_iter().filter_map(charge_of).collect())
    }
}

#[async_trait]
impl WalletGateway for HttpWallet {
    fn base_url(&self) -> String {
        self.base.clone()
    }

    async fn create_payment(
        &self,
        invoice: &str,
        amount: i64,
        payer: &WalletNumber,
        callback_url: &str,
    ) -> AppResult<PaymentView> {
        let req = self
            .client
            .post(self.url("/v1/payments"))
            .json(&CreatePaymentBody {
                amount,
                merchant_invoice: invoice.to_owned(),
                callback_url: callback_url.to_owned(),
                payer_reference: payer.to_string(),
            });
        self.call(req)
            .await?
            .map_err(|s| AppError::Internal(format!("wallet provider answered {s}")))
    }

    async fn payment(&self, payment_id: &str) -> AppResult<Option<PaymentView>> {
        let path = format!("/v1/payments/{}", path_segment(payment_id));
        Ok(self.call(self.client.get(self.url(&path))).await?.ok())
    }

    async fn processing(&self) -> AppResult<usize> {
        let list = self
            .call::<PaymentList>(self.client.get(self.url("/v1/ledger/payments")))
            .await?
            .map_err(|s| AppError::Internal(format!("wallet ledger answered {s}")))?;
        Ok(list
            .payments
            .iter()
            .filter(|p| p.status == crate::domain::wallet::WalletState::Processing)
            .count())
    }

    async fn cancel(&self, payment_id: &str) -> AppResult<bool> {
        let path = format!("/v1/payments/{}/cancel", path_segment(payment_id));
        Ok(self
            .call::<PaymentView>(self.client.post(self.url(&path)))
            .await?
            .is_ok())
    }
}
