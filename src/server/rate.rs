//! Request-rate limits per client address and per signed-in user (GCRA: a
//! steady rate with a burst). One process keeps the buckets in memory
//! (`governor`); several processes share them in Redis (`rate_redis`), and
//! fall back to their own memory while Redis does not answer, so the limiter
//! never turns a request into a 5xx.

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use super::rate_redis::RedisRates;

/// A steady rate and the burst allowed on top of an idle bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub per_second: NonZeroU32,
    pub burst: NonZeroU32,
}

impl Rate {
    /// `per_second`, with bursts of twice that: the server's rule for both limits.
    pub fn with_double_burst(per_second: NonZeroU32) -> Rate {
        Rate {
            per_second,
            burst: per_second.saturating_mul(NonZeroU32::new(2).expect("non-zero")),
        }
    }

    /// Time between two requests at the steady rate.
    pub fn interval(self) -> Duration {
        Duration::from_secs(1) / self.per_second.get()
    }
}

/// Whose bucket a request draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    Address(IpAddr),
    Account(i64),
}

impl Bucket {
    /// "address" or "account": the rate-limit metrics' `scope` label.
    pub fn scope(&self) -> &'static str {
        match self {
            Bucket::Address(_) => "address",
            Bucket::Account(_) => "account",
        }
    }
}

/// An admitted request: the size of the last bucket checked and what is left of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub limit: u32,
    pub remaining: u32,
}

/// A refusal: which bucket, its size, and whole seconds until a request fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub bucket: Bucket,
    pub limit: u32,
    pub retry_after: u64,
}

/// Whole seconds to wait, rounded up and at least one (the `Retry-After` rule).
pub fn retry_after_secs(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

type Keyed<K> = RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock, StateInformationMiddleware>;

fn keyed<K: std::hash::Hash + Eq + Clone>(rate: Rate) -> Keyed<K> {
    RateLimiter::keyed(Quota::per_second(rate.per_second).allow_burst(rate.burst))
        .with_middleware::<StateInformationMiddleware>()
}

/// This process's own buckets.
struct LocalRates {
    per_ip: Option<Keyed<IpAddr>>,
    per_user: Option<Keyed<i64>>,
}

impl LocalRates {
    fn check(&self, buckets: &[(Bucket, Rate)]) -> Result<Option<Budget>, Refused> {
        let mut budget = None;
        for (bucket, _) in buckets {
            let outcome = match *bucket {
                Bucket::Address(ip) => self.per_ip.as_ref().map(|l| l.check_key(&ip)),
                Bucket::Account(id) => self.per_user.as_ref().map(|l| l.check_key(&id)),
            };
            match outcome {
                Some(Ok(state)) => {
                    budget = Some(Budget {
                        limit: state.quota().burst_size().get(),
                        remaining: state.remaining_burst_capacity(),
                    });
                }
                Some(Err(not_until)) => {
                    return Err(Refused {
                        bucket: *bucket,
                        limit: not_until.quota().burst_size().get(),
                        retry_after: retry_after_secs(
                            not_until.wait_time_from(DefaultClock::default().now()),
                        ),
                    });
                }
                None => {}
            }
        }
        Ok(budget)
    }
}

/// The limits of one server, wherever their buckets live.
pub struct Rates {
    per_ip: Option<Rate>,
    per_user: Option<Rate>,
    local: LocalRates,
    shared: Option<RedisRates>,
}

impl Rates {
    pub fn new(per_ip: Option<Rate>, per_user: Option<Rate>, shared: Option<RedisRates>) -> Rates {
        Rates {
            per_ip,
            per_user,
            local: LocalRates {
                per_ip: per_ip.map(keyed),
                per_user: per_user.map(keyed),
            },
            shared,
        }
    }

    /// Whether a per-user limit is set (so the caller need not look for a user).
    pub fn limits_users(&self) -> bool {
        self.per_user.is_some()
    }

    /// Draws one request from the address's bucket, then the user's; a
    /// refusal by the first leaves the second untouched. `Ok(None)` when no
    /// limit applies.
    pub async fn check(
        &self,
        ip: Option<IpAddr>,
        user: Option<i64>,
    ) -> Result<Option<Budget>, Refused> {
        let mut buckets = Vec::with_capacity(2);
        if let (Some(rate), Some(ip)) = (self.per_ip, ip) {
            buckets.push((Bucket::Address(ip), rate));
        }
        if let (Some(rate), Some(id)) = (self.per_user, user) {
            buckets.push((Bucket::Account(id), rate));
        }
        if buckets.is_empty() {
            return Ok(None);
        }
        if let Some(shared) = &self.shared
            && let Some(decision) = shared.check(&buckets).await
        {
            return decision.map(Some);
        }
        self.local.check(&buckets)
    }

    /// Forgets idle clients so this process's key maps do not grow without
    /// bound (Redis forgets its own: every bucket expires once full again).
    pub fn forget_idle(&self) {
        if let Some(l) = &self.local.per_ip {
            l.retain_recent();
        }
        if let Some(l) = &self.local.per_user {
            l.retain_recent();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(per_second: u32, burst: u32) -> Rate {
        Rate {
            per_second: NonZeroU32::new(per_second).unwrap(),
            burst: NonZeroU32::new(burst).unwrap(),
        }
    }

    #[tokio::test]
    async fn a_bucket_lets_its_burst_through_then_refuses_with_a_wait() {
        let rates = Rates::new(Some(rate(1, 3)), None, None);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let mut remaining = Vec::new();
        for _ in 0..3 {
            remaining.push(
                rates
                    .check(Some(ip), None)
                    .await
                    .unwrap()
                    .unwrap()
                    .remaining,
            );
        }
        assert_eq!(remaining, [2, 1, 0]);
        let refused = rates.check(Some(ip), None).await.unwrap_err();
        assert_eq!(refused.bucket, Bucket::Address(ip));
        assert_eq!((refused.limit, refused.retry_after), (3, 1));
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        assert!(rates.check(Some(other), None).await.is_ok());
    }

    #[tokio::test]
    async fn the_user_bucket_answers_last_and_a_refused_address_spares_it() {
        let rates = Rates::new(Some(rate(1, 1)), Some(rate(1, 5)), None);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let budget = rates.check(Some(ip), Some(7)).await.unwrap().unwrap();
        assert_eq!((budget.limit, budget.remaining), (5, 4));
        let refused = rates.check(Some(ip), Some(7)).await.unwrap_err();
        assert_eq!(refused.bucket, Bucket::Address(ip));
        let budget = rates.check(None, Some(7)).await.unwrap().unwrap();
        assert_eq!(
            budget.remaining, 3,
            "the refusal did not draw from the user"
        );
        assert_eq!(rates.check(None, None).await, Ok(None));
    }

    #[test]
    fn waits_round_up_to_whole_seconds_of_at_least_one() {
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1001)), 2);
        assert_eq!(retry_after_secs(Duration::from_secs(3)), 3);
        assert_eq!(rate(3, 6).interval(), Duration::from_nanos(333_333_333));
    }
}
