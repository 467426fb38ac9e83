//! Storage for the timetable: stations, trains with their stops and coaches,
//! fares, trips and their seat inventory.

use super::{
    FareRow, FreeCount, NewStation, NewTrip, StoreResult, TrainRecord, TripRecord, Upsert,
};
use crate::domain::{
    Fare, FareRate, Seat, SeatClass, SegmentMask, ServiceDate, StationCode, Train, TripId,
};
use async_trait::async_trait;

#[async_trait]
pub trait CatalogStore: Send + Sync {
    async fn upsert_station(&self, station: &NewStation) -> StoreResult<Upsert>;

    async fn list_stations(&self) -> StoreResult<Vec<crate::domain::Station>>;

    /// Inserts or updates a train with its stops and coaches. Refuses to change the
    /// stops of a train that already has trips (their seat masks index those stops).
    async fn upsert_train(&self, train: &Train) -> StoreResult<Upsert>;

    async fn list_trains(&self) -> StoreResult<Vec<TrainRecord>>;

    async fn train_by_number(&self, number: u32) -> StoreResult<Option<TrainRecord>>;

    /// Returns how many fare rows were inserted or changed.
    async fn upsert_fares(&self, fares: &[FareRow]) -> StoreResult<usize>;

    async fn upsert_fare_rates(&self, rates: &[(SeatClass, FareRate)]) -> StoreResult<usize>;

    async fn fares_between(
        &self,
        from: &StationCode,
        to: &StationCode,
    ) -> StoreResult<Vec<(SeatClass, Fare)>>;

    async fn fare_rates(&self) -> StoreResult<Vec<(SeatClass, FareRate)>>;

    /// Creates a trip and its seat inventory from the train's coaches.
    /// Returns `None` when the train already has a trip on that date.
    async fn create_trip(&self, trip: &NewTrip) -> StoreResult<Option<TripId>>;

    async fn trip(&self, id: TripId) -> StoreResult<Option<TripRecord>>;

    /// Trips whose service date is within `first..=last`, ordered by date and train number.
    async fn trips_between(
        &self,
        first: ServiceDate,
        last: ServiceDate,
    ) -> StoreResult<Vec<TripRecord>>;

    /// Per trip and class, the number of seats free for the given journey mask.
    async fn free_seat_counts(
        &self,
        journeys: &[(TripId, SegmentMask)],
    ) -> StoreResult<Vec<FreeCount>>;

    async fn seats(&self, trip_id: TripId) -> StoreResult<Vec<Seat>>;
}
