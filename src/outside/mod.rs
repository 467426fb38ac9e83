//! Outside parties: the mock services we ship for the systems a railway talks
//! to but does not run (card gateway, mobile wallet, SMS gateway, NID registry).
//!
//! Each mock is an axum router with its own state and its own storage, served
//! by its own subcommand (`ticketctl mock-<name> --listen ADDR`). The booking
//! server reaches every one of them over HTTP through a client in `adapters`,
//! never by a function call, so a real provider can take a mock's place by
//! changing a URL.
//!
//! When `serve` is given no URL for a party (the demo, development, most
//! tests) it starts that party's mock on a loopback port of its own with
//! [`serve_embedded`]: the same router, still reached over HTTP, sharing only
//! the process.

pub mod gateway;
pub mod ledger_file;
pub mod nid;
pub mod sms;
pub mod wallet;

use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A mock served on `127.0.0.1` at a port the kernel picks.
pub struct Embedded {
    pub addr: SocketAddr,
    pub task: JoinHandle<()>,
}

impl Embedded {
    /// The base URL clients use, e.g. `http://127.0.0.1:40123`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Embedded {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves `router` on a fresh loopback port until the returned handle drops.
pub async fn serve_embedded(router: axum::Router) -> std::io::Result<Embedded> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(error = %e, "an embedded mock service stopped");
        }
    });
    Ok(Embedded { addr, task })
}

/// Serves a mock that keeps a ledger on `addr` until the process is stopped,
/// first saying on stdout where it listens (the port, when `addr` asks for
/// any) and which ledger it keeps: `"{name} on http://ADDR (ledger PATH|memory)"`.
pub async fn serve_with_ledger(
    name: &str,
    ledger: Option<&std::path::Path>,
    router: axum::Router,
    addr: SocketAddr,
) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    let ledger = ledger.map_or("memory".to_owned(), |p| p.display().to_string());
    println!(
        "{name} on http://{} (ledger {ledger})",
        listener.local_addr()?
    );
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}

/// Serves `router` on `addr` until the process is stopped; for the
/// `mock-<name>` subcommands.
pub async fn serve_standalone(router: axum::Router, addr: SocketAddr) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    tracing::info!(addr = %listener.local_addr()?, "mock service listening");
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}
