//! Counter endpoints for station clerks (`ticketctl tui`): hold and sell for
//! cash, cancel with a cash refund, look up by PNR or phone, reprint, and the
//! shift's cash. Every one needs the clerk (or admin) role.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::app::App;
use crate::domain::{OrderId, Role, UserId};
use crate::wire::booking::{HoldRequest, HoldView};
use crate::wire::counter::{
    CounterCancelView, CounterLookup, CounterOrderRequest, CounterOrderView, ShiftView,
};

use super::auth::Caller;
use super::booking::{answer_order, idempotency_key};
use super::error::{ApiResult, render_order_outcome};
use super::extract::{ApiJson, ApiPath, ApiQuery};

/// The caller's id, once they are known to be a clerk or an admin.
fn clerk(caller: &Caller) -> ApiResult<UserId> {
    caller.require(Role::Clerk)?;
    Ok(caller.id())
}

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

pub async fn cancel(
    State(app): State<App>,
    caller: Caller,
    ApiPath(id): ApiPath<OrderId>,
) -> ApiResult<Json<CounterCancelView>> {
    let clerk = clerk(&caller)?;
    Ok(Json(app.counter_cancel(clerk, id).await?))
}

pub async fn order(
    State(app): State<App>,
    caller: Caller,
    ApiPath(id): ApiPath<OrderId>,
) -> ApiResult<Json<CounterOrderView>> {
    clerk(&caller)?;
    Ok(Json(app.counter_order_detail(id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LookupQuery {
    pnr: Option<String>,
    phone: Option<String>,
}

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShiftQuery {
    /// Start of the shift (RFC 3339); default midnight in Dhaka today.
    since: Option<DateTime<Utc>>,
}

pub async fn shift(
    State(app): State<App>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ShiftQuery>,
) -> ApiResult<Json<ShiftView>> {
    let clerk = clerk(&caller)?;
    Ok(Json(app.shift(clerk, q.since).await?))
}
