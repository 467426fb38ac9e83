//! Which queued sale a trip is in, for clients that send passengers to the
//! waiting room before they try to buy (the web app), rather than waiting
//! for a refused hold.

use super::Queue;
use crate::app::AppResult;
use crate::domain::TripId;

impl Queue {
    /// The id of the queued sale `trip` is in, if it is in one.
    pub async fn sale_of(&self, trip: TripId) -> AppResult<Option<String>> {
        Ok(self
            .directory
            .sale_of_trip(trip)
            .await?
            .map(|sale| sale.settings.id.clone()))
    }
}
