//! Mobile-wallet payments (bKash, Nagad, Rocket) with asynchronous
//! confirmation, beside cards and cash.
//!
//! An order paid by wallet is created as any other, then the provider is
//! asked for a payment (invoice = the order's charge key, so one payment per
//! order) and the order waits in `awaiting_payment`, keeping its seats, while
//! the passenger approves on the provider's page. The outcome arrives by a
//! callback signed with the merchant key (`wallet_callback`): a success
//! confirms and tickets, a cancel or failure fails the order and frees the
//! seats. A callback that never comes is settled by asking the provider once
//! the order has waited `payment_timeout` (shorter than the hold's TTL): paid
//! → confirmed; not paid → cancelled at the provider and failed. Money that
//! arrives for an order already failed or expired (a late success) is
//! refunded through the provider at once.
//!
//! The provider is a service of its own (the mock in `outside::wallet`,
//! reached through `adapters::wallet_http`), and a `PaymentGateway` like the
//! card gateway and the cash drawer: recovery, refunds and the money
//! invariant treat its payments as charges under the order's charge key.

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use std::time::Duration;

use crate::domain::wallet::{
    self as rules, CALLBACK_TOLERANCE_SECS, WalletNumber, WalletProvider, WalletState,
};
use crate::domain::{Order, OrderEvent, OrderStatus, ParseError, UserId};
use crate::store::{CallbackClaim, OrderChange, PaymentToken, StoreError, WalletPayment};
use crate::wire::booking::WalletPaymentView;
use crate::wire::wallet::{CallbackAck, PaymentView, WalletCallback};

use super::booking::charge_key;
use super::payments::PaymentGateway;
use super::{App, AppError, AppResult};

/// The path the provider posts its callbacks to, on this server.
pub const CALLBACK_PATH: &str = "/v1/payments/wallet/callback";

/// A mobile-wallet provider: a payment method whose charges happen on the
/// provider's page, reported later.
#[async_trait]
pub trait WalletGateway: PaymentGateway {
    /// Where the provider is (for messages).
    fn base_url(&self) -> String;
    /// Creates the payment for `invoice` (one per invoice, however often asked).
    async fn create_payment(
        &self,
        invoice: &str,
        amount: i64,
        payer: &WalletNumber,
        callback_url: &str,
    ) -> AppResult<PaymentView>;
    /// The provider's record of a payment; `None` if it has no such payment.
    async fn payment(&self, payment_id: &str) -> AppResult<Option<PaymentView>>;
    /// Cancels an unpaid payment: `Ok(false)` when it cannot be (it is being
    /// processed or was paid).
    async fn cancel(&self, payment_id: &str) -> AppResult<bool>;
    /// How many payments the provider is still processing (money on its way).
    async fn processing(&self) -> AppResult<usize>;
}

/// A wallet provider of its own at `url` (`serve --wallet-url`).
#[derive(Clone)]
pub struct RemoteWallet {
    pub url: String,
    pub merchant_key: String,
}

impl std::fmt::Debug for RemoteWallet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteWallet")
            .field("url", &self.url)
            .field("merchant_key", &"(redacted)")
            .finish()
    }
}

#[derive(Debug, Clone)]
pub struct WalletConfig {
    /// The provider to use; `None` = the mock, embedded on a loopback port.
    pub remote: Option<RemoteWallet>,
    /// How long an order awaits its wallet payment before the provider is
    /// asked and an unpaid order is failed; shorter than the hold's TTL.
    pub payment_timeout: chrono::Duration,
    /// This server's base URL as the provider reaches it (callbacks go to
    /// `<base>/v1/payments/wallet/callback`); `None` = the address it is bound to.
    pub public_url: Option<String>,
    /// How long the embedded mock keeps a late success (…0119) processing;
    /// `None` = twice the payment timeout.
    pub late_delay: Option<Duration>,
    /// The embedded mock's wait before retrying a callback (doubled each time).
    pub callback_backoff: Duration,
    /// The embedded mock's ledger file; `None` = in memory.
    pub ledger: Option<std::path::PathBuf>,
}

