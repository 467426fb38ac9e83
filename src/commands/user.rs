//! `ticketctl user add|list|set-role`.

use anyhow::Context;
use std::io::BufRead;

use crate::app::App;
use crate::app::identity::Registration;
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
    },
    /// List users.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Change a user's role.
    SetRole { id: UserId, role: Role },
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
                let user = app
                    .register(Registration {
                        name,
                        phone,
                        email,
                        password,
                        role,
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
        }
        Ok(())
    }
}
