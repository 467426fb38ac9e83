//! Accepting connections: our own loop instead of `axum::serve`, because the
//! server must bound what one client can hold open.
//!
//! - Headers must arrive within `header_read_timeout` (hyper closes the
//!   connection otherwise): a client that opens connections and never
//!   finishes a request gives them up quickly. Hyper runs the same timer
//!   while a keep-alive connection waits for its next request.
//! - A connection with no bytes in either direction for `idle_timeout` is
//!   closed (a stalled body, a dead peer). Live streams send a keep-alive
//!   comment every 15 s, so they never look idle.
//! - One client address holds at most `max_per_ip` connections; past that a
//!   new connection is closed at once, so one address cannot use up the
//!   process's file descriptors and `/healthz` stays reachable for others.
//!   This cap counts the TCP peer, never a forwarded client: it is decided at
//!   accept, before any header arrives, and the peer is who holds the socket
//!   (behind a load balancer, the balancer: raise the cap to its pool size).
//! - Every request carries its client address ([`ClientIp`]): the peer, or
//!   the client a trusted proxy names (`client_addr`).
//!
//! Graceful shutdown stops accepting, asks every connection to finish its
//! request in flight, and waits for them.

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tower::ServiceExt;

use super::client_addr::{ClientIp, TrustedProxies};

/// Per-connection bounds.
#[derive(Debug, Clone, Copy)]
pub struct ConnLimits {
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_per_ip: usize,
}

impl Default for ConnLimits {
    fn default() -> Self {
        ConnLimits {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_per_ip: 256,
        }
    }
}

/// Open connections per client address.
#[derive(Default)]
struct PerIp {
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One counted connection; dropping it gives the slot back.
struct Slot {
    ip: IpAddr,
    table: Arc<PerIp>,
}

impl PerIp {
    fn take(self: &Arc<Self>, ip: IpAddr, cap: usize) -> Option<Slot> {
        let mut open = self.open.lock();
        let n = open.entry(ip).or_insert(0);
        if *n >= cap {
            return None;
        }
        *n += 1;
        Some(Slot {
            ip,
            table: self.clone(),
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.table.open.lock();
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// A stream that notes when bytes last moved, for the idle timeout.
struct Tracked {
    inner: TcpStream,
    start: Instant,
    /// Milliseconds after `start` of the last read or write.
    last: Arc<AtomicU64>,
}

impl Tracked {
    fn touch(&self) {
        let ms = self.start.elapsed().as_millis() as u64;
        self.last.store(ms, Ordering::Relaxed);
    }
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.touch();
        }
        r
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then drains.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnLimits,
    proxies: Arc<TrustedProxies>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let per_ip = Arc::new(PerIp::default());
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            () = &mut shutdown => break,
        };
        // Reap finished connections so the set does not grow.
        while connections.try_join_next().is_some() {}
        let (stream, addr) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors or a connection reset before accept:
                // back off briefly instead of spinning, then go on serving.
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(slot) = per_ip.take(addr.ip(), limits.max_per_ip) else {
            tracing::debug!(client = %addr.ip(), "connection refused: too many from this address");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        connections.spawn(connection(
            stream,
            addr,
            router.clone(),
            limits,
            proxies.clone(),
            stopping.clone(),
            slot,
        ));
    }
    drop(listener);
    let _ = stop.send(true);
    while connections.join_next().await.is_some() {}
    Ok(())
}

async fn connection(
    stream: TcpStream,
    addr: SocketAddr,
    router: Router,
    limits: ConnLimits,
    proxies: Arc<TrustedProxies>,
    mut stopping: tokio::sync::watch::Receiver<bool>,
    _slot: Slot,
) {
    let last = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let io = TokioIo::new(Tracked {
        inner: stream,
        start,
        last: last.clone(),
    });
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        let client = proxies.client_of(addr.ip(), req.headers());
        req.extensions_mut().insert(ConnectInfo(addr));
        req.extensions_mut().insert(ClientIp(client));
        router.clone().oneshot(req)
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    let mut draining = false;
    let mut check_at = start + limits.idle_timeout;
    loop {
        tokio::select! {
            done = conn.as_mut() => {
                if let Err(e) = done {
                    tracing::debug!(client = %addr, error = %e, "connection ended with an error");
                }
                return;
            }
            changed = stopping.changed(), if !draining => {
                if changed.is_err() || *stopping.borrow() {
                    draining = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
            () = tokio::time::sleep_until(check_at) => {
                let idle_since = start + Duration::from_millis(last.load(Ordering::Relaxed));
                if idle_since + limits.idle_timeout <= Instant::now() {
                    tracing::debug!(client = %addr, "closing an idle connection");
                    return;
                }
                check_at = idle_since + limits.idle_timeout;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_holds_at_most_its_cap_and_gets_slots_back() {
        let table = Arc::new(PerIp::default());
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        let slots: Vec<_> = (0..3).map(|_| table.take(ip, 3).unwrap()).collect();
        assert!(table.take(ip, 3).is_none(), "the fourth is refused");
        assert!(table.take(other, 3).is_some(), "another address is not");
        drop(slots);
        assert!(table.take(ip, 3).is_some());
        assert!(
            table.open.lock().get(&other).is_none(),
            "empty entries are forgotten"
        );
    }
}
