//! Runs the app's effects: each HTTP call in its own task, its reply sent back
//! as a message; the trip's live stream in a task that reconnects with a
//! backoff and reports the connection going down and coming back.

use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

use super::app::{Call, Effect, Msg, Reply};
use super::client::{Client, ClientError};
use crate::domain::TripId;

/// Performs one call and turns its outcome into the reply for `update`.
/// `Watch`, `Unwatch` and `Quit` are the driver's own business, not calls.
pub async fn perform(client: &Client, effect: Effect) -> Option<Reply> {
    fn done<T>(what: Call, r: Result<T, ClientError>, ok: impl FnOnce(T) -> Reply) -> Reply {
        match r {
            Ok(v) => ok(v),
            Err(error) => Reply::Failed { what, error },
        }
    }
    Some(match effect {
        Effect::Login {
            login,
            password,
            totp,
        } => done(
            Call::Login,
            client.login(&login, &password, totp.as_deref()).await,
            Reply::LoggedIn,
        ),
        Effect::LoadStations => done(Call::Stations, client.stations().await, Reply::Stations),
        Effect::Search { from, to, date } => done(
            Call::Search,
            client.search(&from, &to, &date).await,
            Reply::Searched,
        ),
        Effect::LoadSeats { trip, from, to } => done(
            Call::Seats,
            client.seat_map(trip, &from, &to).await,
            Reply::Seats,
        ),
        Effect::Hold {
            trip,
            from,
            to,
            class,
            seats,
        } => done(
            Call::Hold,
            client.hold(trip, &from, &to, class, &seats).await,
            Reply::Held,
        ),
        Effect::Release { hold } => done(Call::Release, client.release(hold).await, |_| {
            Reply::Released
        }),
        Effect::Sell {
            hold,
            passengers,
            phone,
            buyer_nid,
            key,
        } => done(
            Call::Sell,
            client
                .sell(hold, &passengers, &phone, &buyer_nid, &key)
                .await,
            Reply::Sold,
        ),
        Effect::Lookup { query } => done(Call::Lookup, client.lookup(&query).await, Reply::Found),
        Effect::Cancel { order } => {
            done(Call::Cancel, client.cancel(order).await, Reply::Cancelled)
        }
        Effect::LoadShift => done(Call::Shift, client.shift().await, Reply::Shift),
        Effect::Print { path, text } => match tokio::fs::write(&path, text).await {
            Ok(()) => Reply::Printed(path.display().to_string()),
            Err(e) => Reply::Failed {
                what: Call::Print,
                error: ClientError::Api(Box::new(super::wire::Problem {
                    detail: format!("cannot write {}: {e}", path.display()),
                    ..Default::default()
                })),
            },
        },
        Effect::Watch { .. } | Effect::Unwatch | Effect::Quit => return None,
    })
}

pub struct Driver {
    client: Arc<Client>,
    tx: UnboundedSender<Msg>,
    live: Option<JoinHandle<()>>,
}

impl Driver {
    pub fn new(client: Arc<Client>, tx: UnboundedSender<Msg>) -> Self {
        Driver {
            client,
            tx,
            live: None,
        }
    }

    /// Starts an effect; false when it asks to quit.
    pub fn run(&mut self, effect: Effect) -> bool {
        match effect {
            Effect::Quit => return false,
            Effect::Unwatch => {
                if let Some(task) = self.live.take() {
                    task.abort();
                }
            }
            Effect::Watch { trip } => {
                if let Some(task) = self.live.take() {
                    task.abort();
                }
                self.live = Some(tokio::spawn(follow(
                    self.client.clone(),
                    self.tx.clone(),
                    trip,
                )));
            }
            other => {
                let (client, tx) = (self.client.clone(), self.tx.clone());
                tokio::spawn(async move {
                    if let Some(reply) = perform(&client, other).await {
                        let _ = tx.send(Msg::Reply(Box::new(reply)));
                    }
                });
            }
        }
        true
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(task) = self.live.take() {
            task.abort();
        }
    }
}

/// Follows a trip's live stream for as long as the seat map is open.
async fn follow(client: Arc<Client>, tx: UnboundedSender<Msg>, trip: TripId) {
    let mut backoff = Duration::from_millis(500);
    loop {
        let mut first = true;
        let result = client
            .follow_trip(trip, || {
                if first {
                    first = false;
                    let _ = tx.send(Msg::Connection(true));
                }
                let _ = tx.send(Msg::SeatsChanged { trip });
            })
            .await;
        if !first {
            backoff = Duration::from_millis(500);
        }
        if let Err(e) = result {
            tracing::debug!(error = %e, "live stream broke");
        }
        if tx.send(Msg::Connection(false)).is_err() {
            return;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}
