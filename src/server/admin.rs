//! Admin-only endpoints: users and roles, stations, trip scheduling.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::{App, AppError};
use crate::domain::{ParseError, Role, ServiceDate, StationCode, UserId};
use crate::store::{NewStation, Upsert};
use crate::wire::identity::UserView;

use super::auth::Caller;
use super::error::ApiResult;
use super::extract::{ApiJson, ApiPath};

pub async fn users(State(app): State<App>, caller: Caller) -> ApiResult<Json<Value>> {
    caller.require(Role::Admin)?;
    let users: Vec<UserView> = app.users().await?.iter().map(UserView::from).collect();
    Ok(Json(json!({ "users": users })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleBody {
    role: Role,
}

pub async fn set_role(
    State(app): State<App>,
    caller: Caller,
    ApiPath(id): ApiPath<UserId>,
    ApiJson(b): ApiJson<RoleBody>,
) -> ApiResult<Json<UserView>> {
    caller.require(Role::Admin)?;
    app.set_role(id, b.role).await?;
    Ok(Json(UserView::from(&app.user(id).await?)))
}

/// Aliases one station may carry (spellings people type: "Ctg", "Chittagong", …).
const MAX_ALIASES: usize = 20;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StationBody {
    code: String,
    name: String,
    name_bn: Option<String>,
    #[serde(default)]
    aliases: Vec<String>,
}

pub async fn add_station(
    State(app): State<App>,
    caller: Caller,
    ApiJson(b): ApiJson<StationBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
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
    let status = if result == Upsert::Inserted {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let station = app.station(code.as_str()).await?;
    Ok((
        status,
        Json(
            json!({ "station": crate::wire::catalog::StationView::from(&station), "result": format!("{result:?}").to_lowercase() }),
        ),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TripBody {
    train: u32,
    date: String,
}

pub async fn schedule_trip(
    State(app): State<App>,
    caller: Caller,
    ApiJson(b): ApiJson<TripBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require(Role::Admin)?;
    let date = ServiceDate::parse(&b.date).map_err(AppError::from)?;
    let id = app.schedule_trip(b.train, date).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "trip_id": id, "train": b.train, "date": date.to_string() })),
    ))
}
