//! The order step: placing an order for a hold under an Idempotency-Key,
//! replaying the recorded answer for a repeat, and checking the passengers.
//!
//! Hands the new order to the saga (`saga`) and may not move an order's state
//! itself; what a repeated key is told lives in `order_keys`.

use sha2::{Digest, Sha256};

use crate::app::{App, AppError, AppResult};
use crate::domain::{Nid, OrderStatus, ParseError, PassengerName, SeatCap, UserId};
use crate::store::{NewOrder, PassengerInput, StoreError};

use super::channel::Channel;
use super::outcome::{AnswerTo, OrderAnswer, RenderAnswer};
use crate::app::wallet::Payer;
use crate::wire::booking::{OrderRequest, PassengerBody};

impl App {
    /// Places an order for a hold and runs the saga. A repeated Idempotency-Key
    /// gets the answer recorded for it; the key with a different body is refused.
    /// `render` is how the server answers an outcome, so that an order confirmed
    /// at once has its answer recorded with the confirmation.
    pub async fn place_order(
        &self,
        user_id: UserId,
        key: &str,
        req: OrderRequest,
        admission: Option<&str>,
        render: RenderAnswer,
    ) -> AppResult<OrderAnswer> {
        let channel = Channel::Online {
            admission,
            client: None,
        };
        self.place_order_via(user_id, key, req, channel, render)
            .await
    }

    pub(crate) async fn place_order_via(
        &self,
        user_id: UserId,
        key: &str,
        req: OrderRequest,
        channel: Channel<'_>,
        render: RenderAnswer,
    ) -> AppResult<OrderAnswer> {
        let to = AnswerTo { key, render };
        if key.is_empty() || key.len() > 255 || !key.chars().all(|c| c.is_ascii_graphic()) {
            return Err(ParseError::new(
                "Idempotency-Key",
                "send a header 'Idempotency-Key' of 1–255 visible characters",
            )
            .into());
        }
        let request_hash = hex::encode(Sha256::digest(
            serde_json::to_vec(&req).expect("serialisable"),
        ));
        // One request per key runs here; a duplicate meanwhile is told "in progress".
        let _claim = match self.orders_in_flight.claim(user_id, key, &request_hash) {
            Ok(claim) => claim,
            Err(running) => {
                return self
                    .answer_duplicate(user_id, key, &request_hash, &running)
                    .await;
            }
        };
        if let Some(reply) = self.replay(user_id, to, &request_hash).await? {
            return Ok(reply);
        }
        match self
            .new_order(user_id, to, &request_hash, req, channel)
            .await
        {
            Err(e) if !matches!(e, AppError::Store(_) | AppError::Internal(_)) => {
                // A twin in another server process may have placed the order
                // meanwhile (its hold is then "ordered"): answer as it will.
                match self.replay(user_id, to, &request_hash).await? {
                    Some(reply) => Ok(reply),
                    None => Err(e),
                }
            }
            done => done,
        }
    }

