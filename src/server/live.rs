//! `GET /v1/trips/{id}/live`: Server-Sent Events telling a seat map to refresh.
//!
//! Each event carries the trip's inventory version; clients re-read the seat
//! map for their own journey. The stream lives outside the request deadline
//! and in-flight limit (it is long by design), so it has bounds of its own
//! (`StreamGate`): a total, a cap per client address, and a share of the total
//! kept for signed-in staff, so anonymous clients can never shut clerks out
//! of the live seat maps they sell from.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use crate::app::App;
use crate::domain::{Role, TripId};

use super::client_addr::ClientAddr;
use super::error::{ApiError, ApiResult};
use super::extract::ApiPath;
use crate::wire::problem::Problem;

/// Bounds on open live streams.
#[derive(Debug, Clone, Copy)]
pub struct StreamLimits {
    /// Streams open at once, in all.
    pub max_streams: usize,
    /// Streams one client address may hold, unless signed in as staff.
    pub per_ip: usize,
    /// Percent of `max_streams` that anonymous clients and passengers may
    /// use together; the rest is kept for clerks and admins.
    pub public_percent: u8,
}

impl Default for StreamLimits {
    fn default() -> Self {
        StreamLimits {
            max_streams: 1024,
            per_ip: 8,
            public_percent: 75,
        }
    }
}

impl StreamLimits {
    fn public_cap(&self) -> usize {
        self.max_streams * usize::from(self.public_percent.min(100)) / 100
    }
}

#[derive(Default)]
struct Open {
    total: usize,
    public: usize,
    per_ip: HashMap<IpAddr, usize>,
}

/// Counts open streams and says whether one more may open.
pub struct StreamGate {
    limits: StreamLimits,
    open: Mutex<Open>,
}

/// One open stream; dropping it (the stream ends) gives its place back.
pub struct StreamPass {
    gate: Arc<StreamGate>,
    /// The address it counts against, for a public stream.
    public: Option<IpAddr>,
}

impl StreamGate {
    pub fn new(limits: StreamLimits) -> Arc<StreamGate> {
        Arc::new(StreamGate {
            limits,
            open: Mutex::default(),
        })
    }

    fn admit(self: &Arc<Self>, ip: IpAddr, staff: bool) -> Result<StreamPass, ApiError> {
        let mut open = self.open.lock();
        if open.total >= self.limits.max_streams {
            return Err(busy("too many live seat maps are open; try again shortly"));
        }
        if staff {
            open.total += 1;
            return Ok(StreamPass {
                gate: self.clone(),
                public: None,
            });
        }
        if open.public >= self.limits.public_cap() {
            return Err(busy(
                "live seat maps for the public are all in use; the rest are kept for station staff",
            ));
        }
        let mine = open.per_ip.get(&ip).copied().unwrap_or(0);
        if mine >= self.limits.per_ip {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too-many-streams",
                "Too many live streams",
                format!(
                    "this address already has {} live seat maps open; close one first",
                    self.limits.per_ip
                ),
            )
            .with_retry_after(5));
        }
        open.total += 1;
        open.public += 1;
        *open.per_ip.entry(ip).or_insert(0) += 1;
        Ok(StreamPass {
            gate: self.clone(),
            public: Some(ip),
        })
    }
}

impl Drop for StreamPass {
    fn drop(&mut self) {
        let mut open = self.gate.open.lock();
        open.total = open.total.saturating_sub(1);
        if let Some(ip) = self.public {
            open.public = open.public.saturating_sub(1);
            if let Some(n) = open.per_ip.get_mut(&ip) {
                *n -= 1;
                if *n == 0 {
                    open.per_ip.remove(&ip);
                }
            }
        }
    }
}

fn busy(detail: &str) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "overloaded",
        "Overloaded",
        detail,
    )
    .with_retry_after(5)
}

/// State of the stream route: the app and the gate.
#[derive(Clone)]
pub struct LiveState {
    pub app: App,
    pub gate: Arc<StreamGate>,
}

/// Whether the request carries a valid access token of a clerk or admin.
fn is_staff(app: &App, headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .and_then(|t| app.authenticate(t.trim()).ok())
        .is_some_and(|c| matches!(c.role, Role::Clerk | Role::Admin))
}

#[utoipa::path(get, path = "/v1/trips/{id}/live", tag = "catalog",
    params(("id" = TripId, Path, description = "The trip")),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "Server-Sent Events, one `seats` event per inventory change: `{\"trip_id\":7,\"version\":42}`; re-read the seat map on each. The first comes at once; the stream lasts until the server stops", content_type = "text/event-stream", body = String),
        (status = 400, description = "`invalid-path`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: no such trip", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid-field`: the path breaks the text rule", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`too-many-streams`: this address holds its share of streams (`Retry-After`); staff are exempt", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`overloaded`: every stream open to this caller's kind is in use (`Retry-After`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn trip_live(
    State(LiveState { app, gate }): State<LiveState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    ApiPath(trip_id): ApiPath<TripId>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    // Only a router served without our listener has no client address; such
    // requests share one count.
    let client = client.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let pass = gate.admit(client, is_staff(&app, &headers))?;
    let mut watch = app.watch_trip(trip_id).await?;
    let first = watch.version();
    // The first event goes out at once, so a client knows it is connected;
    // the stream ends when the server stops. The pass lives as long as it.
    let events = futures_util::stream::unfold(
        (watch, Some(first), pass),
        move |(mut w, now, pass)| async move {
            let version = match now {
                Some(v) => v,
                None => w.changed().await?,
            };
            let event = Event::default()
                .event("seats")
                .data(format!(r#"{{"trip_id":{trip_id},"version":{version}}}"#));
            Some((Ok::<_, Infallible>(event), (w, None, pass)))
        },
    );
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(max: usize, per_ip: usize, public_percent: u8) -> Arc<StreamGate> {
        StreamGate::new(StreamLimits {
            max_streams: max,
            per_ip,
            public_percent,
        })
    }

    #[test]
    fn the_public_share_leaves_room_for_staff() {
        let g = gate(8, 100, 75);
        let ips: Vec<IpAddr> = (1..=10)
            .map(|i| format!("10.0.0.{i}").parse().unwrap())
            .collect();
        let public: Vec<_> = ips
            .iter()
            .take(6)
            .map(|ip| g.admit(*ip, false).unwrap())
            .collect();
        assert!(
            g.admit(ips[7], false).is_err(),
            "6 of 8 is the public share"
        );
        let staff: Vec<_> = (0..2).map(|_| g.admit(ips[8], true).unwrap()).collect();
        assert!(
            g.admit(ips[8], true).is_err(),
            "the total holds for staff too"
        );
        drop(public);
        drop(staff);
        assert_eq!(g.open.lock().total, 0);
        assert!(g.open.lock().per_ip.is_empty());
    }

    #[test]
    fn one_address_holds_at_most_its_cap_unless_staff() {
        let g = gate(100, 2, 75);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let _a = g.admit(ip, false).unwrap();
        let _b = g.admit(ip, false).unwrap();
        let refused = g.admit(ip, false).err().unwrap();
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(g.admit(ip, true).is_ok(), "staff behind the same address");
    }
}
