//! Protection for peak sales: per-IP and per-user rate limits (GCRA, `governor`)
//! answered with 429 and `RateLimit-*`/`Retry-After` headers, and load shedding:
//! a bound on requests in flight, past which the server answers 503 at once
//! instead of queuing work it cannot finish in time. Reads also get a deadline.
//! Health probes are routed around all of this so they stay reachable.

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

use crate::app::App;

use super::error::ApiError;
pub use super::listener::ConnLimits;
pub use super::live::StreamLimits;

type Keyed<K> = RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock, StateInformationMiddleware>;

/// Limits of one server process. `None` turns a rate limit off.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Requests per second per client address (burst: twice that).
    pub per_ip: Option<NonZeroU32>,
    /// Requests per second per signed-in user (burst: twice that).
    pub per_user: Option<NonZeroU32>,
    /// Requests handled at once; more are shed with 503.
    pub max_in_flight: usize,
    /// Deadline for reads (GET); writes are never cut off midway.
    pub read_timeout: Duration,
    /// Header-read and idle timeouts, connections per client address.
    pub connections: ConnLimits,
    /// Live seat-map streams: in all, per address, and the staff's share.
    pub streams: StreamLimits,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            per_ip: NonZeroU32::new(100),
            per_user: NonZeroU32::new(20),
            max_in_flight: 2048,
            read_timeout: Duration::from_secs(10),
            connections: ConnLimits::default(),
            streams: StreamLimits::default(),
        }
    }
}

impl Limits {
    /// Production limits with nothing per client address: for a load
    /// generator whose simulated clients all come from 127.0.0.1.
    pub fn one_address() -> Self {
        let production = Limits::default();
        Limits {
            per_ip: None,
            connections: ConnLimits {
                max_per_ip: usize::MAX,
                ..production.connections
            },
            streams: StreamLimits {
                per_ip: usize::MAX,
                ..production.streams
            },
            ..production
        }
    }

    /// No rate limits and no caps per address (tests, whose clients all
    /// share one address); timeouts and totals stay as in production.
    pub fn unlimited() -> Self {
        Limits {
            per_user: None,
            ..Limits::one_address()
        }
    }
}

fn limiter<K: std::hash::Hash + Eq + Clone>(rate: Option<NonZeroU32>) -> Option<Keyed<K>> {
    rate.map(|r| {
        let burst = r.saturating_mul(NonZeroU32::new(2).expect("non-zero"));
        RateLimiter::keyed(Quota::per_second(r).allow_burst(burst))
            .with_middleware::<StateInformationMiddleware>()
    })
}

pub struct Guard {
    app: App,
    per_ip: Option<Keyed<IpAddr>>,
    per_user: Option<Keyed<i64>>,
    in_flight: Semaphore,
    read_timeout: Duration,
}

impl Guard {
    pub fn new(app: App, limits: &Limits) -> Arc<Guard> {
        Arc::new(Guard {
            app,
            per_ip: limiter(limits.per_ip),
            per_user: limiter(limits.per_user),
            in_flight: Semaphore::new(limits.max_in_flight.max(1)),
            read_timeout: limits.read_timeout,
        })
    }

    /// Forgets idle clients so the key maps do not grow without bound.
    pub fn forget_idle(&self) {
        if let Some(l) = &self.per_ip {
            l.retain_recent();
        }
        if let Some(l) = &self.per_user {
            l.retain_recent();
        }
    }
}

fn overloaded(detail: &str) -> Response {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "overloaded",
        "Server busy",
        detail,
    )
    .with_retry_after(1)
    .into_response()
}

/// A refusal: the bucket's size and how many seconds until the next request fits.
struct Refused {
    limit: u32,
    retry_after: u64,
}

/// Checks one bucket; Ok carries its size and what is left of it.
fn check<K: std::hash::Hash + Eq + Clone>(
    limiter: &Keyed<K>,
    key: &K,
) -> Result<(u32, u32), Refused> {
    match limiter.check_key(key) {
        Ok(state) => Ok((
            state.quota().burst_size().get(),
            state.remaining_burst_capacity(),
        )),
        Err(not_until) => {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            Err(Refused {
                limit: not_until.quota().burst_size().get(),
                retry_after: (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1),
            })
        }
    }
}

fn too_many(refused: Refused, who: &str) -> Response {
    let mut response = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate-limited",
        "Too many requests",
        format!("too many requests from this {who}; slow down"),
    )
    .with_retry_after(refused.retry_after as i64)
    .into_response();
    let h = response.headers_mut();
    h.insert("ratelimit-limit", HeaderValue::from(refused.limit));
    h.insert("ratelimit-remaining", HeaderValue::from(0));
    response
}

pub async fn protect(State(guard): State<Arc<Guard>>, req: Request, next: Next) -> Response {
    // Shed first: a busy server must answer "busy" without doing any more work.
    let Ok(_permit) = guard.in_flight.try_acquire() else {
        return overloaded("the server is at capacity; retry in a moment");
    };
    let mut budget: Option<(u32, u32)> = None;
    if let Some(limiter) = &guard.per_ip
        && let Some(ConnectInfo(addr)) = req.extensions().get::<ConnectInfo<SocketAddr>>()
    {
        match check(limiter, &addr.ip()) {
            Ok(b) => budget = Some(b),
            Err(refused) => return too_many(refused, "address"),
        }
    }
    if let Some(limiter) = &guard.per_user
        && let Some(user) = bearer_user(&guard.app, &req)
    {
        match check(limiter, &user) {
            Ok(b) => budget = Some(b),
            Err(refused) => return too_many(refused, "account"),
        }
    }
    let mut response = if req.method() == Method::GET {
        match tokio::time::timeout(guard.read_timeout, next.run(req)).await {
            Ok(r) => r,
            Err(_) => return overloaded("the request took too long; retry in a moment"),
        }
    } else {
        next.run(req).await
    };
    if let Some((limit, remaining)) = budget {
        let h = response.headers_mut();
        h.insert("ratelimit-limit", HeaderValue::from(limit));
        h.insert("ratelimit-remaining", HeaderValue::from(remaining));
    }
    response
}

/// The signed-in user, when the request carries a valid access token.
fn bearer_user(app: &App, req: &Request) -> Option<i64> {
    let header = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let token = header.strip_prefix("Bearer ")?;
    app.authenticate(token.trim()).ok().map(|c| c.sub)
}
