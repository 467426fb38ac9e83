//! `ticketctl audit verify|head`: check the hash chain of the audit log, and
//! print the anchor that lets a later check find re-hashing and truncation.

use crate::app::App;
use crate::app::audit::AuditAnchor;

#[derive(Debug, clap::Subcommand)]
pub enum Cmd {
    /// Recompute the hash chain and report the first altered, removed or reordered entry.
    Verify {
        /// ENTRIES:HEAD from an earlier `audit head`, kept outside the database:
        /// also finds a log rewritten and re-hashed, or cut off at the end.
        #[arg(long)]
        anchor: Option<String>,
    },
    /// Print the log's anchor (ENTRIES:HEAD) to keep outside the database.
    Head,
}

impl Cmd {
    pub async fn run(self, app: &App) -> anyhow::Result<()> {
        match self {
            Cmd::Verify { anchor } => {
                let anchor = anchor.as_deref().map(AuditAnchor::parse).transpose()?;
                let check = app.verify_audit_against(anchor.as_ref()).await?;
                match check.first_broken {
                    None if check.intact() => {
                        println!("audit log OK: {}", check.detail);
                        Ok(())
                    }
                    None => anyhow::bail!("audit log TAMPERED: {}", check.detail),
                    Some(id) => anyhow::bail!("audit log TAMPERED at entry {id}: {}", check.detail),
                }
            }
            Cmd::Head => {
                println!("{}", app.audit_head().await?);
                Ok(())
            }
        }
    }
}
