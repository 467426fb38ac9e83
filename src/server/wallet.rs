//! The mobile-wallet provider's callback: public (no JWT; the provider signs
//! it with the merchant key), thin: the raw body and its signature header go
//! to the app, which checks both before it reads anything.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;

use crate::app::App;
use crate::domain::wallet::SIGNATURE_HEADER;
use crate::wire::problem::Problem;
use crate::wire::wallet::{CallbackAck, WalletCallback};

use super::error::ApiResult;

#[utoipa::path(post, path = "/v1/payments/wallet/callback", tag = "booking",
    params(("x-wallet-signature" = String, Header, description = "`t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\" with the merchant key>`")),
    request_body = WalletCallback,
    responses(
        (status = 200, description = "Taken (an exact duplicate is answered the same and changes nothing): the order as it now stands", body = CallbackAck),
        (status = 401, description = "`unauthorized`: no signature, a forged one, or a stale timestamp; nothing changed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: no such wallet payment", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`conflict`: another callback was already taken for this payment (a replay); nothing changed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid-field`: not a callback, or not this payment's invoice or amount", body = Problem, content_type = "application/problem+json"),
    ))]
/// The wallet provider reports a payment's outcome.
pub async fn callback(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<CallbackAck>> {
    let signature = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    Ok(Json(app.wallet_callback(signature, &body).await?))
}
