//! Station counter sales, for the clerks' terminal (`ticketctl tui`).
//!
//! A counter sale is the online saga with two differences: the clerk holds and
//! orders under their own account for a buyer known by NID and phone (so the
//! 4-seat rule is per buyer NID, counted with their online seats, not per
//! clerk), and the money is
//! cash, taken through the cash drawer: a payment method that writes the same
//! ledger as the card gateway, so "money kept = confirmed orders − refunds"
//! holds for cash as for cards. Each clerk's cash is reconciled per shift.

use crate::wire::counter::{CounterCancelView, CounterOrderRequest, CounterOrderView, ShiftView};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use std::sync::Arc;

use crate::domain::time::to_local_rfc3339;
use crate::domain::{
    Charge, ChargeStatus, Nid, OrderId, OrderStatus, ParseError, Phone, ServiceDate, TripTime,
    UserId,
};
use crate::store::prelude::*;
use crate::store::{CounterBuyer, PaymentToken, ShiftTotals};

use super::booking::{Channel, OrderAnswer, RenderAnswer};
use super::payments::{ChargeOutcome, PaymentGateway};
use super::{App, AppError, AppResult, Clock};
use crate::wire::booking::{HoldRequest, HoldView, OrderRequest};

/// The brand of a payment token that stands for cash paid at a counter.
pub const CASH_BRAND: &str = "cash";

/// Cash paid at a counter. Taking it always succeeds (the clerk has the notes
/// in hand before confirming); it is written to the cash ledger under the
/// order's charge key, so recovery, refunds and the invariants treat it like a
/// card charge.
pub struct CashDrawer {
    store: Arc<dyn Store>,
    clock: Clock,
}

impl CashDrawer {
    pub fn new(store: Arc<dyn Store>, clock: Clock) -> Self {
        CashDrawer { store, clock }
    }
}

#[async_trait]
impl PaymentGateway for CashDrawer {
    fn endpoint(&self) -> Option<super::payments::GatewayEndpoint> {
        None
    }

    async fn card_token(&self, _token: &str) -> AppResult<Option<crate::wire::gateway::CardToken>> {
        Ok(None)
    }

    async fn charge(&self, key: &str, token: &PaymentToken, amount: i64) -> ChargeOutcome {
        let charge = Charge {
            idempotency_key: key.to_owned(),
            charge_id: format!("cash_{}", &hex::encode(Sha256::digest(key))[..20]),
            token: token.token.clone(),
            amount,
            status: ChargeStatus::Succeeded,
            refunded: 0,
        };
        // The ledger keeps the first record under a key, so a retry takes no more cash.
        match self.store.cash_record(&charge, self.clock.now()).await {
            Ok(c) => ChargeOutcome::Succeeded {
                charge_id: c.charge_id,
            },
            Err(e) => {
                tracing::warn!(error = %e, "cash drawer could not record a payment");
                ChargeOutcome::Unknown
            }
        }
    }

    async fn lookup(&self, key: &str) -> AppResult<Option<Charge>> {
        Ok(self.store.cash_charge(key).await?)
    }

    async fn refund(&self, charge_id: &str, total: i64) -> AppResult<Charge> {
        Ok(self.store.cash_refund(charge_id, total).await?)
    }

    async fn charges(&self) -> AppResult<Vec<Charge>> {
        Ok(self.store.cash_charges().await?)
    }
}

impl ShiftView {
    fn new(clerk_id: UserId, since: DateTime<Utc>, t: ShiftTotals) -> Self {
        ShiftView {
            clerk_id,
            since: to_local_rfc3339(since),
            orders: t.orders,
            tickets: t.tickets,
            cash_in: t.cash_in,
            refunds: t.refunds,
            cash_out: t.cash_out,
            net_cash: t.cash_in - t.cash_out,
        }
    }
}

/// The cash token of one counter order: derived from the clerk and the
/// Idempotency-Key, so a retried sale sends the same request and is replayed.
fn cash_token(clerk_id: UserId, key: &str) -> String {
    let digest = Sha256::digest(format!("{clerk_id}:{key}"));
    format!("cash_{}", &hex::encode(digest)[..24])
}

