//! `ticketctl region init|takeover|status`: homing trips among regions,
//! moving a lost region's trips to another (the failover), and what the
//! witness and this database say (docs/multi-region.md §5).

use crate::app::App;

use super::output::table;
use super::region_flags::RegionFlags;

#[derive(Debug, clap::Args)]
pub struct Cmd {
    #[command(subcommand)]
    pub action: Action,
    #[command(flatten)]
    pub region: RegionFlags,
}

#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Register the regions at the witness (numbered in the order given, once),
    /// home this database's unhomed trips among them by train, and start its
    /// ids in this region's range. Run once per region's database, with the
    /// same list.
    Init {
        /// Every region, comma-separated, the same order everywhere (e.g. A,B).
        #[arg(long, value_delimiter = ',', required = true)]
        regions: Vec<String>,
    },
    /// Replicate this region's database with the others' (Postgres logical
    /// replication, each region publishing the rows it writes), after `init`,
    /// before its servers start: first without --from in every region's
    /// database (each publishes), then with --from (each subscribes; a
    /// subscription made before its publication exists never streams).
    Replicate {
        /// A peer region's database: NAME=CONNINFO (a libpq URL or key=value
        /// string that region's database server accepts from this one), repeatable.
        #[arg(long = "from", value_name = "NAME=CONNINFO")]
        from: Vec<String>,
    },
    /// Move every trip of region FROM to this region (--region): refused while
    /// FROM still holds its lease at the witness. Run against this region's
    /// database; its servers sell the trips at their next lease renewal.
    Takeover {
        /// The region whose trips move here.
        #[arg(long)]
        from: String,
    },
    /// The witness's epochs and leases, and this database's trip homes.
    Status,
}

impl Cmd {
    pub async fn run(self, app: &App) -> anyhow::Result<()> {
        let this = app
            .region()
            .map(|r| r.config.name.clone())
            .ok_or_else(|| anyhow::anyhow!("--region and --witness-url are needed"))?;
        match self.action {
            Action::Init { regions } => {
                let (homed, ids) = app.init_regions(&this, &regions).await?;
                println!(
                    "regions {} registered at the witness; {homed} trips homed here; \
                     {ids} id sequences moved to region {this}'s range",
                    regions.join(",")
                );
            }
            Action::Replicate { from } => {
                let mut peers = Vec::new();
                for spec in from {
                    let (name, conninfo) = spec
                        .split_once('=')
                        .ok_or_else(|| anyhow::anyhow!("--from {spec}: expected NAME=CONNINFO"))?;
                    peers.push((name.to_owned(), conninfo.to_owned()));
                }
                app.replicate_regions(&this, &peers).await?;
                println!(
                    "region {this} publishes its writes; subscribed to {}",
                    peers
                        .iter()
                        .map(|p| p.0.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            Action::Takeover { from } => {
                let done = app.take_over(&from, &this).await?;
                println!(
                    "region {this} took over region {from}'s trips: {} trips at epoch {}",
                    done.trips, done.epoch
                );
            }
            Action::Status => {
                let s = app.region_status().await?;
                let mut t = table(["epoch", "held by", "lease"]);
                for (epoch, region) in &s.grants {
                    let lease = if s.leased.contains(region) {
                        "alive"
                    } else {
                        "expired"
                    };
                    t.add_row(vec![epoch.to_string(), region.clone(), lease.to_owned()]);
                }
                println!("witness:\n{t}");
                let mut t = table(["home region", "epoch", "trips"]);
                for h in &s.homes {
                    t.add_row(vec![
                        h.region.clone(),
                        h.epoch.to_string(),
                        h.trips.to_string(),
                    ]);
                }
                println!("this database:\n{t}");
            }
        }
        Ok(())
    }
}
