//! Multi-region serving (docs/multi-region.md §4–§5): this server's region,
//! its peers, its lease at the witness, where a trip's writes go, and the
//! takeover of a lost region's trips.
//!
//! Routing is decided here from the local replica of `trip_homes`; the
//! forwarding hop itself is HTTP and lives in `server/region.rs`. The fence
//! every inventory write passes is the store's (`store/region.rs`); this
//! module keeps it current from the witness.

pub mod witness;

use std::collections::BTreeMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use super::{App, AppError, AppResult};
use crate::domain::{HoldId, ParseError, TripId};
use crate::store::{Fence, HomeCount};
use witness::Witness;

/// Ids a region allocates start at its number times this (Postgres), so an
/// id names the region that made it and never collides after a takeover.
pub const ID_RANGE: i64 = 1_000_000_000_000;

/// How a region's servers are configured.
#[derive(Debug, Clone)]
pub struct RegionConfig {
    /// This region's name (`A`, `dhaka`, …).
    pub name: String,
    /// Peer region → base URL of its servers (or their load balancer).
    pub peers: BTreeMap<String, String>,
    /// The witness's Redis and key prefix.
    pub witness_url: String,
    pub witness_prefix: String,
    /// The lease's life at the witness; renewed every fifth of it.
    pub lease_ttl: Duration,
    /// Clock-skew margin: writes stop this long before the lease could have
    /// expired at the witness (§5.2).
    pub skew_margin: Duration,
}

/// Checks a region name: 1 to 32 letters, digits, `-` or `_`.
pub fn parse_region_name(field: &'static str, name: &str) -> Result<String, ParseError> {
    let ok = !name.is_empty()
        && name.len() <= 32
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(name.to_owned())
    } else {
        Err(ParseError::new(
            field,
            "a region name is 1 to 32 letters, digits, '-' or '_'",
        ))
    }
}

pub struct Region {
    pub config: RegionConfig,
    witness: Witness,
    /// Region number → name, learnt from the witness (for ids of holds not
    /// replicated here yet).
    numbers: RwLock<BTreeMap<i64, String>>,
    /// Forwarding client; one per process, keeps connections to peers open.
    pub(crate) http: reqwest::Client,
}

/// Where a write goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Answered here (the trip is homed here, or nothing says otherwise: the
    /// fence then decides).
    Here,
    /// Forwarded to the home region's servers at `url`.
    Peer { region: String, url: String },
}

/// What a takeover did.
#[derive(Debug, Clone)]
pub struct TakeOver {
    pub epoch: i64,
    pub trips: u64,
}

/// What `region status` shows.
#[derive(Debug, Clone)]
pub struct RegionStatus {
    pub region: Option<String>,
    /// Epochs this process holds (servers only).
    pub held: Vec<i64>,
    pub grants: BTreeMap<i64, String>,
    pub leased: Vec<String>,
    pub homes: Vec<HomeCount>,
}

impl Region {
    pub fn new(config: RegionConfig) -> AppResult<Region> {
        let witness = Witness::connect(&config.witness_url, &config.witness_prefix)?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| AppError::Internal(format!("forwarding client: {e}")))?;
        Ok(Region {
            config,
            witness,
            numbers: RwLock::new(BTreeMap::new()),
            http,
        })
    }

    fn region_of_id(&self, id: i64) -> Option<String> {
        let numbers = self.numbers.read().unwrap_or_else(|e| e.into_inner());
        numbers.get(&(id / ID_RANGE)).cloned()
    }
}

impl App {
    /// This app serves one region of several: routes writes, fences them and
    /// keeps a lease (`spawn_region_lease`). Until the first renewal the
    /// fence holds no epoch, so nothing is written.
    pub fn with_region(mut self, region: Region) -> App {
        self.store.fence_slot().set(Some(Fence {
            region: region.config.name.clone(),
            epochs: Vec::new(),
            valid_until: Instant::now(),
        }));
        self.region = Some(std::sync::Arc::new(region));
        self
    }

    pub fn region(&self) -> Option<&Region> {
        self.region.as_deref()
    }

    /// Renews the lease and takes the epochs it holds as the store's fence,
    /// valid until the lease's life less the skew margin, counted from when
    /// the renewal was *sent* (a slow answer shortens it, never lengthens it).
    pub async fn renew_region_lease(&self) -> AppResult<Vec<i64>> {
        let Some(region) = self.region() else {
            return Ok(Vec::new());
        };
        let sent = Instant::now();
        let ttl = region.config.lease_ttl;
        let epochs = region.witness.renew(&region.config.name, ttl).await?;
        self.store.fence_slot().set(Some(Fence {
            region: region.config.name.clone(),
            epochs: epochs.clone(),
            valid_until: sent + ttl.saturating_sub(region.config.skew_margin),
        }));
        let view = region.witness.view().await?;
        *region.numbers.write().unwrap_or_else(|e| e.into_inner()) = view
            .numbers
            .into_iter()
            .map(|(name, n)| (n, name))
            .collect();
        Ok(epochs)
    }

