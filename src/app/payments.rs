//! Payments: card tokenization and charges through a gateway behind a trait.
//!
//! The mock gateway behaves like a real one in test mode: it checks the card,
//! hands out tokens (we keep only the token, brand and last four digits), takes
//! charges under its own idempotency key (a retried charge never charges twice),
//! keeps its own ledger, answers "did that charge land?", and refunds. Like
//! Stripe's test cards, the outcome depends on the card:
//!
//! | card ends in | outcome |
//! |---|---|
//! | 0002 | declined ("card declined") |
//! | 9995 | declined ("insufficient funds") |
//! | 0119 | the charge lands, but the answer comes after our timeout |
//! | 0259 | no answer before our timeout, and nothing is charged |
//! | anything else | succeeds after the configured latency |

use crate::wire::booking::TokenView;
use async_trait::async_trait;
use chrono::Datelike;
use rand::RngCore;
use std::sync::Arc;
use std::time::Duration;

use crate::domain::card::{CardNumber, check_expiry_and_cvc};
use crate::domain::{Charge, ChargeStatus, ParseError, UserId};
use crate::store::PaymentToken;
use crate::store::prelude::*;

use super::{App, AppError, AppResult, Clock};

/// What the passenger types; dropped as soon as it is tokenized.
pub struct CardInput {
    pub number: String,
    pub exp_month: u32,
    pub exp_year: u32,
    pub cvc: String,
}

impl std::fmt::Debug for CardInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CardInput(redacted)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeOutcome {
    Succeeded {
        charge_id: String,
    },
    Declined {
        reason: String,
    },
    /// No answer in time: the charge may or may not have landed.
    Unknown,
}

#[async_trait]
pub trait PaymentGateway: Send + Sync {
    /// Exchanges card details for a token usable by `user_id`.
    async fn tokenize(&self, user_id: UserId, card: CardInput) -> AppResult<PaymentToken>;
    /// Charges `amount` taka once per `idempotency_key`, however often it is called.
    async fn charge(
        &self,
        idempotency_key: &str,
        token: &PaymentToken,
        amount: i64,
    ) -> ChargeOutcome;
    /// The gateway's own record of a charge, if it ever landed.
    async fn lookup(&self, idempotency_key: &str) -> AppResult<Option<Charge>>;
    /// Raises a charge's refunded total to `total`; repeating it is harmless.
    async fn refund(&self, charge_id: &str, total: i64) -> AppResult<Charge>;
}

#[derive(Debug, Clone, Copy)]
pub struct GatewayConfig {
    /// How long a charge takes at the gateway.
    pub latency: Duration,
    /// How long we wait for a charge before treating its outcome as unknown.
    pub charge_timeout: Duration,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            latency: Duration::from_millis(0),
            charge_timeout: Duration::from_secs(5),
        }
    }
}

/// The in-process mock gateway. Its ledger lives in the `gateway_charges` table,
/// standing in for the gateway's own database: it survives our crashes.
pub struct MockGateway {
    store: Arc<dyn Store>,
    config: GatewayConfig,
    clock: Clock,
}

impl MockGateway {
    pub fn new(store: Arc<dyn Store>, config: GatewayConfig, clock: Clock) -> Self {
        MockGateway {
            store,
            config,
            clock,
        }
    }

    async fn record(
        &self,
        key: &str,
        token: &PaymentToken,
        amount: i64,
        status: ChargeStatus,
    ) -> AppResult<Charge> {
        let charge = Charge {
            idempotency_key: key.to_owned(),
            charge_id: format!("ch_{}", random_hex(12)),
            token: token.token.clone(),
            amount,
            status,
            refunded: 0,
        };
        Ok(self.store.gateway_record(&charge, self.clock.now()).await?)
    }
}

fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut b);
    hex::encode(b)
}

