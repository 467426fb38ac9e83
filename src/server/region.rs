//! Multi-region HTTP: writes for a trip homed in another region are
//! forwarded to that region's servers (`forward`), and admins see and move
//! trip homes (`status`, `takeover`).
//!
//! Forwarded, not redirected: a browser or app keeps one origin and one
//! session, an `Authorization` header is never dropped on a cross-origin
//! redirect, and a POST body is never replayed by a client that would not
//! follow a 307. The hop is marked (`x-ticketctl-hop`) so a request is
//! forwarded at most once; the home's fence, not the mark, decides whether
//! it may be written there.

use axum::Json;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::app::App;
use crate::app::region::Route;
use crate::domain::{HoldId, Role, TripId};
use crate::wire::problem::Problem;
use crate::wire::region::{
    EpochGrant, HomeCountView, RegionStatusView, TakeoverRequest, TakeoverView,
};

use super::auth::Caller;
use super::error::{ApiError, ApiResult};
use super::extract::ApiJson;

/// Marks a request forwarded by another region (its name).
pub const HOP_HEADER: &str = "x-ticketctl-hop";

/// Request headers the home needs to answer as this region would have.
const PASSED_ON: [&str; 6] = [
    "authorization",
    "content-type",
    "idempotency-key",
    "admission-token",
    "x-step-up-code",
    "x-request-id",
];

/// The writes that go to a trip's home, and how to find the trip.
enum Target {
    TripInBody,
    HoldInBody,
    HoldInPath,
}

fn target(method: &Method, path: &str) -> Option<Target> {
    match (method, path) {
        (&Method::POST, "/v1/holds") => Some(Target::TripInBody),
        (&Method::POST, "/v1/orders") => Some(Target::HoldInBody),
        (&Method::DELETE, p) if p.starts_with("/v1/holds/") => Some(Target::HoldInPath),
        _ => None,
    }
}

/// Forwards a write for a trip homed elsewhere; everything else, and a body
/// that does not parse (the handler names the bad field), is served here.
pub async fn forward(State(app): State<App>, req: Request, next: Next) -> Response {
    let Some(region) = app.region() else {
        return next.run(req).await;
    };
    let Some(target) = target(req.method(), req.uri().path()) else {
        return next.run(req).await;
    };
    if req.headers().contains_key(HOP_HEADER) {
        return next.run(req).await;
    }
    let this = region.config.name.clone();
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, super::MAX_BODY_BYTES).await else {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body-too-large",
            "Request body too large",
            format!("the body may be at most {} bytes", super::MAX_BODY_BYTES),
        )
        .into_response();
    };
    let json = || serde_json::from_slice::<serde_json::Value>(&bytes).ok();
    let route = match target {
        Target::TripInBody => match json().and_then(|v| v.get("trip_id")?.as_i64()) {
            Some(trip) => app.route_trip(TripId(trip)).await,
            None => Ok(Route::Here),
        },
        Target::HoldInBody => match json().and_then(|v| v.get("hold_id")?.as_i64()) {
            Some(hold) => app.route_hold(HoldId(hold)).await,
            None => Ok(Route::Here),
        },
        Target::HoldInPath => match parts
            .uri
            .path()
            .rsplit('/')
            .next()
            .and_then(|s| s.parse().ok())
        {
            Some(hold) => app.route_hold(HoldId(hold)).await,
            None => Ok(Route::Here),
        },
    };
    match route {
        Ok(Route::Here) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Ok(Route::Peer { region: home, url }) => {
            relay(&app, &this, &home, &url, parts, bytes).await
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// Sends the request to the home region and answers with its answer.
async fn relay(
    app: &App,
    this: &str,
    home: &str,
    base: &str,
    parts: axum::http::request::Parts,
    body: axum::body::Bytes,
) -> Response {
    let Some(region) = app.region() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let path = parts
        .uri
        .path_and_query()
        .map_or(parts.uri.path(), |p| p.as_str());
    let mut out = region
        .http
        .request(parts.method.clone(), format!("{base}{path}"))
        .header(HOP_HEADER, this)
        .body(body);
    for name in PASSED_ON {
        if let Some(v) = parts.headers.get(name) {
            out = out.header(name, v);
        }
    }
    let answer = match out.send().await {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!(%home, error = %e, "forwarding to the home region failed");
            // The home may have done the write before its answer was lost: a
            // retried order with the same Idempotency-Key is never done twice.
            return ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Service unavailable",
                format!(
                    "this trip is sold by region {home}, which cannot be reached now; \
                     please try again"
                ),
            )
            .with_retry_after(2)
            .into_response();
        }
    };
    let status = answer.status();
    let mut response = Response::builder().status(status.as_u16());
    for name in [header::CONTENT_TYPE, header::RETRY_AFTER, header::LOCATION] {
        if let Some(v) = answer.headers().get(name.as_str()) {
            response = response.header(name, v.as_bytes());
        }
    }
    response = response.header(HeaderName::from_static("x-ticketctl-home"), home);
    match answer.bytes().await {
        Ok(b) => response
            .body(Body::from(b))
            .unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response()),
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Service unavailable",
            format!("region {home}'s answer was cut off; please try again"),
        )
        .with_retry_after(2)
        .into_response(),
    }
}

#[utoipa::path(get, path = "/v1/admin/regions", tag = "admin", security(("bearer" = [])),
    responses(
        (status = 200, description = "This server's region, the epochs it holds, the witness's epochs and this database's trip homes", body = RegionStatusView),
        (status = 403, description = "`forbidden`: admins only", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`unavailable`: the witness cannot be reached", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn status(State(app): State<App>, caller: Caller) -> ApiResult<Json<RegionStatusView>> {
    caller.require(Role::Admin)?;
    let s = app.region_status().await?;
    Ok(Json(RegionStatusView {
        region: s.region,
        held: s.held,
        grants: s
            .grants
            .into_iter()
            .map(|(epoch, region)| EpochGrant {
                leased: s.leased.contains(&region),
                epoch,
                region,
            })
            .collect(),
        homes: s
            .homes
            .into_iter()
            .map(|h| HomeCountView {
                region: h.region,
                epoch: h.epoch,
                trips: h.trips,
            })
            .collect(),
    }))
}

#[utoipa::path(post, path = "/v1/admin/regions/takeover", tag = "admin", security(("bearer" = [])),
    request_body = TakeoverRequest,
    responses(
        (status = 200, description = "Region `from`'s trips are homed here under a new epoch", body = TakeoverView),
        (status = 403, description = "`forbidden`: admins only", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`conflict`: this server has no region, or `from` still holds its lease (it may be alive)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid-field` (`from`), `invalid-body`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`unavailable`: the witness cannot be reached", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn takeover(
    State(app): State<App>,
    caller: Caller,
    ApiJson(b): ApiJson<TakeoverRequest>,
) -> ApiResult<Json<TakeoverView>> {
    caller.require(Role::Admin)?;
    let to = app.region().map(|r| r.config.name.clone()).ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            "Conflict",
            "this server serves one region only (no --region)",
        )
    })?;
    let done = app.take_over(&b.from, &to).await?;
    Ok(Json(TakeoverView {
        from: b.from,
        to,
        epoch: done.epoch,
        trips: done.trips,
    }))
}
