//! `rehearse --metrics-out FILE`: the server's `/metrics` as it stands at the
//! end of the sale, written to a file, so the figures an operator would watch
//! can be read beside the rehearsal's own report.

use anyhow::Context;
use std::path::Path;

use crate::app::App;

/// Scrapes `base`'s `/metrics` into `out`. With the embedded server's `app`
/// the queried gauges (and the invariants) are refreshed first, so the file
/// shows the end of the sale rather than the last periodic refresh.
pub(super) async fn write_metrics(app: Option<&App>, base: &str, out: &Path) -> anyhow::Result<()> {
    if let Some(app) = app {
        app.refresh_gauges(true)
            .await
            .context("refreshing the server's gauges")?;
    }
    let url = format!("{base}/metrics");
    let text = reqwest::get(&url)
        .await
        .and_then(|r| r.error_for_status())
        .with_context(|| format!("scraping {url}"))?
        .text()
        .await?;
    std::fs::write(out, text).with_context(|| format!("writing {}", out.display()))?;
    eprintln!(
        "metrics at the end of the sale written to {}",
        out.display()
    );
    Ok(())
}
