//! Liveness and readiness probes.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use crate::app::App;
use crate::wire::health::{Liveness, Readiness};

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "probes",
    responses((status = 200, description = "The process is up", body = Liveness)))]
pub async fn healthz() -> Json<Liveness> {
    Json(Liveness {
        status: "ok".to_owned(),
    })
}

fn not_ready(reason: &str) -> (StatusCode, Json<Readiness>) {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(Readiness {
            status: "not ready".to_owned(),
            reason: Some(reason.to_owned()),
        }),
    )
}

/// The process can serve: the database answers and is migrated.
#[utoipa::path(get, path = "/readyz", tag = "probes",
    responses(
        (status = 200, description = "Ready: the database answers and is migrated", body = Readiness),
        (status = 503, description = "Not ready, with the reason", body = Readiness),
    ))]
pub async fn readyz(State(app): State<App>) -> (StatusCode, Json<Readiness>) {
    match app.database_ready().await {
        Ok(true) => (
            StatusCode::OK,
            Json(Readiness {
                status: "ready".to_owned(),
                reason: None,
            }),
        ),
        Ok(false) => not_ready("database is not migrated"),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            not_ready("database unreachable")
        }
    }
}
