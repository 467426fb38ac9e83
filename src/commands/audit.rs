//! `ticketctl audit verify`: check the hash chain of the audit log.

use crate::app::App;

#[derive(Debug, clap::Subcommand)]
pub enum Cmd {
    /// Recompute the hash chain and report the first altered, removed or reordered entry.
    Verify,
}

impl Cmd {
    pub async fn run(self, app: &App) -> anyhow::Result<()> {
        match self {
            Cmd::Verify => {
                let check = app.verify_audit().await?;
                match check.first_broken {
                    None => {
                        println!("audit log OK: {}", check.detail);
                        Ok(())
                    }
                    Some(id) => anyhow::bail!("audit log TAMPERED at entry {id}: {}", check.detail),
                }
            }
        }
    }
}
