//! `ticketctl ticket verify|public-key`: check tickets like an inspector.

use anyhow::Context;

use crate::adapters::qr::payload_from_png;
use crate::app::App;
use crate::app::tickets::{parse_public_key, verify_offline};
use crate::wire::tickets::Verdict;

use super::output::print_json;
use crate::domain::TicketVerdict;

#[derive(Debug, clap::Subcommand)]
pub enum Cmd {
    /// Verify a ticket from its QR payload or a PNG of its QR code.
    Verify {
        /// The payload (TKT1.…) or the path of a QR code PNG.
        ticket: String,
        /// Check offline with this public key (hex) instead of the database's key and records.
        #[arg(long)]
        public_key: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Print the public key inspectors use to check tickets offline.
    PublicKey,
}

fn read_payload(ticket: &str) -> anyhow::Result<String> {
    if ticket.starts_with("TKT") {
        return Ok(ticket.to_owned());
    }
    let bytes = std::fs::read(ticket)
        .with_context(|| format!("reading {ticket} (give a TKT1… payload or a PNG file)"))?;
    Ok(payload_from_png(&bytes)?)
}

impl Cmd {
    /// Offline verification needs no database, so it runs before one is opened.
    pub fn run_offline(&self) -> Option<anyhow::Result<()>> {
        match self {
            Cmd::Verify {
                ticket,
                public_key: Some(key),
                json,
            } => Some((|| {
                let payload = read_payload(ticket)?;
                let verdict = verify_offline(&payload, &parse_public_key(key)?);
                report(&verdict, *json)
            })()),
            _ => None,
        }
    }

    pub async fn run(self, app: &App) -> anyhow::Result<()> {
        match self {
            Cmd::Verify { ticket, json, .. } => {
                let payload = read_payload(&ticket)?;
                report(&app.verify_ticket(&payload).await?, json)
            }
            Cmd::PublicKey => {
                println!("{}", app.ticket_public_key());
                Ok(())
            }
        }
    }
}

fn report(v: &Verdict, json: bool) -> anyhow::Result<()> {
    if json {
        print_json(v)?;
    } else {
        println!("{}: {}", v.verdict.as_str().to_uppercase(), v.detail);
        if let Some(c) = &v.claims {
            println!(
                "  PNR {}  train {} {}  {}  {} → {}  seat {} ({})  {}",
                c.pnr, c.train, c.train_name, c.date, c.from, c.to, c.seat, c.class, c.passenger
            );
        }
    }
    if v.verdict == TicketVerdict::Valid {
        Ok(())
    } else {
        anyhow::bail!("ticket is {}", v.verdict)
    }
}
