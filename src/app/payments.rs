//! Payments: charges through a card gateway behind a trait.
//!
//! Card numbers never reach this server (the PCI boundary): a passenger's
//! client sends the card straight to the gateway and gets a token
//! (`GET /v1/payments/gateway` says where); the server checks the token at the
//! gateway and keeps only the token, brand, last four digits and expiry. It
//! charges the token under an idempotency key (a retried charge never charges
//! twice), asks "did that charge land?", refunds, and reconciles its orders
//! with the gateway's ledger. The gateway is a service of its own (the mock in
//! `outside::gateway`, reached through `adapters::gateway_http`); its test
//! cards decline (…0002, …9995), lose the answer of a charge that landed
//! (…0119) or never answer (…0259).

use crate::wire::booking::TokenView;
use crate::wire::gateway::CardToken;
use async_trait::async_trait;
use std::time::Duration;

use crate::domain::{Charge, ParseError, UserId};
use crate::store::PaymentToken;

use super::{App, AppError, AppResult};

/// Where a passenger's client sends a card to get a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayEndpoint {
    pub tokens_url: String,
    pub publishable_key: String,
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

/// A way to take money for an order: the card gateway, or a counter's cash drawer.
#[async_trait]
pub trait PaymentGateway: Send + Sync {
    /// Where clients tokenize cards; `None` for a method that takes no cards.
    fn endpoint(&self) -> Option<GatewayEndpoint>;
    /// The gateway's description of a token it issued; `None` if it issued no such token.
    async fn card_token(&self, token: &str) -> AppResult<Option<CardToken>>;
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
    /// Every charge in the gateway's ledger, for reconciliation.
    async fn charges(&self) -> AppResult<Vec<Charge>>;
}

/// A card gateway of its own at `url` (`serve --gateway-url`).
#[derive(Clone)]
pub struct RemoteGateway {
    pub url: String,
    pub secret_key: String,
    pub publishable_key: String,
}

impl std::fmt::Debug for RemoteGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteGateway")
            .field("url", &self.url)
            .field("secret_key", &"(redacted)")
            .field("publishable_key", &self.publishable_key)
            .finish()
    }
}

#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// How long a charge takes at the embedded mock gateway.
    pub latency: Duration,
    /// How long we wait for a charge before treating its outcome as unknown.
    pub charge_timeout: Duration,
    /// The gateway to use; `None` = the mock, embedded on a loopback port.
    pub remote: Option<RemoteGateway>,
    /// The embedded mock's ledger file; `None` = in memory (forgotten at exit).
    pub ledger: Option<std::path::PathBuf>,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            latency: Duration::from_millis(0),
            charge_timeout: Duration::from_secs(5),
            remote: None,
            ledger: None,
        }
    }
}

impl App {
    /// Where clients tokenize cards (the gateway's URL and publishable key).
    pub fn card_gateway(&self) -> AppResult<GatewayEndpoint> {
        self.gateway
            .endpoint()
            .ok_or_else(|| AppError::Internal("the payment gateway takes no cards".into()))
    }

    /// Registers for `user_id` a token the user's client got from the gateway:
    /// the gateway must know it; we keep its token, brand, last four and expiry.
    /// Registering one's own token again answers the same; another user's is refused.
    pub async fn register_card_token(
        &self,
        user_id: UserId,
        gateway_token: &str,
    ) -> AppResult<TokenView> {
        let refuse = |why: &str| -> AppError { ParseError::new("gateway_token", why).into() };
        let shaped = gateway_token.len() <= 64
            && gateway_token.starts_with("tok_")
            && gateway_token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !shaped {
            return Err(refuse(
                "must be a token the card gateway issued ('tok_…', at most 64 characters)",
            ));
        }
        if let Some(t) = self.store.payment_token(gateway_token).await? {
            return if t.user_id == user_id {
                Ok(view_of(t))
            } else {
                Err(refuse("this token is registered to another account"))
            };
        }
        let Some(card) = self.gateway.card_token(gateway_token).await? else {
            return Err(refuse("the card gateway issued no such token"));
        };
        self.risk_card_added(
            user_id,
            crate::domain::risk::Subject::card(
                &card.brand,
                &card.last4,
                card.exp_month,
                card.exp_year,
            ),
        )
        .await?;
        let token = PaymentToken {
            token: card.token,
            user_id,
            brand: card.brand,
            last4: card.last4,
            exp_month: card.exp_month,
            exp_year: card.exp_year,
        };
        self.store
            .insert_payment_token(&token, self.clock().now())
            .await?;
        Ok(view_of(token))
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
                "unknown payment token; register one at POST /v1/payments/tokens",
            )
            .into()),
        }
    }
}

fn view_of(t: PaymentToken) -> TokenView {
    TokenView {
        token: t.token,
        brand: t.brand,
        last4: t.last4,
        exp_month: t.exp_month,
        exp_year: t.exp_year,
    }
}

impl From<crate::domain::ticket::TicketError> for AppError {
    fn from(e: crate::domain::ticket::TicketError) -> Self {
        AppError::Invalid(ParseError::new("ticket", e.to_string()))
    }
}
