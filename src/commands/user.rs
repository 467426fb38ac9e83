//! `ticketctl user add|list|set-role|export|erase|purge`.

use anyhow::Context;
use std::io::BufRead;
use std::sync::Arc;

use crate::adapters::nid_http::{self, HttpNidRegistry};
use crate::app::App;
use crate::app::identity::{NidInput, Registration};
use crate::app::nid::NidRegistry;
use crate::domain::{Role, UserId};
use crate::wire::identity::UserView;

use super::output::{print_json, table};

#[derive(Debug, clap::Subcommand)]
pub enum Cmd {
    /// Create a user (passenger, clerk or admin).
    Add {
        #[arg(long)]
        name: String,
        /// Bangladeshi mobile number, e.g. 01712345678.
        #[arg(long)]
        phone: String,
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "passenger")]
        role: Role,
        /// The password; prefer --password-stdin or TICKETCTL_PASSWORD so it stays out of shell history.
        #[arg(
            long,
            env = "TICKETCTL_PASSWORD",
            hide_env_values = true,
            conflicts_with = "password_stdin"
        )]
        password: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// The national ID (10, 13 or 17 digits), verified at the NID registry;
        /// a passenger needs one to buy online. Staff may go without.
        #[arg(long, requires = "date_of_birth")]
        nid: Option<String>,
        /// Date of birth (YYYY-MM-DD) as the NID registry records it.
        #[arg(long, requires = "nid")]
        date_of_birth: Option<String>,
        #[command(flatten)]
        registry: RegistryArgs,
    },
    /// List users.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Change a user's role.
    SetRole { id: UserId, role: Role },
    /// Print everything stored about a user as one JSON document.
    Export { id: UserId },
    /// Erase a user's personal data (names, phone, e-mail, NID, passengers,
    /// SMS); orders, tickets and ledgers stay, anonymous. Refused while the
    /// user has upcoming trips.
    Erase { id: UserId },
    /// Anonymise personal data older than N days: passengers and counter
    /// buyers of trips that left before then, delivered SMS bodies, and
    /// passenger accounts with no sign-in or trip since (as `serve
    /// --personal-data-retention-days` does hourly).
    Purge {
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=36500))]
        older_than_days: u32,
    },
}

/// Where `user add --nid` verifies the NID: as `serve`, the registry at a URL,
/// or the mock run in this process.
#[derive(Debug, clap::Args)]
pub struct RegistryArgs {
    /// The NID registry (default: the mock, run in this process).
    #[arg(
        long,
        env = "TICKETCTL_NID_REGISTRY_URL",
        requires = "nid_registry_key"
    )]
    nid_registry_url: Option<String>,
    /// The registry's API key.
    #[arg(long, env = "TICKETCTL_NID_REGISTRY_KEY", hide_env_values = true)]
    nid_registry_key: Option<String>,
}

impl RegistryArgs {
    async fn connect(self) -> anyhow::Result<Arc<dyn NidRegistry>> {
        let timeout = nid_http::DEFAULT_TIMEOUT;
        Ok(Arc::new(
            match (self.nid_registry_url, self.nid_registry_key) {
                (Some(url), Some(key)) => HttpNidRegistry::new(&url, &key, timeout)?,
                _ => HttpNidRegistry::embedded(timeout).await?,
            },
        ))
    }
}

impl Cmd {
    pub async fn run(self, app: &App) -> anyhow::Result<()> {
        match self {
            Cmd::Add {
                name,
                phone,
                email,
                role,
                password,
                password_stdin,
                nid,
                date_of_birth,
                registry,
            } => {
                let password = match (password, password_stdin) {
                    (_, true) => {
                        let mut line = String::new();
                        std::io::stdin()
                            .lock()
                            .read_line(&mut line)
                            .context("reading the password from stdin")?;
                        line.trim_end_matches(['\r', '\n']).to_owned()
                    }
                    (Some(p), false) => p,
                    (None, false) => {
                        anyhow::bail!("give a password with --password-stdin or TICKETCTL_PASSWORD")
                    }
                };
                let nid = match (nid, date_of_birth) {
                    (Some(nid), Some(date_of_birth)) => Some(NidInput { nid, date_of_birth }),
                    _ => None,
                };
                // Only a registration with an NID needs the registry.
                let app = match nid {
                    Some(_) => app.clone().with_nid_registry(registry.connect().await?),
                    None => app.clone(),
                };
                let user = app
                    .register(Registration {
                        name,
                        phone,
                        email,
                        password,
                        role,
                        nid,
                    })
                    .await?;
                println!(
                    "created user {} ({}, {}) with role {}",
                    user.id, user.phone, user.email, user.role
                );
            }
            Cmd::List { json } => {
                let users = app.users().await?;
                if json {
                    let views: Vec<_> = users.iter().map(UserView::from).collect();
                    return print_json(&views);
                }
                let mut t = table(["id", "name", "phone", "email", "role", "2FA"]);
                for u in &users {
                    t.add_row(vec![
                        u.id.to_string(),
                        u.name.clone(),
                        u.phone.clone(),
                        u.email.clone(),
                        u.role.to_string(),
                        if u.mfa_enabled { "on" } else { "off" }.to_string(),
                    ]);
                }
                println!("{t}\n{} users", users.len());
            }
            Cmd::SetRole { id, role } => {
                app.set_role(id, role).await?;
                println!("user {id} is now {role}");
            }
            Cmd::Export { id } => return print_json(&app.export_personal_data(id).await?),
            Cmd::Erase { id } => {
                app.erase_personal_data(id).await?;
                println!("user {id}: personal data erased; the account can no longer sign in");
            }
            Cmd::Purge { older_than_days } => {
                let report = app.purge_personal_data(older_than_days).await?;
                let rows: Vec<String> = report
                    .rows
                    .iter()
                    .map(|(table, n)| format!("{table} {n}"))
                    .collect();
                println!(
                    "personal data older than {older_than_days} days: {} accounts erased; rows anonymised: {}",
                    report.accounts.len(),
                    if rows.is_empty() {
                        "none".to_owned()
                    } else {
                        rows.join(", ")
                    }
                );
            }
        }
        Ok(())
    }
}
