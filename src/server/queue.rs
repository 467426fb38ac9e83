//! Waiting-room endpoints: join, status and leave for passengers; create and
//! live control (pause, resume, rate) for admins.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use crate::app::App;
use crate::app::queue::SaleSettings;
use crate::domain::Role;
use crate::domain::waiting_room::SaleControl;
use crate::wire::queue::QueueStatus;

use super::auth::Caller;
use super::error::ApiResult;
use super::extract::{ApiJson, ApiPath};

pub async fn join(
    State(app): State<App>,
    caller: Caller,
    ApiPath(sale): ApiPath<String>,
) -> ApiResult<Json<QueueStatus>> {
    let status = app.waiting_room().join(&sale, caller.id()).await?;
    Ok(Json(status))
}

pub async fn status(
    State(app): State<App>,
    caller: Caller,
    ApiPath(sale): ApiPath<String>,
) -> ApiResult<Json<QueueStatus>> {
    let status = app.waiting_room().status(&sale, caller.id()).await?;
    Ok(Json(status))
}

pub async fn leave(
    State(app): State<App>,
    caller: Caller,
    ApiPath(sale): ApiPath<String>,
) -> ApiResult<StatusCode> {
    app.waiting_room().leave(&sale, caller.id()).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn create(
    State(app): State<App>,
    caller: Caller,
    ApiJson(settings): ApiJson<SaleSettings>,
) -> ApiResult<StatusCode> {
    caller.require(Role::Admin)?;
    app.waiting_room().create(settings).await?;
    Ok(StatusCode::CREATED)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Control {
    paused: Option<bool>,
    rate_per_sec: Option<f64>,
    max_active: Option<usize>,
}

pub async fn control(
    State(app): State<App>,
    caller: Caller,
    ApiPath(sale): ApiPath<String>,
    ApiJson(c): ApiJson<Control>,
) -> ApiResult<StatusCode> {
    caller.require(Role::Admin)?;
    let change = SaleControl {
        paused: c.paused,
        rate_per_sec: c.rate_per_sec,
        max_active: c.max_active,
    };
    app.waiting_room().control(&sale, change).await?;
    Ok(StatusCode::NO_CONTENT)
}
