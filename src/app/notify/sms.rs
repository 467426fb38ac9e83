//! SMS to travellers: the port the gateway client plugs into, and delivery
//! of queued messages with retries.
//!
//! The notification consumer queues each message (`SmsStore::sms_enqueue`,
//! once per event); the SMS sender worker claims the due ones, sends them a
//! few at a time, and records each attempt: sent; refused for now, retried
//! after an exponential backoff; or refused for good (an invalid number),
//! logged, counted and never tried again. A message out of attempts is
//! treated as refused for good.
//!
//! Each batch claims its messages under a name of its own, and several
//! batches may run at once, so a number the gateway is slow to answer holds
//! up only the batch it is in, never the messages queued after it.

use async_trait::async_trait;
use futures_util::StreamExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

use crate::domain::sms::SmsEncoding;
use crate::store::OutboxClaim;
use crate::store::sms::{SmsMessage, SmsOutcome};

use super::super::{App, AppResult};

/// One SMS to one number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sms {
    /// The same on every attempt of one message (the gateway's `csms_id`).
    pub reference: String,
    /// Normalised (`+8801…`).
    pub to: String,
    pub text: String,
}

/// What the gateway said to an accepted message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsReceipt {
    pub provider_id: String,
    pub encoding: SmsEncoding,
    pub segments: u32,
}

/// Why an SMS did not go out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmsError {
    /// Refused for good (an invalid number, a malformed message): retrying
    /// the same message cannot help.
    #[error("refused: {0}")]
    Rejected(String),
    /// Not taken this time (a timeout, the gateway down or out of balance):
    /// worth trying again later.
    #[error("{0}")]
    Transient(String),
}

/// The port traveller SMS leave through; `adapters::sms_http` implements it.
#[async_trait]
pub trait SmsSender: Send + Sync {
    async fn send(&self, sms: &Sms) -> Result<SmsReceipt, SmsError>;
}

/// How queued SMS are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmsPolicy {
    /// Wait after the first failed attempt; doubled after each one since.
    pub retry_base: Duration,
    /// The longest wait between two attempts.
    pub retry_max: Duration,
    /// Attempts in all before a message is given up.
    pub max_attempts: u32,
    /// Messages sent at once by one process: a slow number holds up only its own.
    pub concurrency: usize,
}

impl Default for SmsPolicy {
    fn default() -> Self {
        // Waits of 2 s, 4 s, … 128 s: eight attempts over about four minutes,
        // long enough for a gateway restart.
        SmsPolicy {
            retry_base: Duration::from_secs(2),
            retry_max: Duration::from_secs(600),
            max_attempts: 8,
            concurrency: 8,
        }
    }
}

impl SmsPolicy {
    /// The wait before the next attempt, after `failed` failed attempts (1 or more).
    pub fn backoff(&self, failed: u32) -> Duration {
        let factor = 2u32.saturating_pow(failed.saturating_sub(1).min(20));
        self.retry_base
            .checked_mul(factor)
            .unwrap_or(self.retry_max)
            .min(self.retry_max)
    }
}

/// The SMS side of an app.
pub(crate) struct SmsOut {
    pub(crate) sender: Arc<dyn SmsSender>,
    /// A permit per batch running in the background (`BATCHES` in all).
    running: Arc<tokio::sync::Semaphore>,
}

/// Messages one batch claims: few enough that a batch of messages that all
/// time out (8 at a time, 10 s each) ends well within its claim's lease.
const BATCH: i64 = 32;
/// Batches one process runs at once: a batch held open by a slow number
/// does not stop the next one from starting.
const BATCHES: usize = 4;

impl App {
    /// Sends traveller SMS through `sender` (e.g. the HTTP gateway client).
    pub fn with_sms_sender(mut self, sender: Arc<dyn SmsSender>) -> App {
        self.sms = Some(Arc::new(SmsOut {
            sender,
            running: Arc::new(tokio::sync::Semaphore::new(BATCHES)),
        }));
        self
    }

    /// Whether traveller SMS are sent (a sender is plugged in).
    pub(crate) fn sends_sms(&self) -> bool {
        self.sms.is_some()
    }

