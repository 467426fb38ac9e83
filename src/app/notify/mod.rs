//! Notifications to travellers: an e-mail and an SMS per event worth telling.
//!
//! Who is told: an online order's account (e-mail, and SMS to its phone, in
//! English: accounts keep no language preference yet); a counter sale's
//! buyer, by SMS to the phone given at the counter, in Bangla unless the
//! clerk recorded English (`lang`); never the clerk the counter order is
//! placed under (no e-mail either: the buyer's address is not known). The
//! SMS texts are in `texts`.
//!
//! Every message is logged. With a notification directory each is also written
//! as a file (one per event and channel, so a redelivered event rewrites the
//! same file); with a mailer plugged in (the SMTP adapter, `--smtp-url`) the
//! e-mail is really sent; with an SMS sender plugged in (`sms`) the SMS is
//! queued once per event and sent with retries by the SMS worker.
//! Delivery is at-least-once: a relay failure leaves the event for a retry.

pub mod sms;
pub mod texts;

use async_trait::async_trait;
use std::path::Path;

use crate::store::OutboxEvent;
use crate::store::sms::NewSms;

use super::{App, AppError, AppResult};
use crate::domain::sms::Lang;
use crate::domain::{Event, Order, Ticket, User};
use texts::{SeatLine, TicketNotice};

/// What an event tells its traveller: the e-mail's text and the SMS's.
struct Notice {
    order: Order,
    email: String,
    /// `None`: this event sends no SMS (a ticket after its order's first).
    sms: Option<SmsText>,
}

/// An SMS, to be written in the reader's language.
enum SmsText {
    Tickets(Vec<Ticket>),
    Refund,
    Failed,
    Delayed(i64),
}

