//! Public catalog endpoints: stations, trains, trip search, trip detail, seat map.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;

use crate::app::App;
use crate::domain::{Role, ServiceDate, TripId};
use crate::store::TrainRecord;
use crate::wire::catalog::{
    SearchResult, SeatMap, StationList, StationView, TrainList, TrainSummary, TripDetail,
};

use super::auth::Caller;
use super::error::{ApiError, ApiResult};
use super::extract::{ApiPath, ApiQuery};

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

pub async fn trains(State(app): State<App>) -> ApiResult<Json<TrainList>> {
    let trains = app.trains().await?.iter().map(train_summary).collect();
    Ok(Json(TrainList { trains }))
}

pub async fn train(
    State(app): State<App>,
    ApiPath(number): ApiPath<u32>,
) -> ApiResult<Json<TrainSummary>> {
    Ok(Json(train_summary(&app.train(number).await?)))
}

#[derive(Deserialize)]
pub struct SearchQuery {
    from: String,
    to: String,
    date: String,
}

pub async fn search(
    State(app): State<App>,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> ApiResult<Json<SearchResult>> {
    let date = ServiceDate::parse(&q.date).map_err(crate::app::AppError::from)?;
    Ok(Json(app.search(&q.from, &q.to, date).await?))
}

pub async fn trip(
    State(app): State<App>,
    ApiPath(id): ApiPath<TripId>,
) -> ApiResult<Json<TripDetail>> {
    Ok(Json(app.trip_detail(id).await?))
}

#[derive(Deserialize)]
pub struct JourneyQuery {
    from: String,
    to: String,
    /// Say whether taken seats are held or sold.
    #[serde(default)]
    detail: bool,
}

/// The plain map (free or taken) is public. The detailed one (held vs sold)
/// shows how a sale is going seat by seat, so it is for clerks and admins:
/// without a token it answers 401, for a passenger 403.
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
