//! Admin-only endpoints: users and roles, stations, trip scheduling.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use crate::app::{App, AppError};
use crate::domain::{ParseError, Role, ServiceDate, StationCode, UserId};
use crate::store::{NewStation, Upsert};
use crate::wire::admin::{
    RoleRequest, StationChange, StationRequest, StationSaved, TripRequest, TripScheduled, UserList,
};
use crate::wire::catalog::StationView;
use crate::wire::identity::UserView;
use crate::wire::problem::Problem;

use super::auth::Caller;
use super::error::ApiResult;
use super::extract::{ApiJson, ApiPath};

#[utoipa::path(get, path = "/v1/admin/users", tag = "admin", security(("bearer" = [])),
    responses(
        (status = 200, description = "Every account", body = UserList),
        (status = 403, description = "`forbidden`: admins only", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn users(State(app): State<App>, caller: Caller) -> ApiResult<Json<UserList>> {
    caller.require(Role::Admin)?;
    let users = app.users().await?.iter().map(UserView::from).collect();
    Ok(Json(UserList { users }))
}

#[utoipa::path(put, path = "/v1/admin/users/{id}/role", tag = "admin", security(("bearer" = [])),
    params(("id" = UserId, Path, description = "The user")),
    request_body = RoleRequest,
    responses(
        (status = 200, description = "The user with the new role", body = UserView),
        (status = 403, description = "`forbidden`: admins only", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn set_role(
    State(app): State<App>,
    caller: Caller,
    ApiPath(id): ApiPath<UserId>,
    ApiJson(b): ApiJson<RoleRequest>,
) -> ApiResult<Json<UserView>> {
    caller.require(Role::Admin)?;
    app.set_role(id, b.role).await?;
    Ok(Json(UserView::from(&app.user(id).await?)))
}

/// Aliases one station may carry (spellings people type: "Ctg", "Chittagong", …).
const MAX_ALIASES: usize = 20;

#[utoipa::path(post, path = "/v1/admin/stations", tag = "admin", security(("bearer" = [])),
    request_body = StationRequest,
    responses(
        (status = 201, description = "Added", body = StationSaved),
        (status = 200, description = "A station with this code existed: updated or unchanged", body = StationSaved),
        (status = 403, description = "`forbidden`: admins only", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`conflict`: a name or alias belongs to another station", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn add_station(
    State(app): State<App>,
    caller: Caller,
    ApiJson(b): ApiJson<StationRequest>,
) -> ApiResult<(StatusCode, Json<StationSaved>)> {
    caller.require(Role::Admin)?;
    let code = StationCode::parse(&b.code).map_err(AppError::from)?;
    if b.aliases.len() > MAX_ALIASES {
        return Err(AppError::from(ParseError::new(
            "aliases",
            format!("a station has at most {MAX_ALIASES} aliases"),
        ))
        .into());
    }
    let result = app
        .add_station(NewStation {
            code: code.clone(),
            name_en: b.name.trim().to_owned(),
            name_bn: b.name_bn,
            aliases: b.aliases,
        })
        .await?;
    let (status, result) = match result {
        Upsert::Inserted => (StatusCode::CREATED, StationChange::Inserted),
        Upsert::Updated => (StatusCode::OK, StationChange::Updated),
        Upsert::Unchanged => (StatusCode::OK, StationChange::Unchanged),
    };
    let station = app.station(code.as_str()).await?;
    Ok((
        status,
        Json(StationSaved {
            station: StationView::from(&station),
            result,
        }),
    ))
}

#[utoipa::path(post, path = "/v1/admin/trips", tag = "admin", security(("bearer" = [])),
    request_body = TripRequest,
    responses(
        (status = 201, description = "The trip (scheduling one that exists returns it)", body = TripScheduled),
        (status = 403, description = "`forbidden`: admins only", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: no such train", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`conflict`: the train does not run that day", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn schedule_trip(
    State(app): State<App>,
    caller: Caller,
    ApiJson(b): ApiJson<TripRequest>,
) -> ApiResult<(StatusCode, Json<TripScheduled>)> {
    caller.require(Role::Admin)?;
    let date = ServiceDate::parse(&b.date).map_err(AppError::from)?;
    let trip_id = app.schedule_trip(b.train, date).await?;
    Ok((
        StatusCode::CREATED,
        Json(TripScheduled {
            trip_id,
            train: b.train,
            date: date.to_string(),
        }),
    ))
}
