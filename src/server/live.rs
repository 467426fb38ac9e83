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
    let mut watch = app.watch_trip(trip_id).await?;
    let first = watch.version();
    // The first event goes out at once, so a client knows it is connected;
    // the stream ends when the server stops.
    let events =
        futures_util::stream::unfold((watch, Some(first)), move |(mut w, now)| async move {
            let version = match now {
                Some(v) => v,
                None => w.changed().await?,
            };
            let event = Event::default()
                .event("seats")
                .data(format!(r#"{{"trip_id":{trip_id},"version":{version}}}"#));
            Some((Ok::<_, Infallible>(event), (w, None)))
        });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}
