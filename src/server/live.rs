//! `GET /v1/trips/{id}/live`: Server-Sent Events telling a seat map to refresh.
//!
//! Each event carries the trip's inventory version; clients re-read the seat
//! map for their own journey. The stream lives outside the request deadline
//! and in-flight limit (it is long by design); the app caps open streams.

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use std::convert::Infallible;

use crate::app::App;

use super::error::ApiResult;
use super::extract::ApiPath;

pub async fn trip_live(
    State(app): State<App>,
    ApiPath(trip_id): ApiPath<i64>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let watch = app.watch_trip(trip_id).await?;
    // The first event goes out at once, so a client knows it is connected.
    let events = futures_util::stream::unfold((watch, true), move |(mut w, first)| async move {
        if !first {
            w.versions.changed().await.ok()?;
        }
        let version = *w.versions.borrow_and_update();
        let event = Event::default()
            .event("seats")
            .data(format!(r#"{{"trip_id":{trip_id},"version":{version}}}"#));
        Some((Ok::<_, Infallible>(event), (w, false)))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}
