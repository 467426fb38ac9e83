//! Password hashing with a bound on hashes in flight.
//!
//! argon2id takes ~19 MiB of memory per hash by design. Unbounded, a flood of
//! logins ran hundreds at once on the blocking pool (4.8 GB peak RSS for 400).
//! A semaphore of about the core count keeps at most that many in memory; a
//! request that cannot get a permit within a short wait is shed with 503 and
//! Retry-After instead of queueing without end. More permits than cores would
//! not hash faster, only use more memory.
//!
//! The hashes run on as many dedicated threads as there are permits, each
//! reusing one block of argon2 memory: allocating 19 MiB per hash left freed
//! blocks in the allocator's arenas (250-370 MB peak RSS for a 400-login flood
//! with 2 permits, measured); with reuse the memory is permits × 19 MiB, held
//! for the life of the process.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString, rand_core::OsRng};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::{Semaphore, SemaphorePermit, oneshot};

use super::{AppError, AppResult};

/// An argon2id digest (default parameters, the ones every real hash uses) that
/// no known password produces. Verifying against it when the account does not exist
/// costs what a real check costs, so timing does not tell whether it exists.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$VpUPmBOUc2jJuG0bqpWeo0rp6QGKMR6n8yZIdVu8w3E";

/// A hashing thread's argon2 memory, grown once to the parameters' block count and reused.
type Memory = Vec<Block>;
type Job = Box<dyn FnOnce(&mut Memory) + Send>;

fn internal(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(format!("password hashing: {e}"))
}

fn compute(
    params: Params,
    algorithm: Algorithm,
    version: Version,
    (password, salt): (&[u8], &[u8]),
    out: &mut [u8],
    memory: &mut Memory,
) -> AppResult<()> {
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password, salt, out, &mut memory[..blocks])
        .map_err(internal)
}

/// A new argon2id hash of `password` (default parameters) in PHC string form.
fn hash_with(memory: &mut Memory, password: &[u8]) -> AppResult<String> {
    let params = Params::default();
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt.as_salt().decode_b64(&mut salt_buf).map_err(internal)?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    compute(
        params.clone(),
        Algorithm::Argon2id,
        Version::V0x13,
        (password, salt_bytes),
        &mut out,
        memory,
    )?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(internal)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(internal)?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the PHC string `hash` (with the hash's own parameters).
fn verify_with(memory: &mut Memory, password: &[u8], hash: &str) -> AppResult<bool> {
    let parsed = PasswordHash::new(hash).map_err(internal)?;
    let algorithm = Algorithm::try_from(parsed.algorithm).map_err(internal)?;
    let version = match parsed.version {
        Some(v) => Version::try_from(v).map_err(internal)?,
        None => Version::default(),
    };
    let params = Params::try_from(&parsed).map_err(internal)?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Err(internal("stored hash lacks a salt or an output"));
    };
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_buf).map_err(internal)?;
    let mut out = vec![0u8; expected.len()];
    compute(
        params,
        algorithm,
        version,
        (password, salt_bytes),
        &mut out,
        memory,
    )?;
    // `Output` compares in constant time.
    Ok(Output::new(&out).map_err(internal)? == expected)
}

pub(crate) struct Passwords {
    in_flight: Semaphore,
    wait: Duration,
    /// To the hashing threads; they stop when this is dropped (with the app).
    jobs: mpsc::Sender<Job>,
}

impl Passwords {
    /// At most `max_in_flight` (at least 1) hashes at once, each on one of as many
    /// threads; callers wait up to `wait` for a turn.
    pub(crate) fn new(max_in_flight: usize, wait: Duration) -> AppResult<Passwords> {
        let threads = max_in_flight.max(1);
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || {
                    let mut memory = Memory::new();
                    loop {
                        // A job never panics while the lock is held (it runs after
                        // the guard is dropped), so a poisoned lock is still sound.
                        let job = queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
                        match job {
                            Ok(job) => job(&mut memory),
                            Err(mpsc::RecvError) => break,
                        }
                    }
                })
                .map_err(|e| AppError::Internal(format!("starting a hashing thread: {e}")))?;
        }
        Ok(Passwords {
            in_flight: Semaphore::new(threads),
            wait,
            jobs,
        })
    }

    /// Waits (up to the configured wait) for a turn to hash; `Overloaded` (503
    /// with Retry-After) when none comes. Callers take the turn BEFORE their
    /// other work (looking the account up, counting the attempt), so a shed
    /// request costs the database nothing.
    pub(crate) async fn turn(&self) -> AppResult<Turn<'_>> {
        match tokio::time::timeout(self.wait, self.in_flight.acquire()).await {
            Ok(Ok(permit)) => Ok(Turn {
                jobs: &self.jobs,
                _permit: permit,
            }),
            Ok(Err(_closed)) => Err(AppError::Internal("password hashing is closed".into())),
            Err(_elapsed) => Err(AppError::Overloaded(
                "too many sign-ins at once; try again in a second".into(),
            )),
        }
    }
}

