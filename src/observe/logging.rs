//! Log output for the binary: human text (the default) or one JSON object per
//! line for log shippers. Either way a request's lines carry its request id,
//! from the span `server::request_id` opens around it.

use tracing_subscriber::EnvFilter;

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// The filter when `TICKETCTL_LOG` is not set.
const DEFAULT_FILTER: &str = "ticketctl=info,tower_http=warn";

/// Installs the process-wide subscriber; call once, first thing in `main`.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_env("TICKETCTL_LOG").unwrap_or_else(|_| DEFAULT_FILTER.into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        // The current span's fields (request_id, method, route) go in "span";
        // the whole list would repeat them for nested spans.
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
}
