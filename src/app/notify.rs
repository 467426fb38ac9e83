//! Notifications to passengers: an e-mail and an SMS per event worth telling.
//! By default they are written as files to the notification directory (one
//! file per event and channel, so a redelivered event rewrites the same file)
//! and logged; a real mail relay can be plugged in behind `Notifier` later.

use std::path::Path;

use crate::store::OutboxEvent;

use super::{App, AppResult};

impl App {
    pub(crate) async fn notify(&self, event: &OutboxEvent) -> AppResult<()> {
        let message = match event.kind.as_str() {
            "ticket.issued" => {
                let Some(ticket) = self.store.ticket(event.subject_id).await? else {
                    return Ok(());
                };
                let view = self.ticket_view(&ticket)?;
                let c = &view.claims;
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
                "Your order {} could not be completed; no money was kept and the seats were released.",
                event.subject_id
            ),
            "order.refunded" | "order.cancelled" => {
                let refunded = self
                    .store
                    .order(event.subject_id)
                    .await?
                    .map(|o| o.refunded_amount)
                    .unwrap_or(0);
                format!(
                    "Your order {} was cancelled; Tk {refunded} will be refunded.",
                    event.subject_id
                )
            }
            _ => return Ok(()),
        };
        let user_id = match event.kind.as_str() {
            "ticket.issued" => {
                let Some(t) = self.store.ticket(event.subject_id).await? else {
                    return Ok(());
                };
                self.store.order(t.order_id).await?.map(|o| o.user_id)
            }
            _ => self.store.order(event.subject_id).await?.map(|o| o.user_id),
        };
        let Some(user) = (match user_id {
            Some(id) => self.store.user(id).await?,
            None => None,
        }) else {
            return Ok(());
        };
        tracing::info!(event = event.id, to = %user.phone, "notify: {message}");
        if let Some(dir) = &self.config.notifications_dir {
            let email = format!(
                "To: {}\nSubject: Bangladesh Railway — {}\n\nDear {},\n\n{message}\n",
                user.email, event.kind, user.name
            );
            let sms = format!("To: {}\n\n{message}\n", user.phone);
            write_once(dir, &format!("{:08}-email.txt", event.id), &email).await?;
            write_once(dir, &format!("{:08}-sms.txt", event.id), &sms).await?;
        }
        Ok(())
    }
}

async fn write_once(dir: &Path, name: &str, text: &str) -> AppResult<()> {
    let io = |e: std::io::Error| {
        super::AppError::Internal(format!("writing notification to {}: {e}", dir.display()))
    };
    tokio::fs::create_dir_all(dir).await.map_err(io)?;
    tokio::fs::write(dir.join(name), text).await.map_err(io)
}
