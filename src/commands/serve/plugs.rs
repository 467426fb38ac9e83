//! Plugging the adapters `serve`'s settings name into the app: the NID
//! registry, SMTP, NATS and the SMS gateway (each embedded as a mock when no
//! URL is given).

use anyhow::Context;
use std::sync::Arc;
use std::time::Duration;

use super::{ServeConfig, SmsPlan};
use crate::adapters::nats::JetStreamPublisher;
use crate::adapters::nid_http::{self, HttpNidRegistry};
use crate::adapters::sms_http::{HttpSmsSender, SmsGatewaySettings};
use crate::adapters::smtp::SmtpMailer;
use crate::app::App;
use crate::store::redact_url;

/// How long one SMS gateway request may take: gateways answer in well under a
/// second; a slower answer is retried later rather than held up.
pub(super) const SMS_TIMEOUT: Duration = Duration::from_secs(10);

/// Connects the use cases to the outside technologies the settings name.
pub(super) async fn plug_adapters(mut app: App, config: &ServeConfig) -> anyhow::Result<App> {
    let registry = match &config.nid_registry {
        Some(r) => HttpNidRegistry::new(&r.url, &r.key, nid_http::DEFAULT_TIMEOUT)
            .with_context(|| format!("setting up the NID registry at {}", redact_url(&r.url)))?,
        None => HttpNidRegistry::embedded(nid_http::DEFAULT_TIMEOUT)
            .await
            .context("starting the embedded mock NID registry")?,
    };
    app = app.with_nid_registry(Arc::new(registry));
    if let Some(smtp) = &config.smtp {
        let mailer = SmtpMailer::new(&smtp.url, &smtp.from)
            .with_context(|| format!("setting up e-mail through {}", redact_url(&smtp.url)))?;
        app = app.with_mailer(Arc::new(mailer));
    }
    if let Some(events) = &config.events {
        // Connects on first use: a NATS server that is down delays events, not start-up.
        app = app.with_event_publisher(Arc::new(JetStreamPublisher::new(events.clone())));
    }
    Ok(app)
}

/// Plugs in the SMS gateway client: to `--sms-url`, or to a mock gateway
/// started here on a loopback port (kept alive by the returned handle).
pub(super) async fn plug_sms(
    app: App,
    config: &ServeConfig,
) -> anyhow::Result<(App, Option<crate::outside::Embedded>)> {
    let (settings, embedded) = match &config.sms {
        SmsPlan::Gateway(settings) => (settings.clone(), None),
        SmsPlan::Embedded { sender_id } => {
            let mock = crate::outside::sms::MockSms::new(Default::default());
            let embedded = crate::outside::serve_embedded(mock.router())
                .await
                .context("starting the embedded mock SMS gateway")?;
            println!(
                "SMS: mock gateway at {} (see GET /messages?to=NUMBER); --sms-url sends for real",
                embedded.url()
            );
            let settings = SmsGatewaySettings {
                url: embedded.url(),
                api_key: String::new(),
                sender_id: sender_id.clone(),
                timeout: SMS_TIMEOUT,
            };
            (settings, Some(embedded))
        }
    };
    let sender = HttpSmsSender::new(&settings)
        .with_context(|| format!("setting up SMS through {}", redact_url(&settings.url)))?;
    Ok((app.with_sms_sender(Arc::new(sender)), embedded))
}
