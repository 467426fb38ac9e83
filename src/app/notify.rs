//! Notifications to passengers: an e-mail and an SMS per event worth telling.
//!
//! Every message is logged. With a notification directory each is also written
//! as a file (one per event and channel, so a redelivered event rewrites the
//! same file); with an SMTP relay (`--smtp-url`) the e-mail is really sent.
//! Delivery is at-least-once: a relay failure leaves the event for a retry.

use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::Path;

use crate::store::OutboxEvent;

use super::{App, AppError, AppResult};
use crate::domain::{User, UserId};

/// An SMTP relay for passenger e-mail.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// `url` as lettre reads it: `smtp://host:port` (plain, e.g. a local relay),
    /// `smtp://user:pass@host:587?tls=required` (STARTTLS) or `smtps://host` (TLS).
    pub fn new(url: &str, from: &str) -> AppResult<Mailer> {
        let bad = |what: &str, e: String| {
            AppError::Invalid(crate::domain::ParseError::new(
                "smtp",
                format!("{what}: {e}"),
            ))
        };
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| bad("bad SMTP URL", e.to_string()))?
            .build();
        let from = from
            .parse()
            .map_err(|e: lettre::address::AddressError| bad("bad sender address", e.to_string()))?;
        Ok(Mailer { transport, from })
    }

    async fn send(&self, to: &User, subject: &str, body: String) -> AppResult<()> {
        let to_box = Mailbox::new(
            Some(to.name.clone()),
            to.email
                .parse()
                .map_err(|e: lettre::address::AddressError| {
                    AppError::Invalid(crate::domain::ParseError::new("email", e.to_string()))
                })?,
        );
        let message = Message::builder()
            .from(self.from.clone())
            .to(to_box)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| AppError::Internal(format!("building e-mail: {e}")))?;
        self.transport
            .send(message)
            .await
            .map_err(|e| AppError::Internal(format!("SMTP relay: {e}")))?;
        Ok(())
    }
}

impl App {
    /// The text of the message an event deserves, and whose it is; `None` for quiet events.
    async fn message_for(&self, event: &OutboxEvent) -> AppResult<Option<(UserId, String)>> {
        let order_id = match event.kind.as_str() {
            "ticket.issued" => match self.store.ticket(event.subject_id.ticket()).await? {
                Some(t) => t.order_id,
                None => return Ok(None),
            },
            "order.failed" | "order.refunded" | "order.cancelled" => event.subject_id.order(),
            _ => return Ok(None),
        };
        let Some(order) = self.store.order(order_id).await? else {
            return Ok(None);
        };
        let text = match event.kind.as_str() {
            "ticket.issued" => {
                let Some(ticket) = self.store.ticket(event.subject_id.ticket()).await? else {
                    return Ok(None);
                };
                let c = self.ticket_view(&ticket)?.claims;
                format!(
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
                )
            }
            "order.failed" => format!(
                "Your order {order_id} could not be completed; no money was kept and the seats were released."
            ),
            _ => format!(
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
        let subject = format!("Bangladesh Railway: {}", event.kind.replace('.', " "));
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
            mailer.send(&user, &subject, email).await?;
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
