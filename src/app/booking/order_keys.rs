//! Idempotency-Keys of orders being placed in this process, and what a repeat
//! of a key is told.
//!
//! A duplicate that arrives while the first request is still running must not
//! run the saga itself (it would find the hold already ordered and advise the
//! client to hold the seats again, which makes clients buy twice): it is told
//! the order is in progress (409 with Retry-After) or, once the first finished,
//! gets the recorded answer. A key whose order a crash left `reserved`, with no
//! request for it running here, is resumed by the retry: the charge is keyed by
//! the order (`charge_key`), so resuming never charges twice, and the
//! confirmation is conditional on the order's state, so only one finisher wins
//! even if another server process is resuming it too. The resuming itself is
//! the saga's (`saga.rs`).
//!
//! May not charge, confirm or move an order: this file only decides who runs
//! a key and what a repeat is told.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::domain::{OrderStatus, UserId};

use crate::app::{App, AppError, AppResult};

use super::outcome::{AnswerTo, OrderAnswer, OrderOutcome};

/// Seconds a client is asked to wait before repeating an order still in progress.
pub const IN_PROGRESS_RETRY_SECS: u64 = 1;

/// (user, Idempotency-Key) → request hash, of the order requests running here.
type Keys = Arc<Mutex<HashMap<(UserId, String), String>>>;

/// The order requests running in this process, by key.
#[derive(Default)]
pub(crate) struct OrdersInFlight {
    keys: Keys,
}

/// The right to run the order for one key; released when dropped (also on
/// error, panic or a cancelled request).
pub(crate) struct KeyClaim {
    keys: Keys,
    key: (UserId, String),
}

fn locked(keys: &Keys) -> MutexGuard<'_, HashMap<(UserId, String), String>> {
    // A panic elsewhere cannot leave the set half-changed (one insert or remove),
    // so a poisoned lock is safe to use: never let it take orders down.
    keys.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl OrdersInFlight {
    /// Claims the key for a request with `request_hash`; when a request with
    /// the key is already running here, returns that request's hash instead.
    pub(crate) fn claim(
        &self,
        user_id: UserId,
        key: &str,
        request_hash: &str,
    ) -> Result<KeyClaim, String> {
        let entry = (user_id, key.to_owned());
        let mut keys = locked(&self.keys);
        if let Some(running) = keys.get(&entry) {
            return Err(running.clone());
        }
        keys.insert(entry.clone(), request_hash.to_owned());
        Ok(KeyClaim {
            keys: self.keys.clone(),
            key: entry,
        })
    }
}

impl Drop for KeyClaim {
    fn drop(&mut self) {
        locked(&self.keys).remove(&self.key);
    }
}

pub(crate) fn in_progress(detail: impl Into<String>) -> AppError {
    AppError::OrderInProgress {
        detail: detail.into(),
        retry_after_secs: IN_PROGRESS_RETRY_SECS,
    }
}

impl App {
    /// The answer for a key already seen: its recorded answer, or the order
    /// finished now, or `None` when the key is new. Refuses a different body.
    /// Call it only while holding the key's claim (nothing else here runs it).
    pub(crate) async fn replay(
        &self,
        user_id: UserId,
        to: AnswerTo<'_>,
        request_hash: &str,
    ) -> AppResult<Option<OrderAnswer>> {
        let Some(rec) = self.store.idempotency(user_id, to.key).await? else {
            return Ok(None);
        };
        if rec.request_hash != request_hash {
            return Err(AppError::IdempotencyMismatch);
        }
        if let Some(answer) = rec.answer() {
            return Ok(Some(OrderAnswer::Recorded(answer)));
        }
        let Some(id) = rec.order_id else {
            return Err(in_progress(
                "a request with this Idempotency-Key is in progress",
            ));
        };
        let order = self
            .store
            .order(id)
            .await?
            .ok_or_else(|| AppError::Internal("order vanished".into()))?;
        if order.status.is_final() || order.status == OrderStatus::Confirmed {
            // Settled but never answered (the answer is recorded before it is
            // sent): this answer is the first.
            let outcome: OrderOutcome = self.order_outcome(&order).await?;
            return Ok(Some(OrderAnswer::settled(outcome)));
        }
        // No request with this key runs here: a crash cut the saga short.
        self.resume_order(order, to).await.map(Some)
    }

    /// What a duplicate is told while the first request with its key runs here:
    /// the recorded answer if it has just finished, otherwise "in progress".
    pub(crate) async fn answer_duplicate(
        &self,
        user_id: UserId,
        key: &str,
        request_hash: &str,
        running_hash: &str,
    ) -> AppResult<OrderAnswer> {
        if running_hash != request_hash {
            return Err(AppError::IdempotencyMismatch);
        }
        match self.store.idempotency(user_id, key).await? {
            Some(rec) if rec.request_hash != request_hash => Err(AppError::IdempotencyMismatch),
            Some(rec) => match rec.answer() {
                Some(answer) => Ok(OrderAnswer::Recorded(answer)),
                None => Err(in_progress(
                    "an order with this Idempotency-Key is being placed; ask again shortly",
                )),
            },
            None => Err(in_progress(
                "an order with this Idempotency-Key is being placed; ask again shortly",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_runs_once_at_a_time_and_is_free_again_after() {
        let running = OrdersInFlight::default();
        let first = running
            .claim(UserId(1), "k", "hash-a")
            .expect("a new key is claimed");
        assert_eq!(
            running.claim(UserId(1), "k", "hash-b").err().as_deref(),
            Some("hash-a")
        );
        assert!(
            running.claim(UserId(2), "k", "hash-a").is_ok(),
            "keys are per user"
        );
        drop(first);
        assert!(
            running.claim(UserId(1), "k", "hash-b").is_ok(),
            "released on drop"
        );
    }
}
