//! `ticketctl export orders`: the accounts office's export, streamed from
//! the database to a file or standard output.

use std::io::Write;

use anyhow::Context;

use crate::app::App;
use crate::app::export::{ExportFormat, date_span};

#[derive(Debug, clap::Subcommand)]
pub enum Cmd {
    /// Orders created on the service dates --from..=--to (Dhaka time).
    Orders(Args),
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long, value_enum)]
    pub format: ExportFormat,
    /// First date, YYYY-MM-DD.
    #[arg(long)]
    pub from: String,
    /// Last date, YYYY-MM-DD (inclusive).
    #[arg(long)]
    pub to: String,
    /// Write here instead of standard output.
    #[arg(long)]
    pub output: Option<std::path::PathBuf>,
}

impl Cmd {
    pub async fn run(self, app: &App) -> anyhow::Result<()> {
        let Cmd::Orders(a) = self;
        let (from, to) = date_span(&a.from, &a.to)?;
        let mut out: Box<dyn Write> = match &a.output {
            Some(path) => Box::new(
                std::fs::File::create(path)
                    .with_context(|| format!("creating {}", path.display()))?,
            ),
            None => Box::new(std::io::stdout().lock()),
        };
        let mut out = std::io::BufWriter::new(&mut out);
        let rows = app.export_orders(from, to, a.format, &mut out).await?;
        drop(out);
        if let Some(path) = &a.output {
            eprintln!("{rows} orders written to {}", path.display());
        }
        Ok(())
    }
}
