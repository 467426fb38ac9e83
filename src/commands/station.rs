//! `ticketctl station list|add|show`.

use crate::app::App;
use crate::domain::StationCode;
use crate::store::NewStation;
use crate::wire::catalog::StationView;

use super::output::{print_json, table};

#[derive(Debug, clap::Subcommand)]
pub enum Cmd {
    /// List all stations.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Find one station by code or name (English or Bangla).
    Show {
        query: String,
        #[arg(long)]
        json: bool,
    },
    /// Add a station, or update its names.
    Add {
        /// Short code, 2–5 letters (e.g. DHK).
        #[arg(long)]
        code: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        name_bn: Option<String>,
        /// Another name people type (repeatable).
        #[arg(long = "alias")]
        aliases: Vec<String>,
    },
}

impl Cmd {
    pub async fn run(self, app: &App) -> anyhow::Result<()> {
        match self {
            Cmd::List { json } => {
                let stations = app.stations().await?;
                if json {
                    let views: Vec<_> = stations.iter().map(StationView::from).collect();
                    return print_json(&views);
                }
                let mut t = table(["code", "name", "বাংলা", "aliases"]);
                for s in &stations {
                    t.add_row(vec![
                        s.code.to_string(),
                        s.name_en.clone(),
                        s.name_bn.clone().unwrap_or_default(),
                        s.aliases.join(", "),
                    ]);
                }
                println!("{t}\n{} stations", stations.len());
            }
            Cmd::Show { query, json } => {
                let s = app.station(&query).await?;
                if json {
                    return print_json(&StationView::from(&s));
                }
                println!(
                    "{} {} ({})",
                    s.code,
                    s.name_en,
                    s.name_bn.unwrap_or_default()
                );
            }
            Cmd::Add {
                code,
                name,
                name_bn,
                aliases,
            } => {
                let code = StationCode::parse(&code)?;
                let result = app
                    .add_station(NewStation {
                        code: code.clone(),
                        name_en: name,
                        name_bn,
                        aliases,
                    })
                    .await?;
                println!("station {code}: {}", format!("{result:?}").to_lowercase());
            }
        }
        Ok(())
    }
}
