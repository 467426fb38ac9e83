//! `ticketctl migrate`: create or update the schema.

use anyhow::Context;

#[derive(Debug, clap::Args)]
pub struct Cmd {}

impl Cmd {
    pub async fn run(&self, url: &str) -> anyhow::Result<()> {
        let shown = crate::store::redact_url(url);
        let store = crate::store::open(url)
            .await
            .with_context(|| format!("opening {shown}"))?;
        let applied = store.migrate().await.context("migrating")?;
        println!("{shown}: {applied} migration(s) applied; schema is up to date");
        Ok(())
    }
}
