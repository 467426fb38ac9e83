//! Public catalog endpoints: stations, trains, trip search, trip detail, seat map.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::app::catalog::{SearchResult, SeatMap, StationView, TripDetail};
use crate::domain::{Role, ServiceDate, TripId};
use crate::store::TrainRecord;

use super::auth::Caller;
use super::error::{ApiError, ApiResult};
use super::extract::{ApiPath, ApiQuery};

#[derive(Serialize)]
pub struct StationList {
    stations: Vec<StationView>,
}

pub async fn stations(State(app): State<App>) -> ApiResult<Json<StationList>> {
    let stations = app
        .stations()
        .await?
        .iter()
        .map(StationView::from)
        .collect();
    Ok(Json(StationList { stations }))
}

#[derive(Serialize)]
pub struct TrainSummary {
    number: u32,
    name: String,
    name_bn: Option<String>,
    from: String,
    to: String,
    departs: String,
    arrives: String,
    runs_on: Vec<&'static str>,
    off_days: Vec<&'static str>,
    stops: usize,
    seats: u32,
}

impl From<&TrainRecord> for TrainSummary {
    fn from(r: &TrainRecord) -> Self {
        let t = &r.train;
        let (first, last) = (&t.stops[0], &t.stops[t.stops.len() - 1]);
        TrainSummary {
            number: t.number,
            name: t.name.clone(),
            name_bn: t.name_bn.clone(),
            from: first.station.to_string(),
            to: last.station.to_string(),
            departs: first.boards_at().to_string(),
            arrives: last.alights_at().to_string(),
            runs_on: t.runs_on.names(),
            off_days: t.runs_on.off_days(),
            stops: t.stops.len(),
            seats: t.seat_count(),
        }
    }
}

#[derive(Serialize)]
pub struct TrainList {
    trains: Vec<TrainSummary>,
}

pub async fn trains(State(app): State<App>) -> ApiResult<Json<TrainList>> {
    let trains = app.trains().await?.iter().map(TrainSummary::from).collect();
    Ok(Json(TrainList { trains }))
}

pub async fn train(
    State(app): State<App>,
    ApiPath(number): ApiPath<u32>,
) -> ApiResult<Json<TrainSummary>> {
    Ok(Json(TrainSummary::from(&app.train(number).await?)))
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
