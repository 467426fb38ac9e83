//! Counter endpoints for station clerks (`ticketctl tui`): hold and sell for
//! cash, cancel with a cash refund, look up by PNR or phone, reprint, and the
//! shift's cash. Every one needs the clerk (or admin) role.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::app::App;
use crate::domain::{OrderId, Role, UserId};
use crate::wire::booking::{HoldRequest, HoldView, OrderView};
use crate::wire::counter::{
    CounterCancelView, CounterLookup, CounterOrderRequest, CounterOrderView, ShiftView,
};
use crate::wire::problem::Problem;

use super::auth::Caller;
use super::booking::{answer_order, idempotency_key};
use super::error::{ApiResult, render_order_outcome};
use super::extract::{ApiJson, ApiPath, ApiQuery};

/// The caller's id, once they are known to be a clerk or an admin.
fn clerk(caller: &Caller) -> ApiResult<UserId> {
    caller.require(Role::Clerk)?;
    Ok(caller.id())
}

#[utoipa::path(post, path = "/v1/counter/holds", tag = "counter", security(("bearer" = [])),
    request_body = HoldRequest,
    responses(
        (status = 201, description = "The seats are held for the clerk's sale", body = HoldView),
        (status = 403, description = "`forbidden`: clerks and admins only", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: no such trip", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`seats-unavailable` (with `seats`) or `conflict`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid-field`, `unknown-station` or `invalid-body`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn hold(
    State(app): State<App>,
    caller: Caller,
    ApiJson(req): ApiJson<HoldRequest>,
) -> ApiResult<(StatusCode, Json<HoldView>)> {
    let clerk = clerk(&caller)?;
    Ok((
        StatusCode::CREATED,
        Json(app.counter_hold(clerk, req).await?),
    ))
}

#[utoipa::path(post, path = "/v1/counter/orders", tag = "counter", security(("bearer" = [])),
    params(("Idempotency-Key" = String, Header, description = "Unique per sale; a retry with the same key and body gets the same answer")),
    request_body = CounterOrderRequest,
    responses(
        (status = 201, description = "Sold for cash and confirmed", body = OrderView),
        (status = 400, description = "`idempotency-key-missing` or `malformed-json`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: clerks and admins only; `nid-flagged`: the buyer's NID is flagged", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: no such hold (or not the clerk's)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`order-in-progress` (`Retry-After`), `nid-limit` (the buyer's NID has its seats, online and at counters together), `conflict` (hold expired or ordered)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`idempotency-key-reused`, `invalid-field` (phone, nid, passengers), `invalid-body`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn sell(
    State(app): State<App>,
    caller: Caller,
    headers: HeaderMap,
    ApiJson(req): ApiJson<CounterOrderRequest>,
) -> ApiResult<Response> {
    let clerk = clerk(&caller)?;
    let key = idempotency_key(&headers)?;
    let answer = app
        .counter_order(clerk, key, req, render_order_outcome)
        .await?;
    answer_order(&app, clerk, key, answer).await
}

#[utoipa::path(post, path = "/v1/counter/orders/{id}/cancel", tag = "counter", security(("bearer" = [])),
    params(("id" = OrderId, Path, description = "The order")),
    responses(
        (status = 200, description = "Cancelled: the cash to hand back, or the card refund", body = CounterCancelView),
        (status = 403, description = "`forbidden`: clerks and admins only", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`conflict`: not confirmed, or departed", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn cancel(
    State(app): State<App>,
    caller: Caller,
    ApiPath(id): ApiPath<OrderId>,
) -> ApiResult<Json<CounterCancelView>> {
    let clerk = clerk(&caller)?;
    Ok(Json(app.counter_cancel(clerk, id).await?))
}

#[utoipa::path(get, path = "/v1/counter/orders/{id}", tag = "counter", security(("bearer" = [])),
    params(("id" = OrderId, Path, description = "The order")),
    responses(
        (status = 200, description = "The order with its buyer's phone and signed tickets", body = CounterOrderView),
        (status = 403, description = "`forbidden`: clerks and admins only", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn order(
    State(app): State<App>,
    caller: Caller,
    ApiPath(id): ApiPath<OrderId>,
) -> ApiResult<Json<CounterOrderView>> {
    clerk(&caller)?;
    Ok(Json(app.counter_order_detail(id).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LookupQuery {
    /// A ticket's PNR; or…
    pnr: Option<String>,
    /// …the buyer's phone (exactly one of the two).
    phone: Option<String>,
}

#[utoipa::path(get, path = "/v1/counter/lookup", tag = "counter", security(("bearer" = [])),
    params(LookupQuery),
    responses(
        (status = 200, description = "Orders with that PNR or phone", body = CounterLookup),
        (status = 403, description = "`forbidden`: clerks and admins only", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid-field`: neither or both of `pnr` and `phone`, or a malformed one", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn lookup(
    State(app): State<App>,
    caller: Caller,
    ApiQuery(q): ApiQuery<LookupQuery>,
) -> ApiResult<Json<CounterLookup>> {
    clerk(&caller)?;
    let orders = app
        .counter_lookup(q.pnr.as_deref(), q.phone.as_deref())
        .await?;
    Ok(Json(CounterLookup { orders }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ShiftQuery {
    /// Start of the shift (RFC 3339); default midnight in Dhaka today.
    since: Option<DateTime<Utc>>,
}

#[utoipa::path(get, path = "/v1/counter/shift", tag = "counter", security(("bearer" = [])),
    params(ShiftQuery),
    responses(
        (status = 200, description = "The clerk's cash since `since`", body = ShiftView),
        (status = 403, description = "`forbidden`: clerks and admins only", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn shift(
    State(app): State<App>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ShiftQuery>,
) -> ApiResult<Json<ShiftView>> {
    let clerk = clerk(&caller)?;
    Ok(Json(app.shift(clerk, q.since).await?))
}