    /// Places a new order for the key (claimed, not seen before) and runs the saga.
    async fn new_order(
        &self,
        user_id: UserId,
        to: AnswerTo<'_>,
        request_hash: &str,
        req: OrderRequest,
        channel: Channel<'_>,
    ) -> AppResult<OrderAnswer> {
        let passengers = parse_passengers(&req.passengers)?;
        // How the passenger pays; a wallet payer's number is known from here on.
        let payer = Payer::parse(&req)?;
        let card = match &payer {
            Payer::Card(token) => Some(self.payment_token_of(user_id, token).await?),
            Payer::Wallet { .. } => None,
        };
        let hold = match self.store.hold(req.hold_id).await? {
            Some(h) if h.user_id == user_id => h,
            _ => {
                return Err(AppError::NotFound(format!(
                    "no hold {} of yours",
                    req.hold_id
                )));
            }
        };
        // Velocity checks before any money moves: the card, or the wallet number.
        if let Channel::Online { .. } = channel {
            match (&card, payer.wallet()) {
                (Some(card), _) => {
                    self.risk_order(user_id, crate::app::risk::card_of(card))
                        .await?
                }
                (None, Some((_, number))) => {
                    let wallet = crate::domain::risk::Subject::wallet(number.as_str());
                    self.risk_order(user_id, wallet).await?;
                    self.risk_wallet_payment(user_id, number.as_str()).await?;
                }
                (None, None) => {}
            }
        }
        // A wallet's token is made once the hold is known to be the caller's.
        let token = match (card, payer.wallet()) {
            (Some(card), _) => card,
            (None, Some((provider, number))) => {
                self.wallet_token(user_id, to.key, provider, number).await?
            }
            (None, None) => return Err(AppError::Internal("an order with no way to pay".into())),
        };
        let trip_id = hold.trip_id;
        // Seats already held in a coach since taken out of sale may still be bought.
        self.trip_sale_rules(trip_id).await?;
        let admission = channel.pass_gate(self, trip_id, user_id).await?;
        let new = NewOrder {
            user_id,
            hold_id: req.hold_id,
            passengers,
            payment_token: token.token.clone(),
            idempotency_key: to.key.to_owned(),
            request_hash: request_hash.to_owned(),
            now: self.now(),
        };
        let created = match channel {
            Channel::Counter { buyer: Some(buyer) } => {
                self.store.create_counter_order(&new, buyer).await
            }
            _ => self.store.create_order(&new).await,
        };
        let order = match created {
            Ok(o) => o,
            Err(StoreError::IdempotencyKeyUsed) => {
                // A twin in another server process got there first: answer as it will.
                return self
                    .replay(user_id, to, request_hash)
                    .await?
                    .ok_or_else(|| {
                        super::order_keys::in_progress(
                            "a request with this Idempotency-Key is in progress",
                        )
                    });
            }
            Err(e @ (StoreError::NidCapReached(_) | StoreError::NidFlagged)) => {
                let buyer = match channel {
                    Channel::Counter { buyer: Some(b) } => Some(&b.nid),
                    _ => None,
                };
                return Err(self.nid_refused(e, buyer, user_id).await);
            }
            Err(e) => return Err(e.into()),
        };

        if let Payer::Wallet { provider, number } = &payer {
            // Paid later, on the provider's page: answered "awaiting payment".
            let order = self.start_wallet_payment(order, *provider, number).await?;
            if order.status == OrderStatus::AwaitingPayment {
                // Done shopping: the waiting room's slot goes to the next in line.
                self.queue.checked_out(&admission, user_id).await;
            }
            return Ok(OrderAnswer::settled(self.order_outcome(&order).await?));
        }
        let (order, answered) = self
            .charge_and_confirm(order, &token, Some(&hold), Some(to))
            .await?;
        if order.status == OrderStatus::Confirmed {
            // Checked out: the admission is spent and its slot goes to the next in line.
            self.queue.checked_out(&admission, user_id).await;
        }
        match answered {
            // Recorded with the confirmation, or shown with the tickets it issued.
            Some(answer) => Ok(answer),
            None => Ok(OrderAnswer::settled(self.order_outcome(&order).await?)),
        }
    }
}

/// The passengers of an order, parsed: one per held seat (so one to the seat
/// cap), each with a name and, if given, a well-formed NID.
pub(crate) fn parse_passengers(passengers: &[PassengerBody]) -> AppResult<Vec<PassengerInput>> {
    if !SeatCap::PER_PASSENGER.allows_booking_of(passengers.len()) {
        return Err(ParseError::new("passengers", "name one passenger per held seat").into());
    }
    passengers
        .iter()
        .map(|p| {
            Ok(PassengerInput {
                name: PassengerName::parse(&p.name)?,
                nid: p.nid.as_deref().map(Nid::parse).transpose()?,
            })
        })
        .collect()
}