impl Default for WalletConfig {
    fn default() -> Self {
        WalletConfig {
            remote: None,
            payment_timeout: chrono::Duration::minutes(5),
            public_url: None,
            late_delay: None,
            callback_backoff: Duration::from_millis(250),
            ledger: None,
        }
    }
}

impl WalletConfig {
    /// The key callbacks are signed with (and the provider authenticates us by).
    pub fn merchant_key(&self) -> &str {
        self.remote
            .as_ref()
            .map_or(crate::outside::wallet::TEST_MERCHANT_KEY, |r| {
                r.merchant_key.as_str()
            })
    }

    /// Refuses a payment timeout that is not shorter than the hold's TTL: the
    /// seats must still be the order's when its payment is settled.
    pub fn check_against_hold(&self, hold_ttl: chrono::Duration) -> Result<(), ParseError> {
        if self.payment_timeout <= chrono::Duration::zero() || self.payment_timeout >= hold_ttl {
            return Err(ParseError::new(
                "wallet-payment-timeout-secs",
                format!(
                    "must be positive and shorter than the hold TTL ({} s)",
                    hold_ttl.num_seconds()
                ),
            ));
        }
        Ok(())
    }
}

/// How the passenger pays for an order, parsed from the request: a card
/// token, or a wallet and its number (the number is kept here, where the
/// order is placed, for checks that count by it).
#[derive(Debug, Clone)]
pub(crate) enum Payer {
    Card(String),
    Wallet {
        provider: WalletProvider,
        number: WalletNumber,
    },
}

impl Payer {
    /// The wallet and its number, when paying by wallet.
    pub(crate) fn wallet(&self) -> Option<(WalletProvider, &WalletNumber)> {
        match self {
            Payer::Wallet { provider, number } => Some((*provider, number)),
            Payer::Card(_) => None,
        }
    }

    pub(crate) fn parse(req: &crate::wire::booking::OrderRequest) -> AppResult<Payer> {
        match (&req.payment_token, &req.wallet) {
            (Some(token), None) => Ok(Payer::Card(token.clone())),
            (None, Some(w)) => {
                let provider = w.provider.parse::<WalletProvider>().map_err(|_| {
                    ParseError::new("wallet.provider", "must be bkash, nagad or rocket")
                })?;
                Ok(Payer::Wallet {
                    provider,
                    number: WalletNumber::parse(&w.number)?,
                })
            }
            _ => Err(ParseError::new(
                "payment_token",
                "send either 'payment_token' (a card) or 'wallet' ({\"provider\", \"number\"}), not both",
            )
            .into()),
        }
    }
}

fn view_of(p: WalletPayment) -> WalletPaymentView {
    WalletPaymentView {
        provider: p.provider,
        number_last4: p.number.get(7..).unwrap_or_default().to_owned(),
        payment_id: p.payment_id,
        redirect_url: p.redirect_url,
        state: p.state,
    }
}

impl App {
    /// Where the provider is to post callbacks for this server.
    pub(crate) fn wallet_callback_url(&self) -> String {
        let base = self
            .config
            .wallet
            .public_url
            .clone()
            .or_else(|| self.bound_url.get().cloned())
            .unwrap_or_else(|| "http://127.0.0.1".into());
        format!("{}{CALLBACK_PATH}", base.trim_end_matches('/'))
    }

