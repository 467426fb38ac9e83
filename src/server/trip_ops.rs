//! Admin operations on whole trips: cancelling a trip.

use axum::Json;
use axum::extract::State;

use crate::app::App;
use crate::app::trip_ops::CancelPace;
use crate::domain::{Role, TripId};
use crate::wire::problem::Problem;
use crate::wire::trip_ops::{TripCancelRequest, TripCancelled};

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
