//! Protection for peak sales: per-address and per-user rate limits (GCRA, in
//! this process or shared in Redis: `rate`) answered with 429 and
//! `RateLimit-*`/`Retry-After` headers, and load shedding:
//! a bound on requests in flight, past which the server answers 503 at once
//! instead of queuing work it cannot finish in time. Reads also get a deadline.
//! Health probes are routed around all of this so they stay reachable.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

use crate::app::App;

use super::client_addr::ClientIp;
pub use super::client_addr::TrustedProxies;
use super::error::ApiError;
pub use super::listener::ConnLimits;
pub use super::live::StreamLimits;
use super::rate::{Budget, Rate, Rates, Refused};
use super::rate_redis::RedisRates;

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
    /// Proxies believed when they name the client they forward for; the
    /// per-address limits then count that client instead of the proxy.
    pub trusted_proxies: TrustedProxies,
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
            trusted_proxies: TrustedProxies::default(),
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

pub struct Guard {
    app: App,
    rates: Rates,
    in_flight: Semaphore,
    read_timeout: Duration,
}

impl Guard {
    /// With a Redis URL in the app's settings the rate-limit buckets are
    /// shared there (an unparsable URL is an error; an unreachable Redis is not).
    pub fn new(app: App, limits: &Limits) -> redis::RedisResult<Arc<Guard>> {
        let shared = match &app.config.redis_url {
            Some(url) => Some(RedisRates::new(url, &app.config.redis_prefix)?),
            None => None,
        };
        let rates = Rates::new(
            limits.per_ip.map(Rate::with_double_burst),
            limits.per_user.map(Rate::with_double_burst),
            shared,
        );
        Ok(Arc::new(Guard {
            app,
            rates,
            in_flight: Semaphore::new(limits.max_in_flight.max(1)),
            read_timeout: limits.read_timeout,
        }))
    }

    /// Forgets idle clients so the key maps do not grow without bound.
    pub fn forget_idle(&self) {
        self.rates.forget_idle();
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

fn too_many(refused: Refused) -> Response {
    let who = refused.bucket.scope();
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
        guard.app.metrics().shed("in_flight");
        return overloaded("the server is at capacity; retry in a moment");
    };
    let client = req.extensions().get::<ClientIp>().map(|ClientIp(ip)| *ip);
    let user = if guard.rates.limits_users() {
        bearer_user(&guard.app, &req)
    } else {
        None
    };
    let budget = match guard.rates.check(client, user).await {
        Ok(budget) => budget,
        Err(refused) => {
            guard.app.metrics().rate_limited(refused.bucket.scope());
            return too_many(refused);
        }
    };
    let mut response = if req.method() == Method::GET {
        match tokio::time::timeout(guard.read_timeout, next.run(req)).await {
            Ok(r) => r,
            Err(_) => {
                guard.app.metrics().shed("read_timeout");
                return overloaded("the request took too long; retry in a moment");
            }
        }
    } else {
        next.run(req).await
    };
    if let Some(Budget { limit, remaining }) = budget {
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
