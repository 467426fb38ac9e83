//! Public catalog endpoints: stations, trains, trip search, trip detail, seat map.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::app::App;
use crate::domain::{Role, ServiceDate, TripId};
use crate::store::TrainRecord;
use crate::wire::catalog::{
    SearchResult, SeatMap, StationList, StationView, TrainList, TrainSummary, TripDetail,
};
use crate::wire::problem::Problem;

use super::auth::Caller;
use super::error::{ApiError, ApiResult};
use super::extract::{ApiPath, ApiQuery};

#[utoipa::path(get, path = "/v1/stations", tag = "catalog",
    responses((status = 200, description = "Every station, by code", body = StationList)))]
pub async fn stations(State(app): State<App>) -> ApiResult<Json<StationList>> {
    let stations = app
        .stations()
        .await?
        .iter()
        .map(StationView::from)
        .collect();
    Ok(Json(StationList { stations }))
}

/// How the list of trains shows one (the wire's shape, from the store's record).
fn train_summary(r: &TrainRecord) -> TrainSummary {
    let t = &r.train;
    let (first, last) = (&t.stops[0], &t.stops[t.stops.len() - 1]);
    let words = |days: Vec<&'static str>| days.into_iter().map(String::from).collect();
    TrainSummary {
        number: t.number,
        name: t.name.clone(),
        name_bn: t.name_bn.clone(),
        from: first.station.to_string(),
        to: last.station.to_string(),
        departs: first.boards_at().to_string(),
        arrives: last.alights_at().to_string(),
        runs_on: words(t.runs_on.names()),
        off_days: words(t.runs_on.off_days()),
        stops: t.stops.len(),
        seats: t.seat_count(),
    }
}

#[utoipa::path(get, path = "/v1/trains", tag = "catalog",
    responses((status = 200, description = "Every train with its route and running days", body = TrainList)))]
pub async fn trains(State(app): State<App>) -> ApiResult<Json<TrainList>> {
    let trains = app.trains().await?.iter().map(train_summary).collect();
    Ok(Json(TrainList { trains }))
}

#[utoipa::path(get, path = "/v1/trains/{number}", tag = "catalog",
    params(("number" = u32, Path, description = "The train's number, e.g. 701")),
    responses(
        (status = 200, description = "The train", body = TrainSummary),
        (status = 404, description = "`not-found`: no such train", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn train(
    State(app): State<App>,
    ApiPath(number): ApiPath<u32>,
) -> ApiResult<Json<TrainSummary>> {
    Ok(Json(train_summary(&app.train(number).await?)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Station code or name (English or Bangla), e.g. `DHK` or `Dhaka`.
    from: String,
    to: String,
    /// `YYYY-MM-DD`.
    date: String,
}

#[utoipa::path(get, path = "/v1/trips", tag = "catalog", params(SearchQuery),
    responses(
        (status = 200, description = "Trips on that date that stop at both stations in that order", body = SearchResult),
        (status = 422, description = "`unknown-station` (with suggestions) or `invalid-field` (the date)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn search(
    State(app): State<App>,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> ApiResult<Json<SearchResult>> {
    let date = ServiceDate::parse(&q.date).map_err(crate::app::AppError::from)?;
    Ok(Json(app.search(&q.from, &q.to, date).await?))
}

#[utoipa::path(get, path = "/v1/trips/{id}", tag = "catalog",
    params(("id" = TripId, Path, description = "The trip")),
    responses(
        (status = 200, description = "The trip's stops and coaches", body = TripDetail),
        (status = 404, description = "`not-found`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn trip(
    State(app): State<App>,
    ApiPath(id): ApiPath<TripId>,
) -> ApiResult<Json<TripDetail>> {
    Ok(Json(app.trip_detail(id).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JourneyQuery {
    /// Where the journey starts (code or name).
    from: String,
    to: String,
    /// Say whether taken seats are held or sold.
    #[serde(default)]
    detail: bool,
}

/// The plain map (free or taken) is public. The detailed one (held vs sold)
/// shows how a sale is going seat by seat, so it is for clerks and admins:
/// without a token it answers 401, for a passenger 403.
#[utoipa::path(get, path = "/v1/trips/{id}/seats", tag = "catalog",
    params(("id" = TripId, Path, description = "The trip"), JourneyQuery),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "Every seat, free or taken for this journey", body = SeatMap),
        (status = 401, description = "`unauthorized`: `detail=true` without a valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: `detail=true` needs a clerk or admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`unknown-station` or `invalid-field` (the stations are not on this trip in that order)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn seats(
    State(app): State<App>,
    caller: Result<Caller, ApiError>,
    ApiPath(id): ApiPath<TripId>,
    ApiQuery(q): ApiQuery<JourneyQuery>,
) -> ApiResult<Json<SeatMap>> {
    if q.detail {
        caller?.require(Role::Clerk)?;
    }
    Ok(Json(app.seat_map(id, &q.from, &q.to, q.detail).await?))
}
