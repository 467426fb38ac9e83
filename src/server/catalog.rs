//! Public catalog endpoints: stations, trains, trip search, trip detail, seat map.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::app::App;
use crate::domain::search::SearchQuery;
use crate::domain::{Role, SeatClass, TripId};
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

/// Query parameters of `GET /v1/trips`, as documented. The handler reads the
/// raw pairs (`class` and `train` repeat) and `domain::search` parses them,
/// so the CLI refuses the same values; the bounds here are the same constants.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct SearchParams {
    /// Station code or name (English or Bangla), e.g. `DHK` or `Dhaka`.
    from: String,
    to: String,
    /// `YYYY-MM-DD`, today or later.
    date: String,
    /// Also search this many days before and after `date` (not before today).
    #[param(minimum = 0, maximum = 7)]
    days: Option<u32>,
    /// Seat classes (repeat the parameter for several): a trip is kept when
    /// one of these classes passes the fare and free-seat filters.
    #[param(max_items = 20)]
    class: Option<Vec<SeatClass>>,
    /// Train numbers (repeat the parameter for several).
    #[param(max_items = 20, inline, value_type = Option<Vec<u32>>)]
    train: Option<Vec<u32>>,
    /// Departs at or after this local time (Asia/Dhaka), `HH:MM`.
    #[param(pattern = r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$")]
    depart_after: Option<String>,
    /// Departs before this local time (`24:00` for the end of the day); later than `depart_after`.
    #[param(pattern = r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$")]
    depart_before: Option<String>,
    /// Arrives at or after this local time, `HH:MM`.
    #[param(pattern = r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$")]
    arrive_after: Option<String>,
    /// Arrives before this local time; later than `arrive_after`.
    #[param(pattern = r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$")]
    arrive_before: Option<String>,
    /// Lowest fare with VAT, whole taka.
    #[param(minimum = 0, maximum = 100000)]
    fare_min: Option<i64>,
    /// Highest fare with VAT, whole taka; not below `fare_min`.
    #[param(minimum = 0, maximum = 100000)]
    fare_max: Option<i64>,
    /// At least this many seats free in the class.
    #[param(minimum = 1, maximum = 10000)]
    min_free: Option<i64>,
    /// `departure` (default), `duration`, `fare` (cheapest class shown) or `seats_free` (summed over the classes shown).
    #[param(pattern = "^(departure|duration|fare|seats_free)$")]
    sort: Option<String>,
    /// `asc` or `desc`; by default `desc` for `seats_free`, else `asc`.
    #[param(pattern = "^(asc|desc)$")]
    order: Option<String>,
}

#[utoipa::path(get, path = "/v1/trips", tag = "catalog", params(SearchParams),
    responses(
        (status = 200, description = "Trips in the date range that stop at both stations in that order, filtered and sorted, with facet counts", body = SearchResult),
        (status = 400, description = "`invalid-query`: the query string cannot be read", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`unknown-station` (with suggestions) or `invalid-field` naming the parameter", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn search(
    State(app): State<App>,
    ApiQuery(pairs): ApiQuery<Vec<(String, String)>>,
) -> ApiResult<Json<SearchResult>> {
    // A missing station or date is a malformed request, as it always was.
    for field in ["from", "to", "date"] {
        if !pairs.iter().any(|(name, _)| name == field) {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid-query",
                "Invalid query parameters",
                format!("missing parameter `{field}`"),
            ));
        }
    }
    let query = SearchQuery::from_pairs(&pairs).map_err(crate::app::AppError::from)?;
    Ok(Json(app.find_trips(&query).await?))
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
