//! `ticketctl tui`: the counter clerks' terminal, a client of a running server.

use anyhow::Context;

#[derive(Debug, clap::Args)]
pub struct Cmd {
    /// The booking server to sell through.
    #[arg(
        long,
        env = "TICKETCTL_SERVER",
        default_value = "http://127.0.0.1:8080"
    )]
    server: String,
    /// The clerk's phone or e-mail (the sign-in box is filled in).
    #[arg(long, env = "TICKETCTL_LOGIN")]
    login: Option<String>,
    /// Where `p` on a ticket writes its printable text (ticket-order-N.txt).
    #[arg(long, default_value = ".")]
    print_dir: std::path::PathBuf,
}

impl Cmd {
    pub async fn run(self) -> anyhow::Result<()> {
        use std::io::IsTerminal;
        if !std::io::stdout().is_terminal() {
            anyhow::bail!("ticketctl tui needs a terminal; run it in one (or under tmux)");
        }
        // Colour follows the NO_COLOR convention: any non-empty value turns it off.
        let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        // Read from the environment only, never a flag (shell history).
        let password = std::env::var("TICKETCTL_PASSWORD").ok();
        crate::tui::run(crate::tui::Options {
            server: self.server.clone(),
            login: self.login,
            password,
            color,
            print_dir: self.print_dir,
        })
        .await
        .with_context(|| format!("counter terminal on {}", self.server))
    }
}
