//! Catalog bodies: stations, trains, trip search, trip detail and seat maps.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::trip::SaleState;
use crate::domain::{SeatClass, TripId};

/// A station as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StationView {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub name_bn: Option<String>,
}

/// `GET /v1/stations`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StationList {
    pub stations: Vec<StationView>,
}

/// A train as `GET /v1/trains` lists it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TrainSummary {
    pub number: u32,
    pub name: String,
    pub name_bn: Option<String>,
    pub from: String,
    pub to: String,
    pub departs: String,
    pub arrives: String,
    pub runs_on: Vec<String>,
    pub off_days: Vec<String>,
    pub stops: usize,
    pub seats: u32,
}

/// `GET /v1/trains`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TrainList {
    pub trains: Vec<TrainSummary>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TrainRef {
    pub number: u32,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ClassOffer {
    pub class: SeatClass,
    pub fare: i64,
    pub vat: i64,
    pub total: i64,
    /// Seats free for exactly this journey.
    pub seats_free: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TripOption {
    pub trip_id: TripId,
    pub train: TrainRef,
    pub service_date: String,
    pub departs: String,
    pub arrives: String,
    pub duration_minutes: i64,
    pub distance_km: u32,
    pub sale: SaleView,
    pub classes: Vec<ClassOffer>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SaleView {
    pub state: SaleState,
    pub opens_at: String,
}

/// `GET /v1/trips?from&to&date` and the filters (see `FacetValue` for the counts).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SearchResult {
    pub from: StationView,
    pub to: StationView,
    /// The date asked for.
    pub date: String,
    /// The dates searched: `date` ± `days`, from today at the earliest.
    #[serde(default)]
    pub first_date: String,
    #[serde(default)]
    pub last_date: String,
    /// In the order asked for (`sort`, `order`); earliest departure first by default.
    pub trips: Vec<TripOption>,
    #[serde(default)]
    pub facets: Facets,
}

/// Per facet, each value with the number of trips it would return. Each
/// facet's counts apply every filter but its own (choosing one value of a
/// facet returns exactly its count); `date` counts the trips returned.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Facets {
    /// Seat classes offered by any trip on the route, e.g. `S_CHAIR`.
    pub class: Vec<FacetValue>,
    /// Train numbers running the route, with the train's name as `label`.
    pub train: Vec<FacetValue>,
    /// Departure time bands (Asia/Dhaka), e.g. `06:00-12:00`.
    pub departure: Vec<FacetValue>,
    /// Arrival time bands (Asia/Dhaka).
    pub arrival: Vec<FacetValue>,
    /// Boarding dates (`YYYY-MM-DD`) with trips.
    pub date: Vec<FacetValue>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FacetValue {
    /// The value as the filter takes it (`class=S_CHAIR`, `train=701`), or a band / date.
    pub value: String,
    /// A name to show beside the value (trains), else null.
    pub label: Option<String>,
    pub count: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StopView {
    pub station: StationView,
    pub arrives: Option<String>,
    pub departs: Option<String>,
    pub km: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CoachView {
    pub code: String,
    pub class: SeatClass,
    pub seats: u32,
    pub layout: String,
}

/// `GET /v1/trips/{id}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TripDetail {
    pub trip_id: TripId,
    pub train: TrainRef,
    pub service_date: String,
    pub sale_opens_at: String,
    pub stops: Vec<StopView>,
    pub coaches: Vec<CoachView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SeatView {
    pub seat: String,
    pub number: u32,
    pub free: bool,
    /// Why a seat is not free, when asked for (`detail=true`): clerks see held
    /// seats (someone is paying, or may let go) apart from sold ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<SeatState>,
}

impl SeatView {
    /// The seat's state: as sent with `detail=true`, otherwise free or sold.
    pub fn state(&self) -> SeatState {
        self.state.unwrap_or(if self.free {
            SeatState::Free
        } else {
            SeatState::Sold
        })
    }
}

/// A seat's state for one journey.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SeatState {
    Free,
    /// Taken only by holds that are not sold (yet).
    Held,
    Sold,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CoachSeats {
    pub code: String,
    pub class: SeatClass,
    pub layout: String,
    pub free: usize,
    pub seats: Vec<SeatView>,
}

/// `GET /v1/trips/{id}/seats?from&to`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SeatMap {
    pub trip_id: TripId,
    pub train: TrainRef,
    pub from: StationView,
    pub to: StationView,
    pub coaches: Vec<CoachSeats>,
}
