//! `GET /metrics` (Prometheus text) and the middleware that counts and times
//! every request by its route template.
//!
//! The label is axum's `MatchedPath` (`/v1/orders/{id}`), never the raw path:
//! ids in paths would make a new series per order. Requests that match no
//! route share the label `unmatched`.
//!
//! The route sits beside the health probes, outside rate limits and load
//! shedding, so a struggling server can still be watched. It is on the public
//! port: keep it from the internet at the load balancer (see the README).

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::Instant;

use crate::app::App;

/// Content type of the Prometheus text exposition format.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

#[utoipa::path(get, path = "/metrics", tag = "probes",
    responses((status = 200, description = "Prometheus text exposition format", content_type = "text/plain; version=0.0.4; charset=utf-8", body = String)))]
/// Renders this server's metrics. Gauges that need a query were set by the
/// periodic refresh (`app::gauges`); a scrape reads no database.
pub async fn scrape(State(app): State<App>) -> Response {
    let mut response = app.metrics().render().into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(TEXT_FORMAT));
    response
}

/// Counts the request by route, method and status, and records its latency
/// (until the response head: a live stream's body is not waited for).
pub async fn track(State(app): State<App>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_owned();
    let method = req.method().clone();
    let response = next.run(req).await;
    let took = started.elapsed();
    let status = response.status().as_u16();
    app.metrics()
        .http_request(&route, method.as_str(), status, took);
    tracing::debug!(%route, %method, status, took_ms = took.as_secs_f64() * 1e3, "answered");
    response
}
