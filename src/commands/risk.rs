//! `ticketctl risk list|clear`: the step-ups and blocks the fraud-velocity
//! rules decided, for admins; clearing a block lets its subject through again
//! and resets its counters (in Redis with `--redis-url`, as `serve` keeps them).

use crate::app::App;
use crate::domain::time::to_local_rfc3339;

use super::output::table;

#[derive(Debug, clap::Subcommand)]
pub enum Cmd {
    /// List decisions, newest first (at most 500).
    List {
        /// Only blocks still in force.
        #[arg(long)]
        active: bool,
    },
    /// Clear the blocks on a subject, as `risk list` names it
    /// (e.g. `ticketctl risk clear account 42`).
    Clear {
        /// nid, phone, account, card, wallet or address.
        subject: String,
        value: String,
        /// The Redis the servers keep their counters in, to reset them there too.
        #[arg(long, env = "REDIS_URL")]
        redis_url: Option<String>,
        /// Prefix of the deployment's Redis keys.
        #[arg(long, default_value = "ticketctl:")]
        redis_prefix: String,
    },
}

impl Cmd {
    /// The Redis this command's app must reach, if any.
    pub fn redis(&self) -> Option<(String, String)> {
        match self {
            Cmd::Clear {
                redis_url: Some(url),
                redis_prefix,
                ..
            } => Some((url.clone(), redis_prefix.clone())),
            _ => None,
        }
    }

    pub async fn run(self, app: &App) -> anyhow::Result<()> {
        match self {
            Cmd::List { active } => {
                let decisions = app.risk_decisions(active).await?;
                let mut t = table(["id", "at", "outcome", "rule", "subject", "reason", "state"]);
                for d in &decisions {
                    let state = match (&d.cleared_at, d.is_active_block()) {
                        (Some(at), _) => format!("cleared {}", to_local_rfc3339(*at)),
                        (None, true) => "in force".to_owned(),
                        (None, false) => String::new(),
                    };
                    t.add_row(vec![
                        d.id.to_string(),
                        to_local_rfc3339(d.created_at),
                        d.outcome.clone(),
                        d.rule.clone(),
                        format!("{} {}", d.subject_kind, d.subject),
                        d.reason.clone(),
                        state,
                    ]);
                }
                println!("{t}\n{} decisions", decisions.len());
            }
            Cmd::Clear { subject, value, .. } => {
                let cleared = app.clear_risk(&subject, &value, None).await?;
                println!(
                    "cleared {} block(s) on {subject} {value}; its counters start afresh",
                    cleared.len()
                );
            }
        }
        Ok(())
    }
}
