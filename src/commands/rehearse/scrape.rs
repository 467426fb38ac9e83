//! `rehearse --metrics-out FILE`: the server's `/metrics` as it stands at the
//! end of the sale, written to a file, so the figures an operator would watch
//! can be read beside the rehearsal's own report.

use anyhow::Context;
use std::path::Path;

use crate::app::App;

/// Scrapes each of `bases`' `/metrics`: the first into `out`, the n-th (of
/// several processes) into `out` with `.n` appended. With the embedded
/// server's `app` the queried gauges (and the invariants) are refreshed
/// first, so the file shows the end of the sale rather than the last
/// periodic refresh.
pub(super) async fn write_metrics(
    app: Option<&App>,
    bases: &[String],
    out: &Path,
) -> anyhow::Result<()> {
    if let Some(app) = app {
        app.refresh_gauges(true)
            .await
            .context("refreshing the server's gauges")?;
    }
    for (n, base) in bases.iter().enumerate() {
        let file = if n == 0 {
            out.to_owned()
        } else {
            let mut name = out.as_os_str().to_owned();
            name.push(format!(".{}", n + 1));
            name.into()
        };
        write_one(base, &file).await?;
    }
    Ok(())
}

async fn write_one(base: &str, out: &Path) -> anyhow::Result<()> {
    let url = format!("{base}/metrics");
    let text = reqwest::get(&url)
        .await
        .and_then(|r| r.error_for_status())
        .with_context(|| format!("scraping {url}"))?
        .text()
        .await?;
    std::fs::write(out, text).with_context(|| format!("writing {}", out.display()))?;
    eprintln!(
        "metrics of {base} at the end of the sale written to {}",
        out.display()
    );
    Ok(())
}
