//! Exports for the accounts office: orders as CSV or JSON Lines, written row
//! by row as keyset pages arrive from the store, so memory stays at one page
//! whatever the size of the export.

use std::io::Write;

use chrono::{DateTime, Utc};

use crate::app::{App, AppError, AppResult};
use crate::domain::time::to_local_rfc3339;
use crate::domain::{Order, OrderId, ParseError, ServiceDate, TripTime};

/// Rows read from the store at a time.
pub const EXPORT_PAGE: i64 = 1000;

/// How rows are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// Comma-separated, with a header line.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

const ORDER_HEADER: &str = "order_id,user_id,trip_id,status,amount,refunded,created_at,updated_at";

/// The instants `first..=last` (Dhaka service dates) span: from the first
/// day's midnight to the midnight after the last.
pub fn date_span(first: &str, last: &str) -> AppResult<(DateTime<Utc>, DateTime<Utc>)> {
    let first = ServiceDate::parse(first).map_err(|e| ParseError::new("from", e.message))?;
    let last = ServiceDate::parse(last).map_err(|e| ParseError::new("to", e.message))?;
    if last < first {
        return Err(ParseError::new("to", "the range ends before it starts").into());
    }
    let midnight = TripTime::from_minutes(0);
    Ok((first.at(midnight), last.add_days(1).at(midnight)))
}

fn write_order(out: &mut dyn Write, format: ExportFormat, o: &Order) -> std::io::Result<()> {
    // Every column is a number, a status word or a timestamp: nothing to quote.
    match format {
        ExportFormat::Csv => writeln!(
            out,
            "{},{},{},{},{},{},{},{}",
            o.id,
            o.user_id,
            o.trip_id,
            o.status,
            o.amount,
            o.refunded_amount,
            to_local_rfc3339(o.created_at),
            to_local_rfc3339(o.updated_at)
        ),
        ExportFormat::Jsonl => {
            let row = serde_json::json!({
                "order_id": o.id, "user_id": o.user_id, "trip_id": o.trip_id,
                "status": o.status, "amount": o.amount, "refunded": o.refunded_amount,
                "created_at": to_local_rfc3339(o.created_at),
                "updated_at": to_local_rfc3339(o.updated_at),
            });
            writeln!(out, "{row}")
        }
    }
}

impl App {
    /// Writes every order created in `from..to` to `out`; returns how many.
    pub async fn export_orders(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        format: ExportFormat,
        out: &mut dyn Write,
    ) -> AppResult<u64> {
        let io = |e: std::io::Error| AppError::Internal(format!("writing the export: {e}"));
        if format == ExportFormat::Csv {
            writeln!(out, "{ORDER_HEADER}").map_err(io)?;
        }
        let (mut after, mut rows) = (OrderId(0), 0u64);
        loop {
            let page = self.store.orders_page(from, to, after, EXPORT_PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.id;
            for order in &page {
                write_order(out, format, order).map_err(io)?;
            }
            rows += page.len() as u64;
        }
        out.flush().map_err(io)?;
        Ok(rows)
    }
}