#[async_trait]
impl PaymentGateway for MockGateway {
    async fn tokenize(&self, user_id: UserId, card: CardInput) -> AppResult<PaymentToken> {
        let number = CardNumber::parse(&card.number)?;
        let today = self.clock.now();
        check_expiry_and_cvc(
            card.exp_month,
            card.exp_year,
            &card.cvc,
            (today.year() as u32, today.month()),
        )?;
        let token = PaymentToken {
            token: format!("tok_{}", random_hex(12)),
            user_id,
            brand: number.brand().to_owned(),
            last4: number.last4().to_owned(),
            exp_month: card.exp_month,
            exp_year: if card.exp_year < 100 {
                2000 + card.exp_year
            } else {
                card.exp_year
            },
        };
        self.store.insert_payment_token(&token, today).await?;
        Ok(token)
    }

    async fn charge(&self, key: &str, token: &PaymentToken, amount: i64) -> ChargeOutcome {
        // A retry under the same key gets the first answer, never a second charge.
        if let Ok(Some(done)) = self.store.gateway_charge(key).await {
            return outcome_of(&done);
        }
        let work = async {
            tokio::time::sleep(self.config.latency).await;
            let result = match token.last4.as_str() {
                "0002" => {
                    self.record(key, token, amount, ChargeStatus::Declined)
                        .await
                }
                "9995" => {
                    self.record(key, token, amount, ChargeStatus::DeclinedFunds)
                        .await
                }
                "0119" => {
                    let landed = self
                        .record(key, token, amount, ChargeStatus::Succeeded)
                        .await;
                    // The money is taken, but the answer is lost in transit.
                    tokio::time::sleep(self.config.charge_timeout * 2).await;
                    landed
                }
                "0259" => {
                    tokio::time::sleep(self.config.charge_timeout * 2).await;
                    return ChargeOutcome::Unknown;
                }
                _ => {
                    self.record(key, token, amount, ChargeStatus::Succeeded)
                        .await
                }
            };
            match result {
                Ok(charge) => outcome_of(&charge),
                Err(e) => {
                    tracing::warn!(error = %e, "gateway failed to record a charge");
                    ChargeOutcome::Unknown
                }
            }
        };
        tokio::time::timeout(self.config.charge_timeout, work)
            .await
            .unwrap_or(ChargeOutcome::Unknown)
    }

    async fn lookup(&self, key: &str) -> AppResult<Option<Charge>> {
        Ok(self.store.gateway_charge(key).await?)
    }

    async fn refund(&self, charge_id: &str, total: i64) -> AppResult<Charge> {
        Ok(self.store.gateway_refund(charge_id, total).await?)
    }
}

fn outcome_of(charge: &Charge) -> ChargeOutcome {
    match charge.status.decline_reason() {
        None => ChargeOutcome::Succeeded {
            charge_id: charge.charge_id.clone(),
        },
        Some(reason) => ChargeOutcome::Declined {
            reason: reason.into(),
        },
    }
}

impl App {
    pub async fn tokenize_card(&self, user_id: UserId, card: CardInput) -> AppResult<TokenView> {
        let t = self.gateway.tokenize(user_id, card).await?;
        Ok(TokenView {
            token: t.token,
            brand: t.brand,
            last4: t.last4,
            exp_month: t.exp_month,
            exp_year: t.exp_year,
        })
    }

    /// The user's own token, or a clear refusal.
    pub(crate) async fn payment_token_of(
        &self,
        user_id: UserId,
        token: &str,
    ) -> AppResult<PaymentToken> {
        match self.store.payment_token(token).await? {
            Some(t) if t.user_id == user_id => Ok(t),
            _ => Err(ParseError::new(
                "payment_token",
                "unknown payment token; create one at POST /v1/payments/tokens",
            )
            .into()),
        }
    }
}

impl From<crate::domain::ticket::TicketError> for AppError {
    fn from(e: crate::domain::ticket::TicketError) -> Self {
        AppError::Invalid(ParseError::new("ticket", e.to_string()))
    }
}
