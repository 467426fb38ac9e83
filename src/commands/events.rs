//! `ticketctl events tail`: watch the event stream that `serve --nats-url` feeds.

use anyhow::Context;
use futures_util::StreamExt;
use std::io::Write;

use crate::adapters::nats;

#[derive(Debug, clap::Subcommand)]
pub enum Cmd {
    /// Print events as they arrive, one JSON line each (the envelope of
    /// docs/events.md), until interrupted.
    Tail(TailCmd),
}

#[derive(Debug, clap::Args)]
pub struct TailCmd {
    /// Subjects to watch, with NATS wildcards: `*` is one word, `>` the rest
    /// (e.g. ticketctl.order.> or ticketctl.*.expired).
    #[arg(long, default_value = "ticketctl.>")]
    pub subject: String,
    /// The NATS server.
    #[arg(long, env = "NATS_URL", hide_env_values = true, default_value = nats::DEFAULT_URL)]
    pub nats_url: String,
    /// The JetStream stream the relay publishes to.
    #[arg(long, env = "TICKETCTL_NATS_STREAM", default_value = nats::DEFAULT_STREAM)]
    pub stream: String,
    /// Replay the stream from its first event, then go on with new ones.
    #[arg(long)]
    pub from_start: bool,
    /// Stop after this many events.
    #[arg(long)]
    pub limit: Option<u64>,
}

impl Cmd {
    pub async fn run(&self) -> anyhow::Result<()> {
        match self {
            Cmd::Tail(tail) => tail.run().await,
        }
    }
}

impl TailCmd {
    async fn run(&self) -> anyhow::Result<()> {
        let mut events =
            nats::tail(&self.nats_url, &self.stream, &self.subject, self.from_start).await?;
        // On stderr, so stdout stays one event per line for scripts.
        eprintln!(
            "watching {} on stream {} ({}; Ctrl-C to stop)",
            self.subject,
            self.stream,
            if self.from_start {
                "from the start"
            } else {
                "new events"
            }
        );
        let mut stdout = std::io::stdout().lock();
        let mut printed = 0u64;
        while self.limit.is_none_or(|limit| printed < limit) {
            let next = tokio::select! {
                next = events.next() => next,
                _ = tokio::signal::ctrl_c() => break,
            };
            let Some(body) = next else { break };
            writeln!(stdout, "{}", one_line(&body?)).context("writing to stdout")?;
            stdout.flush().context("writing to stdout")?;
            printed += 1;
        }
        Ok(())
    }
}

/// A message body as one line: as published when it is JSON on one line (the
/// envelope's own field order), re-serialised when it spans lines, and for a
/// body that is not JSON (not published by ticketctl), a JSON string of its text.
fn one_line(body: &[u8]) -> String {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(_) if !body.contains(&b'\n') => String::from_utf8_lossy(body).trim().to_owned(),
        Ok(json) => json.to_string(),
        Err(_) => serde_json::Value::String(String::from_utf8_lossy(body).into_owned()).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn every_message_prints_as_one_json_line() {
        assert_eq!(
            one_line(br#"{"version":1,"id":3}"#),
            r#"{"version":1,"id":3}"#,
            "the envelope's field order is kept"
        );
        assert_eq!(one_line(b"{\n  \"id\": 3\n}"), r#"{"id":3}"#);
        assert_eq!(one_line(b"two\nlines"), r#""two\nlines""#);
    }
}
