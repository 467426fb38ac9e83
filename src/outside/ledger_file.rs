//! The one-file SQLite ledger a mock outside party keeps (the card gateway's
//! charges, the wallet provider's payments): one connection behind a mutex (a
//! mock needs no read concurrency), every call on a blocking thread so no
//! async worker waits on it.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

#[derive(Debug, thiserror::Error)]
#[error("{party} ledger: {message}")]
pub struct LedgerError {
    party: &'static str,
    message: String,
}

pub type LedgerResult<T> = Result<T, LedgerError>;

#[derive(Clone)]
pub struct LedgerFile {
    party: &'static str,
    conn: Arc<Mutex<Connection>>,
}

impl LedgerFile {
    /// Opens (creating if need be) the ledger at `path`, or one in memory,
    /// and runs `schema` (idempotent statements) on it.
    pub fn open(
        party: &'static str,
        path: Option<&Path>,
        schema: &str,
    ) -> LedgerResult<LedgerFile> {
        let fail = |e: rusqlite::Error| LedgerError {
            party,
            message: e.to_string(),
        };
        let conn = match path {
            Some(p) => Connection::open(p).map_err(fail)?,
            None => Connection::open_in_memory().map_err(fail)?,
        };
        // Another process may have the file open (a checker beside a stopped
        // or running mock): wait for its lock rather than fail.
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(fail)?;
        // WAL + NORMAL: what the mock answered survives a kill of its process.
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
            .map_err(fail)?;
        conn.execute_batch(schema).map_err(fail)?;
        Ok(LedgerFile {
            party,
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> LedgerResult<T> {
        let conn = self.conn.clone();
        let fail = |message: String| LedgerError {
            party: self.party,
            message,
        };
        tokio::task::spawn_blocking(move || {
            // A panic while holding the lock poisons it; the data is still sound
            // (SQLite rolled back), so keep going.
            let guard = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&guard)
        })
        .await
        .map_err(|e| fail(e.to_string()))?
        .map_err(|e| fail(e.to_string()))
    }
}
