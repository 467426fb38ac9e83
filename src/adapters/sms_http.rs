//! Traveller SMS through a Bangladeshi bulk-SMS gateway over HTTP (reqwest):
//! the adapter behind `app::notify::sms::SmsSender`.
//!
//! One form-encoded `POST <base>/api/smsapi` per message (`wire::sms_gateway`),
//! `type=unicode` for any text GSM-7 cannot carry (Bangla), with the message's
//! reference as `csms_id`. The answer is sorted into sent, refused for good
//! (an invalid number, a bad sender id, a malformed message) and refused for
//! now (everything else: timeouts, 5xx, an internal error, no balance, and a
//! wrong API key, which an operator fixes without the messages being lost).

use async_trait::async_trait;
use std::time::Duration;

use crate::app::notify::sms::{Sms, SmsError, SmsReceipt, SmsSender};
use crate::domain::sms::{SmsEncoding, msisdn, segments};
use crate::wire::sms_gateway::*;

/// Why the gateway settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SmsSetupError {
    #[error("bad SMS gateway URL '{0}': it must be http:// or https://")]
    Url(String),
    #[error("the SMS sender id must be 1 to 20 printable characters")]
    SenderId,
    #[error("building the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

/// Where and as whom messages are sent.
#[derive(Clone)]
pub struct SmsGatewaySettings {
    /// The gateway's base URL, e.g. `https://bulksmsbd.net` (without `/api/smsapi`).
    pub url: String,
    pub api_key: String,
    /// The sender id (masking) the traveller sees, e.g. `BDRAILWAY`.
    pub sender_id: String,
    /// How long one request may take before it counts as refused for now.
    pub timeout: Duration,
}

/// Shows everything but the API key, so settings can be logged.
impl std::fmt::Debug for SmsGatewaySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsGatewaySettings")
            .field("url", &crate::store::redact_url(&self.url))
            .field("api_key", &"***")
            .field("sender_id", &self.sender_id)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// A client for one gateway account.
pub struct HttpSmsSender {
    client: reqwest::Client,
    endpoint: String,
    api_key: String,
    sender_id: String,
}

impl HttpSmsSender {
    pub fn new(settings: &SmsGatewaySettings) -> Result<HttpSmsSender, SmsSetupError> {
        let base = settings.url.trim_end_matches('/');
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(SmsSetupError::Url(settings.url.clone()));
        }
        let id = settings.sender_id.trim();
        if id.is_empty() || id.chars().count() > 20 || id.chars().any(char::is_control) {
            return Err(SmsSetupError::SenderId);
        }
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(5)))
            .build()?;
        Ok(HttpSmsSender {
            client,
            endpoint: format!("{base}{SEND_PATH}"),
            api_key: settings.api_key.clone(),
            sender_id: id.to_owned(),
        })
    }
}

/// Sorts a refusal code into for good or for now.
fn refusal(answer: &SendAnswer) -> SmsError {
    let why = format!(
        "gateway refused ({}): {}",
        answer.response_code, answer.error_message
    );
    match answer.response_code {
        CODE_INVALID_NUMBER | CODE_BAD_SENDER | CODE_BAD_REQUEST => SmsError::Rejected(why),
        _ => SmsError::Transient(why),
    }
}

#[async_trait]
impl SmsSender for HttpSmsSender {
    async fn send(&self, sms: &Sms) -> Result<SmsReceipt, SmsError> {
        let encoding = SmsEncoding::of(&sms.text);
        let form = SendForm {
            api_key: self.api_key.clone(),
            sender_id: self.sender_id.clone(),
            number: msisdn(&sms.to),
            message: sms.text.clone(),
            kind: encoding.api_type().into(),
            csms_id: Some(sms.reference.clone()),
        };
        // Encoded here: reqwest's `form` is a feature this build leaves out.
        let body = serde_urlencoded::to_string(&form)
            .map_err(|e| SmsError::Rejected(format!("encoding the form: {e}")))?;
        let response = self
            .client
            .post(&self.endpoint)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .send()
            .await
            .map_err(|e| SmsError::Transient(format!("SMS gateway unreachable: {e}")))?;
        let status = response.status();
        let body = response
            .text()
            .await
            .map_err(|e| SmsError::Transient(format!("SMS gateway answer lost: {e}")))?;
        let answer: SendAnswer = match serde_json::from_str(&body) {
            Ok(a) => a,
            // Not the gateway's JSON: a proxy's error page, a gateway restarting.
            Err(_) => {
                let head: String = body.chars().take(120).collect();
                return Err(SmsError::Transient(format!(
                    "SMS gateway answered {status}: {head}"
                )));
            }
        };
        if answer.response_code != CODE_ACCEPTED {
            return Err(refusal(&answer));
        }
        Ok(SmsReceipt {
            provider_id: answer.message_id.unwrap_or_default(),
            encoding,
            segments: segments(&sms.text),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(url: &str, sender: &str) -> SmsGatewaySettings {
        SmsGatewaySettings {
            url: url.into(),
            api_key: "k".into(),
            sender_id: sender.into(),
            timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn bad_settings_are_refused_before_any_message() {
        assert!(matches!(
            HttpSmsSender::new(&settings("ftp://x", "BR")),
            Err(SmsSetupError::Url(_))
        ));
        assert!(matches!(
            HttpSmsSender::new(&settings("http://x", " ")),
            Err(SmsSetupError::SenderId)
        ));
        let ok = HttpSmsSender::new(&settings("http://127.0.0.1:9/", "BDRAILWAY")).unwrap();
        assert_eq!(ok.endpoint, "http://127.0.0.1:9/api/smsapi");
    }

    #[test]
    fn the_api_key_is_never_shown() {
        let shown = format!("{:?}", settings("http://u:pw@gw", "BR"));
        assert!(!shown.contains("\"k\"") && !shown.contains("pw"), "{shown}");
        assert!(shown.contains("***"));
    }

    #[test]
    fn refusals_are_sorted_into_for_good_and_for_now() {
        let answer = |code| SendAnswer {
            response_code: code,
            message_id: None,
            success_message: String::new(),
            error_message: "x".into(),
        };
        for code in [CODE_INVALID_NUMBER, CODE_BAD_SENDER, CODE_BAD_REQUEST] {
            assert!(matches!(refusal(&answer(code)), SmsError::Rejected(_)));
        }
        for code in [CODE_INTERNAL, CODE_NO_BALANCE, CODE_BAD_KEY, 9999] {
            assert!(matches!(refusal(&answer(code)), SmsError::Transient(_)));
        }
    }
}
