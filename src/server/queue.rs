//! Waiting-room endpoints: join, status and leave for passengers; create and
//! live control (pause, resume, rate) for admins.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use crate::app::App;
use crate::app::queue::SaleSettings;
use crate::domain::Role;
use crate::domain::waiting_room::SaleControl;
use crate::wire::admin::QueueControl;
use crate::wire::problem::Problem;
use crate::wire::queue::QueueStatus;

use super::auth::Caller;
use super::error::ApiResult;
use super::extract::{ApiJson, ApiPath};

#[utoipa::path(post, path = "/v1/queue/{sale}/join", tag = "queue", security(("bearer" = [])),
    params(("sale" = String, Path, description = "The queued sale's id")),
    responses(
        (status = 200, description = "The caller's place: pre-queue, waiting, or admitted with a token", body = QueueStatus),
        (status = 404, description = "`not-found`: no such sale", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`conflict`: the sale is over", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`unavailable`: the waiting room's store does not answer (fails closed, `Retry-After`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn join(
    State(app): State<App>,
    caller: Caller,
    ApiPath(sale): ApiPath<String>,
) -> ApiResult<Json<QueueStatus>> {
    let status = app.waiting_room().join(&sale, caller.id()).await?;
    Ok(Json(status))
}

#[utoipa::path(get, path = "/v1/queue/{sale}/status", tag = "queue", security(("bearer" = [])),
    params(("sale" = String, Path, description = "The queued sale's id")),
    responses(
        (status = 200, description = "The caller's place; ask again after `poll_after_secs`", body = QueueStatus),
        (status = 404, description = "`not-found`: no such sale, or the caller has not joined", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`unavailable` (`Retry-After`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn status(
    State(app): State<App>,
    caller: Caller,
    ApiPath(sale): ApiPath<String>,
) -> ApiResult<Json<QueueStatus>> {
    let status = app.waiting_room().status(&sale, caller.id()).await?;
    Ok(Json(status))
}

#[utoipa::path(delete, path = "/v1/queue/{sale}", tag = "queue", security(("bearer" = [])),
    params(("sale" = String, Path, description = "The queued sale's id")),
    responses(
        (status = 204, description = "Left the queue (or the admitted slot)"),
        (status = 404, description = "`not-found`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`unavailable` (`Retry-After`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn leave(
    State(app): State<App>,
    caller: Caller,
    ApiPath(sale): ApiPath<String>,
) -> ApiResult<StatusCode> {
    app.waiting_room().leave(&sale, caller.id()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/v1/admin/queue", tag = "queue", security(("bearer" = [])),
    request_body = SaleSettings,
    responses(
        (status = 201, description = "The sale is queued: its trips sell only to admitted users"),
        (status = 403, description = "`forbidden`: admins only", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: a trip does not exist", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`conflict`: a sale with this id exists", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`unavailable` (`Retry-After`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(app): State<App>,
    caller: Caller,
    ApiJson(settings): ApiJson<SaleSettings>,
) -> ApiResult<StatusCode> {
    caller.require(Role::Admin)?;
    app.waiting_room().create(settings).await?;
    Ok(StatusCode::CREATED)
}

#[utoipa::path(post, path = "/v1/admin/queue/{sale}", tag = "queue", security(("bearer" = [])),
    params(("sale" = String, Path, description = "The queued sale's id")),
    request_body = QueueControl,
    responses(
        (status = 204, description = "Changed"),
        (status = 403, description = "`forbidden`: admins only", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: no such sale", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`unavailable` (`Retry-After`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn control(
    State(app): State<App>,
    caller: Caller,
    ApiPath(sale): ApiPath<String>,
    ApiJson(c): ApiJson<QueueControl>,
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