    /// Keeps the lease every fifth of its life until `shutdown`; a failed
    /// renewal is logged and the fence lapses by itself.
    pub fn spawn_region_lease(
        &self,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> Option<tokio::task::JoinHandle<()>> {
        let every = self.region()?.config.lease_ttl / 5;
        let app = self.clone();
        Some(tokio::spawn(async move {
            loop {
                match app.renew_region_lease().await {
                    Ok(epochs) => tracing::debug!(?epochs, "region lease renewed"),
                    Err(e) => tracing::warn!(error = %e, "region lease not renewed"),
                }
                tokio::select! {
                    _ = tokio::time::sleep(every) => {}
                    _ = shutdown.changed() => return,
                }
            }
        }))
    }

    /// Where a write for `trip` goes: here, or its home region's servers.
    pub async fn route_trip(&self, trip: TripId) -> AppResult<Route> {
        let Some(region) = self.region() else {
            return Ok(Route::Here);
        };
        match self.store.trip_home(trip).await? {
            Some(home) if home.region != region.config.name => peer(region, home.region),
            _ => Ok(Route::Here),
        }
    }

    /// Where a write for hold `id` goes: its trip's home; a hold not
    /// replicated here yet goes to the region its id says made it.
    pub async fn route_hold(&self, id: HoldId) -> AppResult<Route> {
        let Some(region) = self.region() else {
            return Ok(Route::Here);
        };
        if let Some(hold) = self.store.hold(id).await? {
            return self.route_trip(hold.trip_id).await;
        }
        match region.region_of_id(id.0) {
            Some(maker) if maker != region.config.name => peer(region, maker),
            _ => Ok(Route::Here),
        }
    }

    /// Moves every trip of region `from` to region `to` (§5.3): the witness
    /// hands `from`'s epochs to `to` under a new one, refusing while `from`
    /// still holds its lease; then this database's homes follow. Run against
    /// `to`'s database (the other regions learn it by replication).
    pub async fn take_over(&self, from: &str, to: &str) -> AppResult<TakeOver> {
        let region = self
            .region()
            .ok_or_else(|| AppError::Conflict("this server has no region".into()))?;
        let from = parse_region_name("from", from)?;
        let to = parse_region_name("to", to)?;
        if from == to {
            return Err(ParseError::new("from", "a region cannot take over its own trips").into());
        }
        let epoch = region.witness.take_over(&from, &to).await?;
        let trips = self.store.move_trips(&from, &to, epoch).await?;
        tracing::warn!(%from, %to, epoch, trips, "region takeover");
        if region.config.name == to {
            // Sell the moved trips now rather than at the next renewal.
            let _ = self.renew_region_lease().await;
        }
        Ok(TakeOver { epoch, trips })
    }

    /// Registers `regions` at the witness (numbered by position from 1, once
    /// each), homes this database's unhomed trips among them at their first
    /// epochs, and starts this region's ids in its range. Every region's
    /// database, given the same list, homes the same trips the same way.
    pub async fn init_regions(&self, this: &str, regions: &[String]) -> AppResult<(u64, u64)> {
        let region = self
            .region()
            .ok_or_else(|| AppError::Conflict("no region configured".into()))?;
        let mut grants = BTreeMap::new();
        for (i, name) in regions.iter().enumerate() {
            grants = region.witness.join(name, i as i64 + 1).await?;
        }
        let position = regions
            .iter()
            .position(|r| r == this)
            .ok_or_else(|| ParseError::new("regions", "the list must name this region"))?;
        let mut plan = Vec::new();
        for name in regions {
            let first = grants
                .iter()
                .find(|(_, r)| *r == name)
                .map(|(e, _)| *e)
                .ok_or_else(|| {
                    AppError::Conflict(format!(
                        "region {name} holds no epoch at the witness (taken over?): \
                         homes are assigned only once, before any takeover"
                    ))
                })?;
            plan.push((name.clone(), first));
        }
        let homed = self.store.home_unhomed_trips(&plan).await?;
        let ids = self
            .store
            .start_ids_at((position as i64 + 1) * ID_RANGE)
            .await?;
        Ok((homed, ids))
    }

    /// Publishes this database's writes as region `this` and subscribes it
    /// to each peer region's database (name, connection string).
    pub async fn replicate_regions(&self, this: &str, peers: &[(String, String)]) -> AppResult<()> {
        let this = parse_region_name("region", this)?;
        self.store.publish_region(&this).await?;
        for (name, conninfo) in peers {
            let name = parse_region_name("from", name)?;
            self.store.subscribe_region(&name, conninfo).await?;
        }
        Ok(())
    }

    pub async fn region_status(&self) -> AppResult<RegionStatus> {
        let homes = self.store.home_counts().await?;
        let Some(region) = self.region() else {
            return Ok(RegionStatus {
                region: None,
                held: Vec::new(),
                grants: BTreeMap::new(),
                leased: Vec::new(),
                homes,
            });
        };
        let view = region.witness.view().await?;
        let held = self
            .store
            .fence_slot()
            .get()
            .filter(|f| f.current().is_ok())
            .map(|f| f.epochs)
            .unwrap_or_default();
        Ok(RegionStatus {
            region: Some(region.config.name.clone()),
            held,
            grants: view.grants,
            leased: view.leased,
            homes,
        })
    }
}

fn peer(region: &Region, home: String) -> AppResult<Route> {
    match region.config.peers.get(&home) {
        Some(url) => Ok(Route::Peer {
            region: home,
            url: url.clone(),
        }),
        None => Err(AppError::Unavailable {
            detail: format!("this trip is homed in region {home}, which this server cannot reach"),
            retry_after_secs: 2,
        }),
    }
}
