//! Password hashing with a bound on hashes in flight.
//!
//! argon2id takes ~19 MiB of memory per hash by design. Unbounded, a flood of
//! logins ran hundreds at once on the blocking pool (4.8 GB peak RSS for 400).
//! A semaphore of about the core count keeps at most that many in memory; a
//! request that cannot get a permit within a short wait is shed with 503 and
//! Retry-After instead of queueing without end. More permits than cores would
//! not hash faster, only use more memory.

use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use tokio::sync::{Semaphore, SemaphorePermit};

use super::{AppError, AppResult};

/// An argon2id digest (default parameters, the ones every real hash uses) that
/// no known password produces. Verifying against it when the account does not exist
/// costs what a real check costs, so timing does not tell whether it exists.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$VpUPmBOUc2jJuG0bqpWeo0rp6QGKMR6n8yZIdVu8w3E";

pub(crate) struct Passwords {
    in_flight: Semaphore,
    wait: Duration,
}

impl Passwords {
    /// At most `max_in_flight` (at least 1) hashes at once; callers wait up to `wait` for a turn.
    pub(crate) fn new(max_in_flight: usize, wait: Duration) -> Passwords {
        Passwords {
            in_flight: Semaphore::new(max_in_flight.max(1)),
            wait,
        }
    }

    async fn permit(&self) -> AppResult<SemaphorePermit<'_>> {
        match tokio::time::timeout(self.wait, self.in_flight.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_closed)) => Err(AppError::Internal("password hashing is closed".into())),
            Err(_elapsed) => Err(AppError::Overloaded(
                "too many sign-ins at once; try again in a second".into(),
            )),
        }
    }

    /// Runs `work` on the blocking pool while holding a permit (deliberately slow work
    /// stays off the async threads).
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> AppResult<T> + Send + 'static,
    ) -> AppResult<T> {
        let _permit = self.permit().await?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?
    }

    pub(crate) async fn hash(&self, password: String) -> AppResult<String> {
        self.run(move || {
            let salt = SaltString::generate(&mut OsRng);
            Argon2::default()
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| AppError::Internal(format!("hashing failed: {e}")))
        })
        .await
    }

    /// Checks `password` against `hash`; with `None` (no such account) checks it
    /// against a dummy hash at the same cost and answers false.
    pub(crate) async fn verify(&self, password: String, hash: Option<String>) -> AppResult<bool> {
        self.run(move || {
            let real = hash.is_some();
            let hash = hash.as_deref().unwrap_or(DUMMY_HASH);
            let parsed = PasswordHash::new(hash).map_err(|e| AppError::Internal(e.to_string()))?;
            let matches = Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok();
            Ok(real && matches)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_the_dummy_never_matches() {
        let p = Passwords::new(2, Duration::from_secs(5));
        let h = p.hash("correct horse".into()).await.unwrap();
        assert!(
            p.verify("correct horse".into(), Some(h.clone()))
                .await
                .unwrap()
        );
        assert!(
            !p.verify("wrong horse".into(), Some(h.clone()))
                .await
                .unwrap()
        );
        assert!(!p.verify("correct horse".into(), None).await.unwrap());
        // The dummy costs what a real hash costs: same algorithm and parameters.
        let real = PasswordHash::new(&h).unwrap();
        let dummy = PasswordHash::new(DUMMY_HASH).unwrap();
        assert_eq!(real.algorithm, dummy.algorithm);
        assert_eq!(real.params, dummy.params);
        assert_eq!(p.in_flight.available_permits(), 2);
    }

    #[tokio::test]
    async fn a_caller_without_a_turn_in_time_is_shed_as_overloaded() {
        let p = Passwords::new(1, Duration::from_millis(20));
        let held = p.permit().await.unwrap();
        assert!(matches!(p.permit().await, Err(AppError::Overloaded(_))));
        drop(held);
        assert!(p.permit().await.is_ok());
    }
}
