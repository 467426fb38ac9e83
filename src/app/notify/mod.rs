//! Notifications to passengers: an e-mail and an SMS per event worth telling.
//!
//! Every message is logged. With a notification directory each is also written
//! as a file (one per event and channel, so a redelivered event rewrites the
//! same file); with a mailer plugged in (the SMTP adapter, `--smtp-url`) the
//! e-mail is really sent.
//! Delivery is at-least-once: a relay failure leaves the event for a retry.

use async_trait::async_trait;
use std::path::Path;

use crate::store::OutboxEvent;

use super::{App, AppError, AppResult};
use crate::domain::{Event, UserId};

/// A message's text, or the refund notice that reads its amount from the order.
enum Message {
    Text(String),
    Refund,
}

/// One plain-text e-mail to one passenger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    /// The same for every delivery of one event (`event-<id>`): delivery is
    /// at-least-once (a process killed after sending, before marking the
    /// event done, sends it again), so a second copy is recognisably the same
    /// message (its Message-ID), which mail clients show once.
    pub key: String,
    pub to_name: String,
    pub to_address: String,
    pub subject: String,
    pub body: String,
}

/// Why an e-mail did not go out.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The recipient's address cannot be used: retrying will not help.
    #[error("bad recipient address: {0}")]
    BadRecipient(String),
    /// The message could not be built or handed over: worth retrying.
    #[error("{0}")]
    Delivery(String),
}

/// The port passenger e-mail leaves through; `adapters::smtp` implements it.
/// Sending returns once the relay took the message (at-least-once delivery).
#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, email: Email) -> Result<(), MailError>;
}

impl From<MailError> for AppError {
    fn from(e: MailError) -> Self {
        match e {
            // `Invalid` is skipped by the outbox consumer: a poison event must not block the rest.
            MailError::BadRecipient(m) => {
                AppError::Invalid(crate::domain::ParseError::new("email", m))
            }
            MailError::Delivery(m) => AppError::Internal(format!("SMTP relay: {m}")),
        }
    }
}

impl App {
    /// The text of the message an event deserves, and whose it is; `None` for quiet events.
    async fn message_for(&self, event: &OutboxEvent) -> AppResult<Option<(UserId, String)>> {
        let (order_id, text) = match &event.event {
            Event::TicketIssued { ticket_id, .. } => {
                let Some(ticket) = self.store.ticket(*ticket_id).await? else {
                    return Ok(None);
                };
                let c = self.ticket_view(&ticket)?.claims;
                let text = format!(
                    "Your ticket {} is confirmed: train {} {} on {}, {} → {}, departs {}, seat {} ({}), passenger {}.",
                    c.pnr,
                    c.train,
                    c.train_name,
                    c.date,
                    c.from,
                    c.to,
                    c.departs,
                    c.seat,
                    c.class,
                    c.passenger
                );
                (ticket.order_id, Message::Text(text))
            }
            Event::OrderFailed(m) => (
                m.order_id,
                Message::Text(format!(
                    "Your order {} could not be completed; no money was kept and the seats were released.",
                    m.order_id
                )),
            ),
            Event::OrderRefunded(m) | Event::OrderCancelled(m) => (m.order_id, Message::Refund),
            Event::OrderReserved { .. }
            | Event::OrderPaid(_)
            | Event::OrderConfirmed(_)
            | Event::OrderExpired(_)
            | Event::HoldExpired { .. } => return Ok(None),
        };
        let Some(order) = self.store.order(order_id).await? else {
            return Ok(None);
        };
        let text = match text {
            Message::Text(text) => text,
            // The refund is read from the order: the amount settled, not the one first owed.
            Message::Refund => format!(
                "Your order {order_id} was cancelled; Tk {} will be refunded.",
                order.refunded_amount
            ),
        };
        Ok(Some((order.user_id, text)))
    }

    pub(crate) async fn notify(&self, event: &OutboxEvent) -> AppResult<()> {
        let Some((user_id, message)) = self.message_for(event).await? else {
            return Ok(());
        };
        let Some(user) = self.store.user(user_id).await? else {
            return Ok(());
        };
        tracing::debug!(event = %event.id, to = %user.phone, "notify: {message}");
        let subject = format!("Bangladesh Railway: {}", event.kind().replace('.', " "));
        let email = format!("Dear {},\n\n{message}\n", user.name);
        if let Some(dir) = &self.config.notifications_dir {
            let file = format!("To: {}\nSubject: {subject}\n\n{email}", user.email);
            write_once(dir, &format!("{:08}-email.txt", event.id), &file).await?;
            write_once(
                dir,
                &format!("{:08}-sms.txt", event.id),
                &format!("To: {}\n\n{message}\n", user.phone),
            )
            .await?;
        }
        if let Some(mailer) = &self.mailer {
            mailer
                .send(Email {
                    key: format!("event-{}", event.id),
                    to_name: user.name.clone(),
                    to_address: user.email.clone(),
                    subject,
                    body: email,
                })
                .await?;
        }
        Ok(())
    }
}

async fn write_once(dir: &Path, name: &str, text: &str) -> AppResult<()> {
    let io = |e: std::io::Error| {
        AppError::Internal(format!("writing notification to {}: {e}", dir.display()))
    };
    tokio::fs::create_dir_all(dir).await.map_err(io)?;
    tokio::fs::write(dir.join(name), text).await.map_err(io)
}
