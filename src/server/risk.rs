//! Fraud-velocity endpoints: admins list decisions and clear blocks; a
//! passenger asks for a step-up code by SMS. The code itself comes back in
//! the `X-Step-Up-Code` header of the request that was stepped up
//! (`step_up`, called by those handlers).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};

use crate::app::App;
use crate::domain::Role;
use crate::domain::time::to_local_rfc3339;
use crate::store::RiskDecision;
use crate::wire::problem::Problem;
use crate::wire::risk::{
    RiskClearRequest, RiskCleared, RiskDecisionList, RiskDecisionView, RiskListQuery, StepUpSent,
};

use super::auth::Caller;
use super::error::ApiResult;
use super::extract::{ApiJson, ApiQuery};

/// The header a stepped-up request is sent again with.
pub const STEP_UP_HEADER: &str = "x-step-up-code";

/// Passes the caller's step-up first when the request carries a code.
pub(super) async fn step_up(app: &App, caller: &Caller, headers: &HeaderMap) -> ApiResult<()> {
    if let Some(code) = headers.get(STEP_UP_HEADER) {
        let code = code.to_str().unwrap_or_default().trim();
        app.pass_step_up(caller.id(), code).await?;
    }
    Ok(())
}

fn view(d: RiskDecision) -> RiskDecisionView {
    RiskDecisionView {
        active: d.is_active_block(),
        id: d.id,
        rule: d.rule,
        outcome: d.outcome,
        subject_kind: d.subject_kind,
        subject: d.subject,
        reason: d.reason,
        user_id: d.user_id,
        created_at: to_local_rfc3339(d.created_at),
        cleared_at: d.cleared_at.map(to_local_rfc3339),
        cleared_by: d.cleared_by,
    }
}

#[utoipa::path(get, path = "/v1/admin/risk", tag = "admin", security(("bearer" = [])),
    params(RiskListQuery),
    responses(
        (status = 200, description = "Step-ups and blocks the velocity rules decided, newest first", body = RiskDecisionList),
        (status = 403, description = "`forbidden`: admins only", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(app): State<App>,
    caller: Caller,
    ApiQuery(q): ApiQuery<RiskListQuery>,
) -> ApiResult<Json<RiskDecisionList>> {
    caller.require(Role::Admin)?;
    let decisions = app
        .risk_decisions(q.active.unwrap_or(false))
        .await?
        .into_iter()
        .map(view)
        .collect();
    Ok(Json(RiskDecisionList { decisions }))
}

#[utoipa::path(post, path = "/v1/admin/risk/clear", tag = "admin", security(("bearer" = [])),
    request_body = RiskClearRequest,
    responses(
        (status = 200, description = "The subject's blocks are cleared and its counters start afresh", body = RiskCleared),
        (status = 403, description = "`forbidden`: admins only", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: no block in force on that subject", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid-field` (`subject`, `value`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn clear(
    State(app): State<App>,
    caller: Caller,
    ApiJson(b): ApiJson<RiskClearRequest>,
) -> ApiResult<Json<RiskCleared>> {
    caller.require(Role::Admin)?;
    let cleared = app
        .clear_risk(&b.subject, &b.value, Some(caller.id()))
        .await?;
    Ok(Json(RiskCleared { cleared }))
}

#[utoipa::path(post, path = "/v1/me/step-up/sms", tag = "identity", security(("bearer" = [])),
    responses(
        (status = 202, description = "A 6-digit code is on its way to the account's phone; send it as `X-Step-Up-Code` with the request that was stepped up", body = StepUpSent),
        (status = 429, description = "`step-up-throttled`: too many codes asked for (`Retry-After`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn send_sms(
    State(app): State<App>,
    caller: Caller,
) -> ApiResult<(StatusCode, Json<StepUpSent>)> {
    let (sent_to, expires_in) = app.send_step_up_sms(caller.id()).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(StepUpSent {
            sent_to,
            expires_in,
        }),
    ))
}
