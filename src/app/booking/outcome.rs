//! What placing an order comes to, as data for the server to answer, and how
//! that answer is kept under its Idempotency-Key.
//!
//! Design: the app decides the outcome (`OrderOutcome`), the server alone
//! renders it (status and body, in `server/error.rs`), and the rendering is
//! recorded before it is sent. The first recording stands (the store writes
//! it only where none is yet), and every request with the key is sent what is
//! recorded, so a repeat is answered byte for byte as the first request was,
//! by whichever process answers it.
//!
//! Why the rendering is kept rather than the outcome: an order moves on after
//! it is answered (cancelled, refunded), and the answer must not move with it;
//! keeping the bytes is the simplest faithful record, and it is what keys
//! finished by earlier versions hold, so they replay unchanged.
//!
//! Where it is recorded: an order confirmed at once records its answer in the
//! confirmation's own write. The server hands its rendering in (`AnswerTo`),
//! and the store calls it with the tickets the write issues (their ids exist
//! only then) without knowing the answer's shape. Recording it in a write of
//! its own cost every order one more trip through SQLite's single writer, a
//! commit wait of its own. Every other outcome (a failed payment, an order
//! settled the long way or found settled) is recorded by the server through
//! `App::record_order_answer`. If a crash falls between a settlement and its
//! recording, nothing was sent yet; the retry finds the order settled and
//! unanswered, and its answer (rendered then) is the first.
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
    /// A wallet payment was started: the passenger approves it on the
    /// provider's page (`wallet.redirect_url`); the outcome comes later.
    AwaitingPayment(OrderView),
}

impl OrderOutcome {
    /// The outcome of a settled order, from its view.
    pub(crate) fn of(view: OrderView) -> Self {
        match view.status {
            OrderStatus::Failed => OrderOutcome::PaymentFailed(view),
            OrderStatus::AwaitingPayment => OrderOutcome::AwaitingPayment(view),
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
    /// Answered before under the same key, or recorded with the
    /// confirmation: send it as it is.
    Recorded(RecordedAnswer),
}

/// The server's rendering of an outcome (status and body), handed to the app
/// so a confirmation can record the answer in its own write.
pub type RenderAnswer = fn(OrderOutcome) -> RecordedAnswer;

/// Where a confirmation records the order request's answer: under `key`, as
/// `render` makes it.
#[derive(Clone, Copy)]
pub(crate) struct AnswerTo<'a> {
    pub(crate) key: &'a str,
    pub(crate) render: RenderAnswer,
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
