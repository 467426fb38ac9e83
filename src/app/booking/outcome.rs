//! What placing an order comes to, as data for the server to answer, and how
//! that answer is kept under its Idempotency-Key.
//!
//! Design: the app decides the outcome (`OrderOutcome`), the server alone
//! renders it (status and body, in `server/error.rs`) and records the
//! rendering through `App::record_order_answer` before sending it. The first
//! recording stands (the store writes it only where none is yet), and every
//! request with the key is sent what is recorded, so a repeat is answered byte
//! for byte as the first request was, by whichever process answers it.
//!
//! Why the rendering is kept rather than the outcome: an order moves on after
//! it is answered (cancelled, refunded), and the answer must not move with it;
//! keeping the bytes is the simplest faithful record, and it is what keys
//! finished by earlier versions hold, so they replay unchanged.
//!
//! Why it is recorded after the confirming transaction, not in it: the ticket
//! ids exist only once that transaction has run, and rendering inside a store
//! transaction would tie the store to the reply's shape. If a crash falls
//! between the two writes, nothing was sent yet; the retry finds the order
//! settled and unanswered, and its answer (rendered then) is the first one.
//!
//! May not render HTTP or know status codes: `RecordedAnswer` is opaque here.

use crate::app::{App, AppError, AppResult};
use crate::domain::{OrderStatus, UserId};
use crate::store::RecordedAnswer;
use crate::wire::booking::OrderView;

/// How an order request ended, with the order as it then stood.
#[derive(Debug, Clone)]
pub enum OrderOutcome {
    /// The order went through (confirmed with its tickets; a repeat after a
    /// crash may find it further along, e.g. cancelled since).
    Confirmed(OrderView),
    /// The charge was declined or timed out: the order failed and its seats
    /// went back (`failure` says why).
    PaymentFailed(OrderView),
}

impl OrderOutcome {
    /// The outcome of a settled order, from its view.
    pub(crate) fn of(view: OrderView) -> Self {
        match view.status {
            OrderStatus::Failed => OrderOutcome::PaymentFailed(view),
            _ => OrderOutcome::Confirmed(view),
        }
    }
}

/// What an order request is to be answered.
#[derive(Debug, Clone)]
pub enum OrderAnswer {
    /// Settled by this request (or found settled and not answered yet): the
    /// server renders it and records it with `App::record_order_answer`.
    Settled(Box<OrderOutcome>),
    /// Answered before under the same key: send it again as it is.
    Recorded(RecordedAnswer),
}

impl OrderAnswer {
    pub(crate) fn settled(outcome: OrderOutcome) -> Self {
        OrderAnswer::Settled(Box::new(outcome))
    }
}

impl App {
    /// Records the rendered answer of the order request under `key` and
    /// returns what to send: this answer, or the one recorded first when
    /// another request with the key got there before.
    pub async fn record_order_answer(
        &self,
        user_id: UserId,
        key: &str,
        answer: RecordedAnswer,
    ) -> AppResult<RecordedAnswer> {
        if self.store.finish_idempotency(user_id, key, &answer).await? {
            return Ok(answer);
        }
        self.store
            .idempotency(user_id, key)
            .await?
            .and_then(|rec| rec.answer())
            .ok_or_else(|| {
                AppError::Internal(format!("the answer for Idempotency-Key {key} vanished"))
            })
    }
}
