//! The HTTP API (axum). Handlers are thin: parse → app call → map.

mod admin;
mod auth;
mod booking;
mod catalog;
pub(crate) mod client_addr;
mod counter;
mod docs;
pub mod error;
mod extract;
mod forwarded;
mod health;
mod identity;
pub mod limits;
mod listener;
mod live;
mod metrics;
mod nid;
pub mod openapi;
mod openapi_input;
mod panic;
mod personal;
mod queue;
mod rate;
mod rate_redis;
pub mod region;
mod request_id;
mod risk;
mod text_rule;
mod trip_ops;
mod wallet;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

use crate::app::App;
use error::ApiError;
use limits::Guard;
pub use limits::Limits;

/// Largest request body accepted; every API body is a small JSON object.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The whole HTTP surface. Health probes, `/metrics` and the API document
/// (`/openapi.json`, `/docs`) sit outside the rate limits and load shedding, so
/// an overloaded server still answers them. Every route here is in the
/// document (`openapi`); a test fails when one is not.
/// Every answer is counted and timed by route (`metrics`) and carries an
/// `x-request-id` that its log lines carry too (`request_id`).
pub fn router(app: App, guard: Arc<Guard>, streams: Arc<live::StreamGate>) -> Router {
    let health = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::scrape))
        .route("/openapi.json", get(docs::openapi_json))
        .route("/docs", get(docs::page))
        .route("/docs/docs.js", get(docs::script))
        .route("/docs/swagger-ui-bundle.js", get(docs::bundle))
        .route("/docs/swagger-ui.css", get(docs::stylesheet))
        .with_state(app.clone());
    let tracked = axum::middleware::from_fn_with_state(app.clone(), metrics::track);
    // Long-lived streams stay clear of the read deadline and in-flight bound;
    // the app caps how many are open.
    let streams = Router::new()
        .route("/v1/trips/{id}/live", get(live::trip_live))
        .with_state(live::LiveState {
            app: app.clone(),
            gate: streams,
        });
    // The passenger web app's pages, behind the same rate limits and load
    // shedding as the API.
    let web = crate::web::router(app.clone())
        .layer(DefaultBodyLimit::max(crate::web::MAX_FORM_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            guard.clone(),
            limits::protect,
        ));
    let api = Router::new()
        .route("/v1/stations", get(catalog::stations))
        .route("/v1/trains", get(catalog::trains))
        .route("/v1/trains/{number}", get(catalog::train))
        .route("/v1/trips", get(catalog::search))
        .route("/v1/trips/{id}", get(catalog::trip))
        .route("/v1/trips/{id}/seats", get(catalog::seats))
        .route("/v1/auth/register", post(identity::register))
        .route("/v1/auth/login", post(identity::login))
        .route("/v1/auth/refresh", post(identity::refresh))
        .route("/v1/auth/logout", post(identity::logout))
        .route("/v1/auth/mfa/enroll", post(identity::mfa_enroll))
        .route("/v1/auth/mfa/verify", post(identity::mfa_verify))
        .route("/v1/me", get(identity::me).delete(personal::erase))
        .route("/v1/me/export", get(personal::export))
        .route("/v1/holds", post(booking::create_hold))
        .route(
            "/v1/holds/{id}",
            get(booking::get_hold).delete(booking::release_hold),
        )
        .route("/v1/payments/gateway", get(booking::card_gateway))
        .route("/v1/payments/tokens", post(booking::register_token))
        .route("/v1/payments/wallet/callback", post(wallet::callback))
        .route("/v1/orders", post(booking::place_order))
        .route("/v1/orders/{id}", get(booking::get_order))
        .route("/v1/orders/{id}/cancel", post(booking::cancel_order))
        .route("/v1/me/orders", get(booking::my_orders))
        .route("/v1/tickets/verify", post(booking::verify_ticket))
        .route("/v1/tickets/public-key", get(booking::public_key))
        .route("/v1/tickets/{id}", get(booking::get_ticket))
        .route("/v1/tickets/{id}/qr.png", get(booking::ticket_png))
        .route("/v1/tickets/{id}/qr.svg", get(booking::ticket_svg))
        .route("/v1/admin/audit/verify", get(booking::audit_verify))
        .route("/v1/queue/{sale}/join", post(queue::join))
        .route("/v1/queue/{sale}/status", get(queue::status))
        .route("/v1/queue/{sale}", axum::routing::delete(queue::leave))
        .route("/v1/admin/queue", post(queue::create))
        .route("/v1/admin/queue/{sale}", post(queue::control))
        .route("/v1/admin/users", get(admin::users))
        .route("/v1/admin/users/{id}/role", put(admin::set_role))
        .route("/v1/admin/stations", post(admin::add_station))
        .route("/v1/admin/trips", post(admin::schedule_trip))
        .route("/v1/admin/trips/{id}/cancel", post(trip_ops::cancel_trip))
        .route("/v1/admin/trips/sale-window", post(trip_ops::sale_window))
        .route("/v1/admin/trips/{id}/delay", post(trip_ops::delay_trip))
        .route("/v1/admin/trips/{id}/coaches", post(trip_ops::add_coach))
        .route(
            "/v1/admin/trips/{id}/coaches/{coach}/sale",
            post(trip_ops::coach_sale),
        )
        .route("/v1/counter/holds", post(counter::hold))
        .route("/v1/counter/orders", post(counter::sell))
        .route("/v1/counter/orders/{id}", get(counter::order))
        .route("/v1/counter/orders/{id}/cancel", post(counter::cancel))
        .route("/v1/counter/lookup", get(counter::lookup))
        .route("/v1/counter/shift", get(counter::shift))
        .route("/v1/counter/nids/report", post(nid::report))
        .route("/v1/me/nid", post(nid::add_nid))
        .route("/v1/admin/nids/flagged", get(nid::flagged))
        .route("/v1/admin/nids/clear", post(nid::clear))
        .route("/v1/admin/risk", get(risk::list))
        .route("/v1/admin/risk/clear", post(risk::clear))
        .route("/v1/me/step-up/sms", post(risk::send_sms))
        .route("/v1/admin/regions", get(region::status))
        .route("/v1/admin/regions/takeover", post(region::takeover))
        .fallback(|| async { ApiError::not_found("no such endpoint") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
                "this endpoint does not take that method",
            )
        })
        // Innermost: limits and shedding apply where the request arrived,
        // then a write for a trip homed elsewhere goes there.
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            region::forward,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(guard, limits::protect))
        .with_state(app);
    health
        .merge(streams)
        .merge(web)
        .merge(api)
        .layer(panic::layer())
        // Outside the panic layer, so a panic's 500 is counted too.
        .layer(tracked)
        .layer(TraceLayer::new_for_http())
        .layer(axum::middleware::from_fn(request_id::tag))
}