    /// Sends the SMS that are due; returns how many attempts were made.
    pub async fn run_sms_once(&self) -> AppResult<usize> {
        let Some(out) = self.sms.clone() else {
            return Ok(0);
        };
        // A claimant name per batch, not per app: the messages a batch still
        // has in flight are not free to the app's next batch (it would send
        // them again), only to anyone once the lease lapses.
        let claim = OutboxClaim {
            owner: format!("{}-sms-{:08x}", self.outbox_owner, rand::random::<u32>()),
            now: self.now(),
            lease: self.config.outbox_lease,
        };
        let due = self.store.sms_claim(&claim, BATCH).await?;
        let n = due.len();
        let outcomes: Vec<(crate::domain::SmsId, SmsOutcome)> = futures_util::stream::iter(due)
            .map(|message| {
                let out = out.clone();
                async move {
                    let outcome = self.attempt(out.sender.as_ref(), &message).await;
                    (message.id, outcome)
                }
            })
            .buffer_unordered(self.config.sms.concurrency.max(1))
            .collect()
            .await;
        // Recorded together: a crash before this sends the batch again, and the
        // gateway keeps each reference once.
        self.store.sms_settle_all(&outcomes, self.now()).await?;
        Ok(n)
    }

    /// Sends what is due once the background batches have finished, none
    /// starting meanwhile: for `settle`, which must see every attempt recorded.
    pub(crate) async fn drain_sms_once(&self) -> AppResult<usize> {
        let Some(out) = self.sms.clone() else {
            return Ok(0);
        };
        let _all = out
            .running
            .acquire_many(BATCHES as u32)
            .await
            .map_err(|_| super::super::AppError::Internal("the SMS sender stopped".into()))?;
        self.run_sms_once().await
    }

    /// Starts a batch every `every` while fewer than `BATCHES` are running,
    /// until shutdown.
    pub(crate) async fn sms_loop(self, every: Duration, mut shutdown: watch::Receiver<bool>) {
        let Some(running) = self.sms.as_ref().map(|o| o.running.clone()) else {
            return;
        };
        let mut interval = tokio::time::interval(every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = interval.tick() => {}
                _ = shutdown.changed() => return,
            }
            if *shutdown.borrow() {
                return;
            }
            let Ok(turn) = running.clone().try_acquire_owned() else {
                continue;
            };
            let app = self.clone();
            tokio::spawn(async move {
                let _turn = turn;
                if let Err(e) = app.run_sms_once().await {
                    tracing::warn!(error = %e, "SMS sender failed");
                }
            });
        }
    }

    /// One attempt at one message, and what is to be recorded of it.
    async fn attempt(&self, sender: &dyn SmsSender, message: &SmsMessage) -> SmsOutcome {
        let sms = Sms {
            reference: message.reference.clone(),
            to: message.phone.clone(),
            text: message.body.clone(),
        };
        let tried = u32::try_from(message.attempts)
            .unwrap_or(u32::MAX)
            .saturating_add(1);
        let policy = self.config.sms;
        match sender.send(&sms).await {
            Ok(receipt) => {
                tracing::info!(reference = %sms.reference, to = %sms.to, encoding = %receipt.encoding, segments = receipt.segments, "SMS sent");
                self.metrics.sms_sent(receipt.encoding, receipt.segments);
                SmsOutcome::Sent {
                    provider_id: receipt.provider_id,
                }
            }
            Err(SmsError::Rejected(why)) => {
                tracing::error!(reference = %sms.reference, to = %sms.to, error = %why, "SMS refused for good; not retried");
                self.metrics.sms_failed("rejected");
                SmsOutcome::Failed { error: why }
            }
            Err(SmsError::Transient(why)) if tried >= policy.max_attempts => {
                tracing::error!(reference = %sms.reference, to = %sms.to, attempts = tried, error = %why, "SMS out of attempts; given up");
                self.metrics.sms_failed("attempts");
                SmsOutcome::Failed { error: why }
            }
            Err(SmsError::Transient(why)) => {
                let wait = policy.backoff(tried);
                tracing::warn!(reference = %sms.reference, to = %sms.to, attempt = tried, retry_in = ?wait, error = %why, "SMS not sent; will retry");
                self.metrics.sms_retried();
                let wait = chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
                SmsOutcome::Retry {
                    at: self.now() + wait,
                    error: why,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = SmsPolicy {
            retry_base: Duration::from_millis(500),
            retry_max: Duration::from_secs(5),
            ..SmsPolicy::default()
        };
        let waits: Vec<u64> = (1..=7).map(|n| p.backoff(n).as_millis() as u64).collect();
        assert_eq!(waits, [500, 1000, 2000, 4000, 5000, 5000, 5000]);
        assert_eq!(p.backoff(u32::MAX), Duration::from_secs(5));
        let d = SmsPolicy::default();
        let total: Duration = (1..d.max_attempts).map(|n| d.backoff(n)).sum();
        assert_eq!(total, Duration::from_secs(254));
    }
}