/// Who hears of an order.
struct Audience {
    /// The account, e-mailed; `None` for a counter sale (the account is the clerk's).
    account: Option<User>,
    /// The phone SMS go to, and their language.
    phone: Option<(String, Lang)>,
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
    /// What an event tells, and about which order; `None` for quiet events.
    async fn notice_for(&self, event: &OutboxEvent) -> AppResult<Option<Notice>> {
        let (order_id, email, sms) = match &event.event {
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
                // One SMS per order, on its first ticket's event, naming every
                // seat (an order's tickets are issued in one transaction).
                let tickets = self.store.tickets_of_order(ticket.order_id).await?;
                let first = tickets.iter().map(|t| t.id).min() == Some(ticket.id);
                let sms = first.then_some(SmsText::Tickets(tickets));
                (ticket.order_id, Some(text), sms)
            }
            Event::OrderFailed(m) => (m.order_id, None, Some(SmsText::Failed)),
            Event::OrderTripDelayed {
                order_id, minutes, ..
            } => {
                let text = format!(
                    "The train of your order {order_id} is delayed by {minutes} minutes. You may cancel the order for a full refund, with no deduction."
                );
                (*order_id, Some(text), Some(SmsText::Delayed(*minutes)))
            }
            Event::OrderRefunded(m) | Event::OrderCancelled(m) => {
                (m.order_id, None, Some(SmsText::Refund))
            }
            Event::OrderReserved { .. }
            | Event::OrderPaid(_)
            | Event::OrderAwaitingPayment(_)
            | Event::OrderConfirmed(_)
            | Event::OrderExpired(_)
            | Event::HoldExpired { .. }
            | Event::RiskDecided { .. }
            | Event::RiskCleared { .. }
            | Event::TripOperated { .. } => return Ok(None),
        };
        let Some(order) = self.store.order(order_id).await? else {
            return Ok(None);
        };
        let email = match (email, &sms) {
            (Some(text), _) => text,
            (None, Some(SmsText::Failed)) => format!(
                "Your order {order_id} could not be completed; no money was kept and the seats were released."
            ),
            // The refund is read from the order: the amount settled, not the one first owed.
            _ => format!(
                "Your order {order_id} was cancelled; Tk {} will be refunded.",
                order.refunded_amount
            ),
        };
        Ok(Some(Notice { order, email, sms }))
    }

    /// A counter sale's buyer (by the phone given at the counter), else the account.
    async fn audience(&self, order: &Order) -> AppResult<Audience> {
        if let Some(sale) = self.store.counter_sale(order.id).await? {
            // Bangla unless the clerk recorded another language for the buyer.
            let lang = self.store.sms_language(order.id).await?.unwrap_or(Lang::Bn);
            return Ok(Audience {
                account: None,
                phone: Some((sale.phone, lang)),
            });
        }
        let account = self.store.user(order.user_id).await?;
        Ok(Audience {
            phone: account.as_ref().map(|u| (u.phone.clone(), Lang::En)),
            account,
        })
    }

    /// An SMS's text in `lang`.
    async fn sms_text(&self, order: &Order, sms: &SmsText, lang: Lang) -> AppResult<String> {
        Ok(match sms {
            SmsText::Refund => texts::refund(lang, order.id, order.refunded_amount),
            SmsText::Failed => texts::failed(lang, order.id),
            SmsText::Delayed(minutes) => texts::delayed(lang, order.id, *minutes),
            SmsText::Tickets(tickets) => {
                let mut seats = Vec::with_capacity(tickets.len());
                let mut claims = None;
                for t in tickets {
                    let c = self.ticket_view(t)?.claims;
                    seats.push(SeatLine {
                        pnr: c.pnr.clone(),
                        seat: c.seat.clone(),
                    });
                    claims.get_or_insert(c);
                }
                let Some(c) = claims else {
                    return Err(AppError::Internal(format!(
                        "order {} has no tickets",
                        order.id
                    )));
                };
                let departs = chrono::DateTime::parse_from_rfc3339(&c.departs)
                    .map_err(|e| {
                        AppError::Internal(format!("ticket departure {}: {e}", c.departs))
                    })?
                    .with_timezone(&crate::domain::time::dhaka());
                let notice = TicketNotice {
                    train: c.train,
                    from: self.station_name(&c.from, lang).await,
                    to: self.station_name(&c.to, lang).await,
                    departs,
                    seats,
                };
                texts::tickets(lang, &notice)
            }
        })
    }

    /// Records the SMS language a counter buyer asked for, against the
    /// clerk's own hold (another's hold is left alone: its order fails anyway).
    pub(crate) async fn set_sms_language(
        &self,
        clerk_id: crate::domain::UserId,
        hold_id: crate::domain::HoldId,
        lang: Lang,
    ) -> AppResult<()> {
        if let Some(hold) = self.store.hold(hold_id).await?
            && hold.user_id == clerk_id
        {
            self.store.set_sms_language(hold_id, lang).await?;
        }
        Ok(())
    }

    /// A station's name in `lang` (Bangla when the catalogue has it), else its code.
    async fn station_name(&self, code: &str, lang: Lang) -> String {
        match self.station(code).await {
            Ok(s) => match (lang, s.name_bn) {
                (Lang::Bn, Some(bn)) => bn,
                _ => s.name_en,
            },
            Err(_) => code.to_owned(),
        }
    }

    pub(crate) async fn notify(&self, event: &OutboxEvent) -> AppResult<()> {
        let Some(notice) = self.notice_for(event).await? else {
            return Ok(());
        };
        let audience = self.audience(&notice.order).await?;
        let sms = match (&notice.sms, &audience.phone) {
            (Some(sms), Some((phone, lang))) => Some((
                phone.clone(),
                self.sms_text(&notice.order, sms, *lang).await?,
            )),
            _ => None,
        };
        let subject = format!("Bangladesh Railway: {}", event.kind().replace('.', " "));
        if let Some(user) = &audience.account {
            tracing::debug!(event = %event.id, to = %user.email, "notify: {}", notice.email);
            let email = format!("Dear {},\n\n{}\n", user.name, notice.email);
            if let Some(dir) = &self.config.notifications_dir {
                let file = format!("To: {}\nSubject: {subject}\n\n{email}", user.email);
                write_once(dir, &format!("{:08}-email.txt", event.id), &file).await?;
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
        }
        if let Some((phone, text)) = sms {
            tracing::debug!(event = %event.id, to = %phone, "notify by SMS: {text}");
            if let Some(dir) = &self.config.notifications_dir {
                let file = format!("To: {phone}\n\n{text}\n");
                write_once(dir, &format!("{:08}-sms.txt", event.id), &file).await?;
            }
            if self.sends_sms() {
                let sms = NewSms {
                    reference: format!("ev{}", event.id),
                    event_id: event.id,
                    phone,
                    body: text,
                };
                self.store.sms_enqueue(&sms, self.now()).await?;
            }
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
