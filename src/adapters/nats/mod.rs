//! NATS JetStream: where outbox events are published (`publisher`) and how an
//! operator watches them (`tail`). The only module that knows `async-nats`.
//!
//! Every event goes to the subject `<prefix>.<kind>` (e.g.
//! `ticketctl.order.confirmed`) of one stream, which captures `<prefix>.>`
//! and drops a message whose id (the event id) it saw within the duplicate
//! window. The wire format is `app::relay::EventEnvelope`, documented in
//! docs/events.md.

mod publisher;
mod tail;

pub use publisher::JetStreamPublisher;
pub use tail::{Tail, tail};

use std::time::Duration;

pub const DEFAULT_URL: &str = "nats://127.0.0.1:4222";
pub const DEFAULT_STREAM: &str = "TICKETCTL_EVENTS";
pub const DEFAULT_SUBJECT_PREFIX: &str = "ticketctl";

/// How long the stream remembers message ids to drop a republished event. A
/// relay republishes what it had not marked when it stopped, right after it
/// starts again; two minutes (the NATS default) covers a restart.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

/// How long to wait for a TCP connection to the NATS server.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Why NATS could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: {detail}")]
pub struct NatsError {
    what: String,
    detail: String,
}

impl NatsError {
    fn new(what: impl Into<String>, detail: impl std::fmt::Display) -> NatsError {
        NatsError {
            what: what.into(),
            detail: detail.to_string(),
        }
    }
}

/// Where events are published: the server, the stream, and the subject prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsSettings {
    url: String,
    stream: String,
    subject_prefix: String,
}

impl NatsSettings {
    /// Checks the names: a stream name is one token (no `.`, `*`, `>` or
    /// spaces); a prefix is one or more dot-separated tokens without wildcards.
    pub fn new(url: &str, stream: &str, subject_prefix: &str) -> Result<NatsSettings, NatsError> {
        let bad_char = |c: char| c.is_whitespace() || c.is_control() || matches!(c, '*' | '>');
        if stream.is_empty() || stream.contains('.') || stream.chars().any(bad_char) {
            return Err(NatsError::new(
                format!("bad stream name '{stream}'"),
                "use letters, digits, '-' and '_'",
            ));
        }
        if subject_prefix.split('.').any(str::is_empty) || subject_prefix.chars().any(bad_char) {
            return Err(NatsError::new(
                format!("bad subject prefix '{subject_prefix}'"),
                "use dot-separated words without wildcards, e.g. 'ticketctl'",
            ));
        }
        if url.trim().is_empty() {
            return Err(NatsError::new(
                "no NATS URL",
                "give e.g. nats://127.0.0.1:4222",
            ));
        }
        Ok(NatsSettings {
            url: url.trim().to_owned(),
            stream: stream.to_owned(),
            subject_prefix: subject_prefix.to_owned(),
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn stream(&self) -> &str {
        &self.stream
    }

    /// The subject of events of `kind`: `<prefix>.<kind>`.
    pub fn subject_of(&self, kind: &str) -> String {
        format!("{}.{kind}", self.subject_prefix)
    }

    /// Every event subject: `<prefix>.>`, what the stream captures.
    pub fn all_subjects(&self) -> String {
        format!("{}.>", self.subject_prefix)
    }
}

/// A connection to `url`; fails at once when nothing answers there.
async fn connect(url: &str) -> Result<async_nats::Client, NatsError> {
    async_nats::ConnectOptions::new()
        .name("ticketctl")
        .connection_timeout(CONNECT_TIMEOUT)
        .connect(url)
        .await
        .map_err(|e| {
            NatsError::new(
                format!("connecting to NATS at {}", crate::store::redact_url(url)),
                e,
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_prefix_then_kind() {
        let s = NatsSettings::new(DEFAULT_URL, DEFAULT_STREAM, DEFAULT_SUBJECT_PREFIX).unwrap();
        assert_eq!(s.subject_of("order.confirmed"), "ticketctl.order.confirmed");
        assert_eq!(s.all_subjects(), "ticketctl.>");
        let nested = NatsSettings::new(DEFAULT_URL, "S", "rail.dhaka").unwrap();
        assert_eq!(nested.subject_of("hold.expired"), "rail.dhaka.hold.expired");
    }

    #[test]
    fn names_that_nats_would_refuse_are_refused_first() {
        for stream in ["", "a.b", "a b", "EV*", "EV>"] {
            assert!(
                NatsSettings::new(DEFAULT_URL, stream, "p").is_err(),
                "{stream:?}"
            );
        }
        for prefix in ["", ".", "a.", ".a", "a..b", "a.*", "a.>", "a b"] {
            assert!(
                NatsSettings::new(DEFAULT_URL, "S", prefix).is_err(),
                "{prefix:?}"
            );
        }
        assert!(NatsSettings::new("  ", "S", "p").is_err());
    }
}