    /// Tells the app the address its server listens on (for the callback URL
    /// when `public_url` is not set); the first one told stays.
    pub fn set_bound_addr(&self, addr: std::net::SocketAddr) {
        let host = if addr.ip().is_unspecified() {
            std::net::SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), addr.port())
        } else {
            addr
        };
        let _ = self.bound_url.set(format!("http://{host}"));
    }

    /// The payment token an order paid by wallet is made with: derived from
    /// the user and the Idempotency-Key (a retry finds the same), with the
    /// provider as its brand and the number's last four digits.
    pub(crate) async fn wallet_token(
        &self,
        user_id: UserId,
        key: &str,
        provider: WalletProvider,
        number: &WalletNumber,
    ) -> AppResult<PaymentToken> {
        let digest = Sha256::digest(format!("{user_id}:{key}"));
        let token = PaymentToken {
            token: format!("wal_{}", &hex::encode(digest)[..24]),
            user_id,
            brand: provider.as_str().to_owned(),
            last4: number.last4().to_owned(),
            exp_month: 0,
            exp_year: 0,
        };
        if let Some(t) = self.store.payment_token(&token.token).await? {
            return Ok(t);
        }
        match self.store.insert_payment_token(&token, self.now()).await {
            Ok(()) | Err(StoreError::Conflict(_)) => Ok(token),
            Err(e) => Err(e.into()),
        }
    }

    /// Whether a payment token stands for a mobile wallet.
    pub(crate) fn is_wallet_token(token: &PaymentToken) -> bool {
        token.brand.parse::<WalletProvider>().is_ok()
    }

    /// reserved → the provider makes the payment → awaiting_payment (or
    /// failed, with the seats released, when the provider cannot be reached).
    pub(crate) async fn start_wallet_payment(
        &self,
        order: Order,
        provider: WalletProvider,
        number: &WalletNumber,
    ) -> AppResult<Order> {
        let now = self.now();
        self.store
            .insert_wallet_payment(&WalletPayment {
                order_id: order.id,
                provider,
                number: number.to_string(),
                payment_id: None,
                redirect_url: None,
                state: WalletState::Initiated,
                created_at: now,
                updated_at: now,
            })
            .await?;
        let created = self
            .wallet
            .create_payment(
                &charge_key(order.id),
                order.amount,
                number,
                &self.wallet_callback_url(),
            )
            .await;
        match created {
            Ok(p) => {
                self.store
                    .update_wallet_payment(
                        order.id,
                        Some(&p.payment_id),
                        Some(&p.redirect_url),
                        p.status,
                        now,
                    )
                    .await?;
                self.transition(&order, OrderEvent::AwaitPayment, OrderChange::default())
                    .await
            }
            Err(e) => {
                tracing::warn!(order = %order.id, error = %e, "the wallet provider made no payment");
                let change = OrderChange {
                    failure: Some(
                        "the wallet provider cannot be reached; nothing was charged".into(),
                    ),
                    ..Default::default()
                };
                self.transition(&order, OrderEvent::Fail, change).await
            }
        }
    }

    /// Carries on a wallet order a crash left reserved: its payment is made
    /// (again: one per invoice at the provider), or, if even its number was
    /// not recorded, the order fails with nothing charged.
    pub(crate) async fn resume_wallet_order(&self, order: Order) -> AppResult<Order> {
        match self.store.wallet_payment(order.id).await? {
            Some(p) => {
                let number = WalletNumber::parse(&p.number)?;
                self.start_wallet_payment(order, p.provider, &number).await
            }
            None => {
                let change = OrderChange {
                    failure: Some(
                        "interrupted before the wallet payment; nothing was charged".into(),
                    ),
                    ..Default::default()
                };
                self.transition(&order, OrderEvent::Fail, change).await
            }
        }
    }

    /// The wallet payment of an order as the API shows it, if it has one.
    pub(crate) async fn wallet_view(&self, order: &Order) -> AppResult<Option<WalletPaymentView>> {
        Ok(self.store.wallet_payment(order.id).await?.map(view_of))
    }

    /// A callback from the wallet provider: `signature` is the
    /// `x-wallet-signature` header, `body` the raw body it signs. Forged,
    /// stale or replayed (another body for a payment already reported)
    /// callbacks are refused and change nothing; an exact duplicate is
    /// answered the same and changes nothing more.
    pub async fn wallet_callback(
        &self,
        signature: Option<&str>,
        body: &[u8],
    ) -> AppResult<CallbackAck> {
        let key = self.config.wallet.merchant_key().as_bytes();
        let header = signature.ok_or_else(|| {
            AppError::Unauthorized(format!(
                "a wallet callback must be signed ('{}')",
                rules::SIGNATURE_HEADER
            ))
        })?;
        let now = self.now();
        rules::verify(key, header, body, now.timestamp(), CALLBACK_TOLERANCE_SECS)
            .map_err(|e| AppError::Unauthorized(format!("wallet callback refused: {e}")))?;
        let cb: WalletCallback = serde_json::from_slice(body)
            .map_err(|e| ParseError::new("body", format!("not a wallet callback: {e}")))?;
        if cb.status.is_open() {
            return Err(ParseError::new(
                "status",
                "a callback reports completed, cancelled or failed",
            )
            .into());
        }
        let Some(payment) = self.store.wallet_payment_by_id(&cb.payment_id).await? else {
            return Err(AppError::NotFound(format!(
                "no wallet payment '{}'",
                cb.payment_id
            )));
        };
        let order = self.reload(payment.order_id).await?;
        if cb.merchant_invoice != charge_key(order.id) || cb.amount != order.amount {
            return Err(ParseError::new(
                "merchant_invoice",
                "the callback's invoice or amount is not this payment's",
            )
            .into());
        }
        let digest = hex::encode(Sha256::digest(body));
        if self
            .store
            .claim_wallet_callback(&cb.payment_id, &digest, now)
            .await?
            == CallbackClaim::Conflicting
        {
            return Err(AppError::Conflict(format!(
                "another callback was already taken for payment '{}'; this one is refused as a replay",
                cb.payment_id
            )));
        }
        // Settling is idempotent (every move is conditional on the state it
        // leaves, refunds are target totals), so a duplicate settles nothing new.
        let order = self.settle_wallet(order, cb.status, &cb.payment_id).await?;
        Ok(CallbackAck {
            payment_id: cb.payment_id,
            order_id: order.id,
            order_status: order.status,
        })
    }

    /// Moves an order along what its provider says of its payment.
    async fn settle_wallet(
        &self,
        order: Order,
        state: WalletState,
        payment_id: &str,
    ) -> AppResult<Order> {
        self.store
            .update_wallet_payment(order.id, None, None, state, self.now())
            .await?;
        let waiting = matches!(
            order.status,
            OrderStatus::AwaitingPayment | OrderStatus::Reserved
        );
        match state {
            WalletState::Completed if waiting => {
                let hold_valid = self
                    .store
                    .hold(order.hold_id)
                    .await?
                    .is_some_and(|h| h.within_time(self.now()));
                if hold_valid {
                    let paid = self
                        .transition(
                            &order,
                            OrderEvent::ChargeSucceeded,
                            OrderChange {
                                charge_id: Some(payment_id.to_owned()),
                                ..Default::default()
                            },
                        )
                        .await?;
                    if matches!(paid.status, OrderStatus::Failed | OrderStatus::Expired) {
                        // The timeout gave up on it meanwhile: the money goes back.
                        self.settle_refund(&paid).await?;
                    }
                    return self.confirm(paid).await;
                }
                let change = OrderChange {
                    failure: Some(
                        "paid after the seats' hold ran out; the payment is refunded".into(),
                    ),
                    ..Default::default()
                };
                let expired = self.transition(&order, OrderEvent::Expire, change).await?;
                self.settle_refund(&expired).await?;
                Ok(expired)
            }
            // A twin callback got it paid a moment ago: see it confirmed.
            WalletState::Completed if order.status == OrderStatus::Paid => {
                self.confirm(order).await
            }
            WalletState::Completed
                if matches!(order.status, OrderStatus::Failed | OrderStatus::Expired) =>
            {
                // A late success: the order gave up meanwhile, so the money goes back.
                self.settle_refund(&order).await?;
                Ok(order)
            }
            WalletState::Cancelled | WalletState::Failed if waiting => {
                let why = if state == WalletState::Cancelled {
                    "wallet payment cancelled"
                } else {
                    "wallet payment failed: insufficient balance"
                };
                let change = OrderChange {
                    failure: Some(why.into()),
                    ..Default::default()
                };
                let failed = self.transition(&order, OrderEvent::Fail, change).await?;
                self.wallet_payment_failed(&failed).await;
                Ok(failed)
            }
            _ => Ok(order),
        }
    }

    /// A wallet payment that ended without money counts toward the payer's
    /// failed-payment velocity rules (per account and per wallet number).
    async fn wallet_payment_failed(&self, order: &Order) {
        match self.store.wallet_payment(order.id).await {
            Ok(Some(payment)) => {
                self.risk_wallet_payment_failed(order.user_id, &payment.number)
                    .await
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(order = %order.id, error = %e, "wallet payment not counted as failed")
            }
        }
    }

    /// Asks the provider about payments we last knew open whose order gave up
    /// meanwhile: one that completed anyway (its callback lost for good) is
    /// refunded; one that closed otherwise is recorded so. Returns how many
    /// were refunded.
    pub(crate) async fn refund_lost_late_payments(&self) -> AppResult<usize> {
        let mut refunded = 0;
        for p in self
            .store
            .open_wallet_payments_of_settled_orders(50)
            .await?
        {
            let Some(payment_id) = p.payment_id else {
                continue;
            };
            let Some(now) = self.wallet.payment(&payment_id).await? else {
                continue;
            };
            if now.status.is_open() {
                continue;
            }
            let order = self.reload(p.order_id).await?;
            self.settle_wallet(order, now.status, &payment_id).await?;
            refunded += usize::from(now.status == WalletState::Completed);
        }
        Ok(refunded)
    }

    /// Wallet payments not settled yet: orders awaiting theirs, and payments
    /// the provider is still processing (a late success on its way).
    pub async fn wallet_payments_open(&self) -> AppResult<usize> {
        let awaiting = self
            .store
            .orders_stuck(
                &[OrderStatus::AwaitingPayment],
                self.now() + chrono::Duration::days(365),
            )
            .await?
            .len();
        let processing = self.wallet.processing().await?;
        Ok(awaiting + processing)
    }

    /// Settles orders that awaited their wallet payment past the timeout, by
    /// asking the provider: paid → confirmed; not paid → cancelled at the
    /// provider and failed (a payment that completes anyway is refunded when
    /// it is reported). Returns (confirmed, failed).
    pub(crate) async fn settle_overdue_wallet_payments(&self) -> AppResult<(usize, usize)> {
        let before = self.now() - self.config.wallet.payment_timeout;
        let overdue = self
            .store
            .orders_stuck(&[OrderStatus::AwaitingPayment], before)
            .await?;
        let (mut confirmed, mut failed) = (0, 0);
        for order in overdue {
            let payment_id = self
                .store
                .wallet_payment(order.id)
                .await?
                .and_then(|p| p.payment_id);
            let Some(payment_id) = payment_id else {
                continue;
            };
            let mut state = self.wallet.payment(&payment_id).await?.map(|p| p.status);
            let mut cancelled_here = false;
            if state.is_none_or(WalletState::is_open) {
                if self.wallet.cancel(&payment_id).await? {
                    cancelled_here = true;
                    self.store
                        .update_wallet_payment(
                            order.id,
                            None,
                            None,
                            WalletState::Cancelled,
                            self.now(),
                        )
                        .await?;
                } else {
                    // Being processed or just paid: the answer now decides.
                    state = self.wallet.payment(&payment_id).await?.map(|p| p.status);
                }
            }
            let settled = match state {
                Some(s) if !s.is_open() && !cancelled_here => {
                    self.settle_wallet(order, s, &payment_id).await?
                }
                _ => {
                    let change = OrderChange {
                        failure: Some(
                            "the wallet payment was not completed in time; any late payment is refunded"
                                .into(),
                        ),
                        ..Default::default()
                    };
                    let failed = self.transition(&order, OrderEvent::Fail, change).await?;
                    self.wallet_payment_failed(&failed).await;
                    failed
                }
            };
            match settled.status {
                OrderStatus::Confirmed => confirmed += 1,
                OrderStatus::Failed | OrderStatus::Expired => failed += 1,
                _ => {}
            }
        }
        Ok((confirmed, failed))
    }
}