fn parse_phone(raw: &str) -> AppResult<Phone> {
    Phone::parse(raw).map_err(|e| ParseError::new("phone", e.to_string()).into())
}

impl App {
    /// The payment method an order was paid with: the cash drawer's ledger is
    /// ours, the card gateway's is the gateway's, so recovery and refunds ask
    /// the right one.
    pub(crate) async fn payment_method_of(
        &self,
        order: &crate::domain::Order,
    ) -> AppResult<Arc<dyn PaymentGateway>> {
        Ok(
            match self.store.payment_token(&order.payment_token).await? {
                Some(t) => self.payment_method(&t),
                None => self.gateway.clone(),
            },
        )
    }

    /// The payment method a token stands for: the cash drawer, a mobile wallet
    /// or the card gateway.
    pub(crate) fn payment_method(&self, token: &PaymentToken) -> Arc<dyn PaymentGateway> {
        if token.brand == CASH_BRAND {
            Arc::new(CashDrawer::new(self.store.clone(), self.clock().clone()))
        } else if App::is_wallet_token(token) {
            self.wallet.clone()
        } else {
            self.gateway.clone()
        }
    }

    /// Holds seats at a counter: no waiting room, no per-clerk seat limit.
    pub async fn counter_hold(&self, clerk_id: UserId, req: HoldRequest) -> AppResult<HoldView> {
        self.hold_seats_via(clerk_id, req, Channel::Counter { buyer: None })
            .await
    }

