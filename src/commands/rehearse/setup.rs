//! Setting the stage: the embedded server's database and settings, the crowd's
//! accounts and journeys, and the queued sale they rush.

use crate::wire::identity::{LoginRequest, RegisterRequest, TokenPair};
use anyhow::Context;
use std::collections::BTreeMap;

use crate::app::{App, AppConfig};
use crate::domain::{ServiceDate, TrainId};
use crate::rehearse::QueuePlan;

use super::config::RoomPlan;

/// Production limits, except per address: every simulated passenger comes from 127.0.0.1.
pub(super) fn rehearsal_limits() -> crate::server::Limits {
    crate::server::Limits::one_address()
}

/// The corridor's journeys, weighted like demand at an Eid sale: most want the whole way.
pub(super) fn journeys() -> Vec<(String, String, u32)> {
    [
        ("DHK", "CTG", 55),
        ("DHK", "CML", 10),
        ("DHK", "FNI", 8),
        ("APT", "CTG", 8),
        ("CML", "CTG", 6),
        ("FNI", "CTG", 5),
        ("CTG", "DHK", 8),
    ]
    .into_iter()
    .map(|(a, b, w)| (a.to_owned(), b.to_owned(), w))
    .collect()
}

pub(super) async fn prepare_app(
    database_url: &str,
    use_database: bool,
    jwt_secret: Option<String>,
    gateway: Option<crate::app::payments::RemoteGateway>,
) -> anyhow::Result<(App, Option<tempfile::TempDir>)> {
    let (url, dir) = if use_database {
        (database_url.to_owned(), None)
    } else {
        let dir = tempfile::tempdir().context("creating a temporary directory")?;
        (
            format!("sqlite://{}/rehearsal.db", dir.path().display()),
            Some(dir),
        )
    };
    let store = super::super::open_store(&url).await?;
    // The mock gateway shares the machine with the server and the passengers,
    // so under load its answers slow down with ours; 2 s keeps "timed out" to
    // the cards meant to time out.
    let config = AppConfig {
        gateway: crate::app::payments::GatewayConfig {
            charge_timeout: std::time::Duration::from_secs(2),
            // The servers' embedded gateway, when they have one beside their file.
            ledger: gateway
                .is_none()
                .then(|| super::super::ledger_beside(&url))
                .flatten(),
            remote: gateway,
            ..Default::default()
        },
        // A rehearsal is minutes long: wallet payments are awaited 10 s (a
        // passenger approves within a second or two even under load), and a
        // late success (…0119) comes after 12 s, when its order has given up.
        wallet: crate::app::wallet::WalletConfig {
            payment_timeout: chrono::Duration::seconds(10),
            late_delay: Some(std::time::Duration::from_secs(12)),
            callback_backoff: std::time::Duration::from_millis(100),
            ..Default::default()
        },
        jwt_secret,
        ..AppConfig::default()
    };
    Ok((App::new(store, config).await?, dir))
}

pub(super) async fn passengers_tokens(app: &App, n: usize) -> anyhow::Result<Vec<String>> {
    let mut tasks = tokio::task::JoinSet::new();
    let chunk = n.div_ceil(16).max(1);
    for part in 0..16 {
        let app = app.clone();
        tasks.spawn(async move {
            let mut tokens = Vec::new();
            for i in part * chunk..((part + 1) * chunk).min(n) {
                let phone = format!("+88015{:08}", 10_000_000 + i);
                let user = match app.raw_store().user_by_login(&phone).await? {
                    Some(u) => u,
                    None => {
                        app.raw_store()
                            .create_user(&crate::store::NewUser {
                                name: format!("Passenger {i}"),
                                phone,
                                email: format!("p{i}@rehearsal.invalid"),
                                password_hash: "unusable".into(),
                                role: crate::domain::Role::Passenger,
                                created_at: chrono::Utc::now(),
                                // One NID per passenger (the seat caps are per NID).
                                nid: Some(crate::domain::Nid::parse(&format!("57{i:011}"))?),
                            })
                            .await?
                    }
                };
                tokens.push(app.access_token_for(&user)?);
            }
            anyhow::Ok(tokens)
        });
    }
    let mut tokens = Vec::with_capacity(n);
    while let Some(t) = tasks.join_next().await {
        tokens.extend(t??);
    }
    Ok(tokens)
}

pub(super) async fn remote_tokens(base: &str, n: usize) -> anyhow::Result<Vec<String>> {
    let client = reqwest::Client::new();
    let mut tokens = Vec::new();
    for i in 0..n {
        let phone = format!("016{:08}", 10_000_000 + i);
        let body = RegisterRequest {
            name: format!("Rehearsal {i}"),
            phone: phone.clone(),
            email: format!("r{i}@rehearsal.invalid"),
            password: "rehearsal-password".into(),
            // An NID the mock registry knows (a rehearsal runs against it).
            nid: format!("58{i:011}"),
            date_of_birth: crate::outside::nid::DEFAULT_DOB.into(),
        };
        client
            .post(format!("{base}/v1/auth/register"))
            .json(&body)
            .send()
            .await?;
        let login = LoginRequest {
            login: phone,
            password: "rehearsal-password".into(),
            totp: None,
        };
        let tokens_of_login: TokenPair = client
            .post(format!("{base}/v1/auth/login"))
            .json(&login)
            .send()
            .await?
            .json()
            .await
            .context("login failed on the target server")?;
        tokens.push(tokens_of_login.access_token);
    }
    Ok(tokens)
}

pub(super) async fn seats_for_sale(app: &App, date: ServiceDate) -> anyhow::Result<i64> {
    let trains: BTreeMap<TrainId, _> = app
        .trains()
        .await?
        .into_iter()
        .map(|t| (t.id, t.train))
        .collect();
    let mut total = 0;
    for trip in app.trips_between(date, date).await? {
        if let Some(t) = trains.get(&trip.train_id) {
            total += t.seat_count() as i64;
        }
    }
    Ok(total)
}

/// Puts all of `date`'s trips in one queued sale that opens `opens_in` from now.
pub(super) async fn queue_the_sale(
    app: &App,
    date: ServiceDate,
    room: &RoomPlan,
    opens_in: std::time::Duration,
) -> anyhow::Result<QueuePlan> {
    let trip_ids = app
        .trips_between(date, date)
        .await?
        .iter()
        .map(|t| t.id)
        .collect();
    let id = format!("eid-{date}");
    app.waiting_room()
        .create(crate::app::queue::SaleSettings {
            id: id.clone(),
            opens_at: chrono::Utc::now() + chrono::Duration::from_std(opens_in)?,
            trip_ids,
            rate_per_sec: room.admit_rate,
            max_active: room.max_active,
            idle_secs: 120,
        })
        .await
        .context("creating the queued sale")?;
    Ok(QueuePlan {
        sale: id,
        poll: room.poll,
        give_up_after: std::time::Duration::from_secs(600),
    })
}