/// A turn to hash: while it is held, one hashing thread is this caller's.
pub(crate) struct Turn<'a> {
    jobs: &'a mpsc::Sender<Job>,
    _permit: SemaphorePermit<'a>,
}

impl Turn<'_> {
    /// Runs `work` on a hashing thread (deliberately slow work stays off the async threads).
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Memory) -> AppResult<T> + Send + 'static,
    ) -> AppResult<T> {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |memory| {
            // A panic answers this caller (as a dropped reply) and spares the thread.
            if let Ok(result) = catch_unwind(AssertUnwindSafe(|| work(memory))) {
                let _ = reply.send(result);
            }
        });
        self.jobs
            .send(job)
            .map_err(|_| AppError::Internal("the hashing threads have stopped".into()))?;
        answer
            .await
            .map_err(|_| AppError::Internal("a password hash failed unexpectedly".into()))?
    }

    pub(crate) async fn hash(&self, password: String) -> AppResult<String> {
        self.run(move |memory| hash_with(memory, password.as_bytes()))
            .await
    }

    /// Checks `password` against `hash`; with `None` (no such account) checks it
    /// against a dummy hash at the same cost and answers false.
    pub(crate) async fn verify(&self, password: String, hash: Option<String>) -> AppResult<bool> {
        self.run(move |memory| {
            let matches = verify_with(
                memory,
                password.as_bytes(),
                hash.as_deref().unwrap_or(DUMMY_HASH),
            )?;
            Ok(hash.is_some() && matches)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_the_dummy_never_matches() {
        let p = Passwords::new(2, Duration::from_secs(5)).unwrap();
        let turn = p.turn().await.unwrap();
        assert_eq!(p.in_flight.available_permits(), 1);
        let h = turn.hash("correct horse".into()).await.unwrap();
        let right = turn.verify("correct horse".into(), Some(h.clone()));
        assert!(right.await.unwrap());
        let wrong = turn.verify("wrong horse".into(), Some(h.clone()));
        assert!(!wrong.await.unwrap());
        assert!(!turn.verify("correct horse".into(), None).await.unwrap());
        // The dummy costs what a real hash costs: same algorithm and parameters.
        let real = PasswordHash::new(&h).unwrap();
        let dummy = PasswordHash::new(DUMMY_HASH).unwrap();
        assert_eq!(real.algorithm, dummy.algorithm);
        assert_eq!(real.params, dummy.params);
        drop(turn);
        assert_eq!(p.in_flight.available_permits(), 2);
    }

    #[test]
    fn hashes_agree_with_the_argon2_crates_own_hasher_both_ways() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let mut memory = Memory::new();
        let ours = hash_with(&mut memory, b"correct horse").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"correct horse", &parsed)
                .is_ok()
        );
        assert!(
            Argon2::default()
                .verify_password(b"wrong horse", &parsed)
                .is_err()
        );
        // Hashes stored before (made by the crate's hasher) still verify.
        let salt = SaltString::generate(&mut OsRng);
        let theirs = Argon2::default()
            .hash_password(b"correct horse", &salt)
            .unwrap()
            .to_string();
        assert!(verify_with(&mut memory, b"correct horse", &theirs).unwrap());
        assert!(!verify_with(&mut memory, b"wrong horse", &theirs).unwrap());
        assert_eq!(memory.len(), Params::default().block_count());
    }

    #[tokio::test]
    async fn a_caller_without_a_turn_in_time_is_shed_as_overloaded() {
        let p = Passwords::new(1, Duration::from_millis(20)).unwrap();
        let held = p.turn().await.unwrap();
        assert!(matches!(p.turn().await, Err(AppError::Overloaded(_))));
        drop(held);
        assert!(p.turn().await.is_ok());
    }
}
