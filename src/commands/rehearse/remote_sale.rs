//! The queued sale on running servers: an admin logs in and creates it
//! through the API (`POST /v1/admin/queue`) for the trips of the day that the
//! corridor's searches find, so a rehearsal of several processes goes through
//! the waiting room they share (in Redis).

use anyhow::{Context, bail};
use std::collections::BTreeSet;

use crate::domain::waiting_room::SaleSettings;
use crate::domain::{ServiceDate, TripId};
use crate::rehearse::QueuePlan;
use crate::wire::catalog::SearchResult;
use crate::wire::identity::{LoginRequest, TokenPair};

use super::config::{AdminLogin, RoomPlan};
use super::setup::journeys;

/// Logs the admin in and queues `date`'s trips of the corridor, opening
/// `opens_in` from now.
pub(super) async fn queue_the_sale(
    base: &str,
    admin: &AdminLogin,
    date: ServiceDate,
    room: &RoomPlan,
    opens_in: std::time::Duration,
) -> anyhow::Result<QueuePlan> {
    let client = reqwest::Client::new();
    let login = LoginRequest {
        login: admin.email.clone(),
        password: admin.password.clone(),
        totp: None,
    };
    let reply = client
        .post(format!("{base}/v1/auth/login"))
        .json(&login)
        .send()
        .await?;
    if !reply.status().is_success() {
        bail!(
            "the admin login on {base} was refused ({}): {}",
            reply.status(),
            reply.text().await.unwrap_or_default()
        );
    }
    let token = reply
        .json::<TokenPair>()
        .await
        .context("reading the admin's login")?
        .access_token;
    let trip_ids = corridor_trips(&client, base, date).await?;
    if trip_ids.is_empty() {
        bail!("{base} has no trips on {date} for the rehearsal's journeys: seed them first");
    }
    // A name of its own, so a second rehearsal on the same servers does not
    // meet the first one's queue.
    let id = format!("rehearsal-{date}-{:08x}", rand::random::<u32>());
    let settings = SaleSettings {
        id: id.clone(),
        opens_at: chrono::Utc::now() + chrono::Duration::from_std(opens_in)?,
        trip_ids: trip_ids.into_iter().collect(),
        rate_per_sec: room.admit_rate,
        max_active: room.max_active,
        idle_secs: 120,
    };
    let reply = client
        .post(format!("{base}/v1/admin/queue"))
        .bearer_auth(&token)
        .json(&settings)
        .send()
        .await?;
    if !reply.status().is_success() {
        bail!(
            "creating the queued sale on {base} failed ({}): {}",
            reply.status(),
            reply.text().await.unwrap_or_default()
        );
    }
    eprintln!(
        "queued sale {id} created for {} trips, opening in {:.1} s",
        settings.trip_ids.len(),
        opens_in.as_secs_f64()
    );
    Ok(QueuePlan {
        sale: id,
        poll: room.poll,
        give_up_after: std::time::Duration::from_secs(600),
    })
}

/// Every trip on `date` that one of the rehearsal's journeys finds.
async fn corridor_trips(
    client: &reqwest::Client,
    base: &str,
    date: ServiceDate,
) -> anyhow::Result<BTreeSet<TripId>> {
    let mut trips = BTreeSet::new();
    for (from, to, _) in journeys() {
        let found: SearchResult = client
            .get(format!("{base}/v1/trips?from={from}&to={to}&date={date}"))
            .send()
            .await?
            .error_for_status()
            .with_context(|| format!("searching {from} → {to} on {base}"))?
            .json()
            .await?;
        trips.extend(found.trips.into_iter().map(|t| t.trip_id));
    }
    Ok(trips)
}
