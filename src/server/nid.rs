//! NID endpoints: a passenger adds a verified NID to an account that has
//! none, a clerk reports an NID, an admin lists and clears flagged NIDs.
//! NIDs travel in bodies, never in paths, so they stay out of access logs.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use crate::app::App;
use crate::domain::Role;
use crate::domain::time::to_local_rfc3339;
use crate::wire::identity::UserView;
use crate::wire::nid::{
    FlaggedNidView, FlaggedNids, NidClearRequest, NidReportRequest, NidRequest,
};
use crate::wire::problem::Problem;

use super::auth::Caller;
use super::error::ApiResult;
use super::extract::ApiJson;

#[utoipa::path(post, path = "/v1/me/nid", tag = "identity", security(("bearer" = [])),
    request_body = NidRequest,
    responses(
        (status = 200, description = "The NID is verified and bound to the account", body = UserView),
        (status = 409, description = "`conflict`: the account already has an NID, or `nid-taken`: another account has it", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid-field` (`nid`, `date_of_birth`) or `nid-not-verified` (`reason`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`unavailable`: the NID registry cannot be reached (`Retry-After`); nothing changed", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn add_nid(
    State(app): State<App>,
    caller: Caller,
    ApiJson(b): ApiJson<NidRequest>,
) -> ApiResult<Json<UserView>> {
    app.add_nid(caller.id(), &b.nid, &b.date_of_birth).await?;
    Ok(Json(UserView::from(&app.user(caller.id()).await?)))
}

#[utoipa::path(post, path = "/v1/counter/nids/report", tag = "counter", security(("bearer" = [])),
    request_body = NidReportRequest,
    responses(
        (status = 204, description = "The NID is flagged: it cannot buy until an admin clears it"),
        (status = 403, description = "`forbidden`: clerks and admins only", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid-field` (`nid`, `reason`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn report(
    State(app): State<App>,
    caller: Caller,
    ApiJson(b): ApiJson<NidReportRequest>,
) -> ApiResult<StatusCode> {
    caller.require(Role::Clerk)?;
    app.report_nid(caller.id(), &b.nid, &b.reason).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/v1/admin/nids/flagged", tag = "admin", security(("bearer" = [])),
    responses(
        (status = 200, description = "Every flagged NID, oldest flag first", body = FlaggedNids),
        (status = 403, description = "`forbidden`: admins only", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn flagged(State(app): State<App>, caller: Caller) -> ApiResult<Json<FlaggedNids>> {
    caller.require(Role::Admin)?;
    let nids = app
        .flagged_nids()
        .await?
        .into_iter()
        .map(|f| FlaggedNidView {
            nid: f.nid.as_str().to_owned(),
            limit_hits: f.limit_hits,
            flagged_at: to_local_rfc3339(f.flagged_at),
            reason: f.reason,
            reported_by: f.reported_by,
        })
        .collect();
    Ok(Json(FlaggedNids { nids }))
}

#[utoipa::path(post, path = "/v1/admin/nids/clear", tag = "admin", security(("bearer" = [])),
    request_body = NidClearRequest,
    responses(
        (status = 204, description = "Cleared: the NID may buy again, its count of refusals starts afresh"),
        (status = 403, description = "`forbidden`: admins only", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: the NID is not flagged", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid-field` (`nid`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn clear(
    State(app): State<App>,
    caller: Caller,
    ApiJson(b): ApiJson<NidClearRequest>,
) -> ApiResult<StatusCode> {
    caller.require(Role::Admin)?;
    app.clear_nid(&b.nid).await?;
    Ok(StatusCode::NO_CONTENT)
}
