//! `ticketctl nid list-flagged|clear NID`: the NIDs flagged for abuse (refused
//! by the seat caps again and again, or reported by a clerk), for admins.

use crate::app::App;
use crate::domain::time::to_local_rfc3339;

use super::output::table;

#[derive(Debug, clap::Subcommand)]
pub enum Cmd {
    /// List flagged NIDs, oldest flag first.
    ListFlagged,
    /// Clear a flagged NID: it may buy again.
    Clear { nid: String },
}

impl Cmd {
    pub async fn run(self, app: &App) -> anyhow::Result<()> {
        match self {
            Cmd::ListFlagged => {
                let flagged = app.flagged_nids().await?;
                let mut t = table(["nid", "flagged at", "refusals", "reported by", "reason"]);
                for f in &flagged {
                    t.add_row(vec![
                        f.nid.to_string(),
                        to_local_rfc3339(f.flagged_at),
                        f.limit_hits.to_string(),
                        f.reported_by.map(|u| u.to_string()).unwrap_or_default(),
                        f.reason.clone(),
                    ]);
                }
                println!("{t}\n{} flagged", flagged.len());
            }
            Cmd::Clear { nid } => {
                app.clear_nid(&nid).await?;
                println!("cleared: the NID may buy again");
            }
        }
        Ok(())
    }
}