/// A bound listener, so callers (tests, `rehearse`) learn the port before serving.
pub struct Server {
    listener: TcpListener,
    app: App,
    limits: Limits,
    guard: Arc<Guard>,
}

impl Server {
    /// Binds `addr`; fails on a Redis URL that cannot be parsed (not on a
    /// Redis that is down: the rate limits then keep their buckets here).
    pub async fn bind(addr: SocketAddr, app: App, limits: Limits) -> std::io::Result<Server> {
        let guard = Guard::new(app.clone(), &limits).map_err(|e| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("Redis URL: {e}"))
        })?;
        let listener = TcpListener::bind(addr).await?;
        // Wallet callbacks come back here unless a public URL is configured.
        app.set_bound_addr(listener.local_addr()?);
        Ok(Server {
            listener,
            app,
            limits,
            guard,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves (with the background workers) until `shutdown` completes, then
    /// finishes in-flight requests and stops the workers.
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let refresher = self.app.spawn_gauge_refresher(stopped.clone());
        let lease = self.app.spawn_region_lease(stopped.clone());
        let mut workers = self.app.spawn_workers(stopped);
        let guard = self.guard;
        let janitor = tokio::spawn({
            let guard = guard.clone();
            async move {
                loop {
                    tokio::time::sleep(std::time::Duration::from_secs(60)).await;
                    guard.forget_idle();
                }
            }
        });
        let live = self.app.live.clone();
        live.ensure_capacity(self.limits.streams.max_streams);
        let streams = live::StreamGate::new(self.limits.streams);
        let shutdown = async move {
            shutdown.await;
            // Long-lived streams would hold graceful shutdown open forever.
            live.close();
        };
        let router = router(self.app, guard, streams);
        let served = listener::serve(
            self.listener,
            router,
            self.limits.connections,
            Arc::new(self.limits.trusted_proxies),
            shutdown,
        )
        .await;
        janitor.abort();
        let _ = stop.send(true);
        let _ = refresher.await;
        while workers.join_next().await.is_some() {}
        if let Some(lease) = lease {
            let _ = lease.await;
        }
        served
    }
}