    /// Sells a counter hold for cash: tickets are issued before this returns.
    /// The same Idempotency-Key replays the first answer and takes no more cash.
    /// `render` is the server's answer to an outcome (see `place_order`).
    pub async fn counter_order(
        &self,
        clerk_id: UserId,
        key: &str,
        req: CounterOrderRequest,
        render: RenderAnswer,
    ) -> AppResult<OrderAnswer> {
        let phone = parse_phone(&req.phone)?;
        let nid = Nid::parse_field(&req.nid, "nid")?;
        // Parsed here too, so a bad passenger is refused before any cash token is made.
        super::booking::parse_passengers(&req.passengers)?;
        if let Some(lang) = req.lang {
            self.set_sms_language(clerk_id, req.hold_id, lang).await?;
        }
        let token = cash_token(clerk_id, key);
        let order = OrderRequest {
            hold_id: req.hold_id,
            passengers: req.passengers,
            payment_token: Some(token.clone()),
            wallet: None,
        };
        // The NID's caps are checked when the order is written, in the same
        // transaction (a sale online and one at a counter for one NID cannot
        // both pass them).
        let buyer = CounterBuyer {
            clerk_id,
            phone: phone.as_str().to_owned(),
            nid,
            caps: self.nid_caps(),
        };
        let now = self.now();
        if self.store.payment_token(&token).await?.is_none() {
            let cash = PaymentToken {
                token: token.clone(),
                user_id: clerk_id,
                brand: CASH_BRAND.into(),
                last4: "CASH".into(),
                exp_month: 12,
                exp_year: 9999,
            };
            match self.store.insert_payment_token(&cash, now).await {
                Ok(()) | Err(crate::store::StoreError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let channel = Channel::Counter {
            buyer: Some(&buyer),
        };
        self.place_order_via(clerk_id, key, order, channel, render)
            .await
    }

    /// Cancels an order at the counter. A cash sale's refund is handed back in
    /// cash (and counted in this clerk's shift); a card order is refunded to the card.
    /// Repeating it after a crash records the cash refund once.
    pub async fn counter_cancel(
        &self,
        clerk_id: UserId,
        order_id: OrderId,
    ) -> AppResult<CounterCancelView> {
        let order = self.order_of(order_id, clerk_id, true).await?;
        let view = match order.status {
            OrderStatus::Confirmed => match self.cancel_order(order_id, clerk_id, true).await {
                Ok(view) => view,
                // Another clerk's (or a retried) cancellation won the race: answer
                // as a repeat, with the order it cancelled.
                Err(AppError::Conflict(_)) => {
                    let now = self.order_of(order_id, clerk_id, true).await?;
                    if !matches!(now.status, OrderStatus::Cancelled | OrderStatus::Refunded) {
                        return Err(AppError::Conflict(format!(
                            "only a confirmed order can be cancelled; this one is {}",
                            now.status
                        )));
                    }
                    self.order_view(&now).await?
                }
                Err(e) => return Err(e),
            },
            OrderStatus::Cancelled | OrderStatus::Refunded => self.order_view(&order).await?,
            other => {
                return Err(AppError::Conflict(format!(
                    "only a confirmed order can be cancelled; this one is {other}"
                )));
            }
        };
        let cash_sale = self.store.counter_sale(order_id).await?.is_some();
        if cash_sale && view.refunded > 0 {
            self.store
                .record_counter_refund(order_id, clerk_id, view.refunded, self.now())
                .await?;
        }
        Ok(CounterCancelView {
            cash_refund: if cash_sale { view.refunded } else { 0 },
            card_refund: if cash_sale { 0 } else { view.refunded },
            order: view,
        })
    }

    /// One order with its buyer and signed tickets (for reprinting).
    pub async fn counter_order_detail(&self, order_id: OrderId) -> AppResult<CounterOrderView> {
        let order = self.any_order(order_id).await?;
        let sale = self.store.counter_sale(order_id).await?;
        let mut tickets = Vec::new();
        for t in self.store.tickets_of_order(order_id).await? {
            tickets.push(self.ticket_view(&t)?);
        }
        Ok(CounterOrderView {
            order: self.order_view(&order).await?,
            paid_by: if sale.is_some() { "cash" } else { "card" }.into(),
            phone: sale.map(|s| s.phone),
            tickets,
        })
    }

    /// Orders found by a ticket's PNR or by the buyer's phone, newest first.
    pub async fn counter_lookup(
        &self,
        pnr: Option<&str>,
        phone: Option<&str>,
    ) -> AppResult<Vec<CounterOrderView>> {
        let ids = match (pnr.map(str::trim), phone.map(str::trim)) {
            (Some(pnr), None) if !pnr.is_empty() => self
                .store
                .ticket_by_pnr(&pnr.to_ascii_uppercase())
                .await?
                .map(|t| vec![t.order_id])
                .unwrap_or_default(),
            (None, Some(phone)) if !phone.is_empty() => {
                self.store
                    .order_ids_by_phone(parse_phone(phone)?.as_str())
                    .await?
            }
            _ => {
                return Err(ParseError::new("pnr", "look up by either 'pnr' or 'phone'").into());
            }
        };
        let mut found = Vec::with_capacity(ids.len());
        for id in ids.into_iter().rev() {
            found.push(self.counter_order_detail(id).await?);
        }
        Ok(found)
    }

    /// The clerk's cash since `since` (default: midnight in Dhaka today).
    pub async fn shift(
        &self,
        clerk_id: UserId,
        since: Option<DateTime<Utc>>,
    ) -> AppResult<ShiftView> {
        let since = since.unwrap_or_else(|| {
            ServiceDate::today_at(self.now()).at(TripTime::parse("00:00").expect("valid time"))
        });
        let totals = self.store.shift_totals(clerk_id, since).await?;
        Ok(ShiftView::new(clerk_id, since, totals))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cash_tokens_are_stable_per_clerk_and_key() {
        assert_eq!(cash_token(UserId(1), "k"), cash_token(UserId(1), "k"));
        assert_ne!(cash_token(UserId(1), "k"), cash_token(UserId(2), "k"));
        assert_ne!(cash_token(UserId(1), "k"), cash_token(UserId(1), "l"));
        assert!(cash_token(UserId(1), "k").starts_with("cash_"));
    }
}
