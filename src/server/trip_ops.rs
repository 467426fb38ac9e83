//! Admin operations on whole trips: cancelling a trip, its sale window (or a
//! range of dates' trips), adding a coach or taking one out of sale.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use crate::app::App;
use crate::app::trip_ops::CancelPace;
use crate::app::trip_sale::{SaleTarget, sale_window_change};
use crate::domain::{Role, TripId};
use crate::wire::problem::Problem;
use crate::wire::trip_ops::{
    AddCoachRequest, CoachSaleRequest, SaleWindowChanged, SaleWindowRequest, TripCancelRequest,
    TripCancelled, TripCoachChanged, TripDelayRequest, TripDelayed,
};

use super::auth::Caller;
use super::error::ApiResult;
use super::extract::{ApiJson, ApiPath};

#[utoipa::path(post, path = "/v1/admin/trips/{id}/cancel", tag = "admin", security(("bearer" = [])),
    params(("id" = TripId, Path, description = "The trip")),
    request_body = TripCancelRequest,
    responses(
        (status = 200, description = "The trip is cancelled: confirmed orders refunded in full, holds released (a repeat finishes an interrupted run and refunds nothing twice)", body = TripCancelled),
        (status = 403, description = "`forbidden`: admins only", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: no such trip", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid-input`: no reason given", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn cancel_trip(
    State(app): State<App>,
    caller: Caller,
    ApiPath(id): ApiPath<TripId>,
    ApiJson(b): ApiJson<TripCancelRequest>,
) -> ApiResult<Json<TripCancelled>> {
    caller.require(Role::Admin)?;
    let actor = format!("user {}", caller.id());
    Ok(Json(
        app.cancel_trip(id, &b.reason, &actor, CancelPace::default())
            .await?,
    ))
}

#[utoipa::path(post, path = "/v1/admin/trips/sale-window", tag = "admin", security(("bearer" = [])),
    request_body = SaleWindowRequest,
    responses(
        (status = 200, description = "The sale window of every trip named changed (an Eid wave: a range of dates)", body = SaleWindowChanged),
        (status = 403, description = "`forbidden`: admins only", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: no such trip", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid-input`: a bad action, time, trip or date range", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn sale_window(
    State(app): State<App>,
    caller: Caller,
    ApiJson(b): ApiJson<SaleWindowRequest>,
) -> ApiResult<Json<SaleWindowChanged>> {
    caller.require(Role::Admin)?;
    let target = SaleTarget::parse(b.trip_id, b.from.as_deref(), b.to.as_deref())?;
    let change = sale_window_change(&b.action, b.opens_at.as_deref())?;
    let actor = format!("user {}", caller.id());
    Ok(Json(app.change_sale_window(target, change, &actor).await?))
}

#[utoipa::path(post, path = "/v1/admin/trips/{id}/coaches", tag = "admin", security(("bearer" = [])),
    params(("id" = TripId, Path, description = "The trip")),
    request_body = AddCoachRequest,
    responses(
        (status = 201, description = "The coach is added to this trip and on sale", body = TripCoachChanged),
        (status = 403, description = "`forbidden`: admins only", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: no such trip", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`conflict`: the trip has a coach with this code", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid-input`: a bad code, a class the train does not carry, or a seat count out of range", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn add_coach(
    State(app): State<App>,
    caller: Caller,
    ApiPath(id): ApiPath<TripId>,
    ApiJson(b): ApiJson<AddCoachRequest>,
) -> ApiResult<(StatusCode, Json<TripCoachChanged>)> {
    caller.require(Role::Admin)?;
    let actor = format!("user {}", caller.id());
    let added = app
        .add_trip_coach(id, &b.coach, &b.class, b.seats, &actor)
        .await?;
    Ok((StatusCode::CREATED, Json(added)))
}

#[utoipa::path(post, path = "/v1/admin/trips/{id}/coaches/{coach}/sale", tag = "admin", security(("bearer" = [])),
    params(("id" = TripId, Path, description = "The trip"), ("coach" = String, Path, description = "The coach's code, e.g. KA")),
    request_body = CoachSaleRequest,
    responses(
        (status = 200, description = "The coach is out of sale (no new holds; sold seats untouched) or back on sale", body = TripCoachChanged),
        (status = 403, description = "`forbidden`: admins only", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: no such trip or coach", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn coach_sale(
    State(app): State<App>,
    caller: Caller,
    ApiPath((id, coach)): ApiPath<(TripId, String)>,
    ApiJson(b): ApiJson<CoachSaleRequest>,
) -> ApiResult<Json<TripCoachChanged>> {
    caller.require(Role::Admin)?;
    let actor = format!("user {}", caller.id());
    Ok(Json(
        app.set_coach_on_sale(id, &coach, b.on_sale, &actor).await?,
    ))
}

#[utoipa::path(post, path = "/v1/admin/trips/{id}/delay", tag = "admin", security(("bearer" = [])),
    params(("id" = TripId, Path, description = "The trip")),
    request_body = TripDelayRequest,
    responses(
        (status = 200, description = "The trip is delayed; passengers are told and may cancel with a full refund", body = TripDelayed),
        (status = 403, description = "`forbidden`: admins only", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: no such trip", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid-input`: minutes out of range or no reason", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delay_trip(
    State(app): State<App>,
    caller: Caller,
    ApiPath(id): ApiPath<TripId>,
    ApiJson(b): ApiJson<TripDelayRequest>,
) -> ApiResult<Json<TripDelayed>> {
    caller.require(Role::Admin)?;
    let actor = format!("user {}", caller.id());
    Ok(Json(
        app.delay_trip(id, b.minutes, &b.reason, &actor).await?,
    ))
}
