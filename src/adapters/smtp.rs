//! Passenger e-mail over SMTP (lettre): the adapter behind `app::notify::Mailer`.

use async_trait::async_trait;
use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::app::notify::{Email, MailError, Mailer};

/// Why the SMTP settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SmtpSetupError {
    #[error("bad SMTP URL: {0}")]
    Url(#[from] lettre::transport::smtp::Error),
    #[error("bad sender address: {0}")]
    Sender(#[from] lettre::address::AddressError),
}

/// An SMTP relay for passenger e-mail.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    /// `url` as lettre reads it: `smtp://host:port` (plain, e.g. a local relay),
    /// `smtp://user:pass@host:587?tls=required` (STARTTLS) or `smtps://host` (TLS).
    /// `from` is the sender, e.g. `Bangladesh Railway tickets <tickets@localhost>`.
    pub fn new(url: &str, from: &str) -> Result<SmtpMailer, SmtpSetupError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)?.build();
        Ok(SmtpMailer {
            transport,
            from: from.parse()?,
        })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, email: Email) -> Result<(), MailError> {
        let address = email
            .to_address
            .parse()
            .map_err(|e: lettre::address::AddressError| MailError::BadRecipient(e.to_string()))?;
        let message_id = format!("<{}@{}>", email.key, self.from.email.domain());
        let message = Message::builder()
            .message_id(Some(message_id))
            .from(self.from.clone())
            .to(Mailbox::new(Some(email.to_name), address))
            .subject(email.subject)
            .header(ContentType::TEXT_PLAIN)
            .body(email.body)
            .map_err(|e| MailError::Delivery(format!("building e-mail: {e}")))?;
        self.transport
            .send(message)
            .await
            .map_err(|e| MailError::Delivery(e.to_string()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_settings_are_refused_before_any_mail() {
        assert!(matches!(
            SmtpMailer::new("ftp://nowhere", "a@b.c"),
            Err(SmtpSetupError::Url(_))
        ));
        assert!(matches!(
            SmtpMailer::new("smtp://127.0.0.1:25", "not an address"),
            Err(SmtpSetupError::Sender(_))
        ));
        assert!(SmtpMailer::new("smtp://127.0.0.1:2525", "Tickets <t@example.com>").is_ok());
    }
}
