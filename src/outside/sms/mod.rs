//! The mock SMS gateway: a Bangladeshi bulk-SMS provider as tests and the
//! demo need one (`ticketctl mock-sms`, or embedded by `serve` without `--sms-url`).
//!
//! It speaks the provider's form (`wire::sms_gateway`): `POST /api/smsapi`
//! with `api_key`, `senderid`, `number`, `message`, `type` and an optional
//! `csms_id`, answered with a JSON `response_code`. It keeps what it received
//! in memory (and, if asked, one JSON line per accepted message in a file),
//! and shows it at `GET /messages?to=NUMBER`. It sends nothing anywhere.
//!
//! A repeated `csms_id` is answered 202 with the first message id and not
//! kept again, as providers with a client reference do: a sender that resends
//! after losing an answer (at-least-once) does not text the traveller twice.
//!
//! Test numbers behave on purpose (see [`TestNumber`]): one fails for a while,
//! one is invalid for good, one is slow.

use axum::extract::{Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::domain::sms::{SmsEncoding, msisdn, segments};
use crate::wire::sms_gateway::*;

/// The longest message accepted, in characters (about 7 UCS-2 segments):
/// a ticket notice is one or two segments; anything this long is a mistake.
pub const MAX_MESSAGE_CHARS: usize = 480;

/// How the mock is run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The key every request must carry; `None` takes any key.
    pub api_key: Option<String>,
    /// How long the slow test number takes to answer.
    pub slow: Duration,
    /// Where accepted messages are appended as JSON lines, if anywhere.
    pub log_file: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            api_key: None,
            slow: Duration::from_secs(3),
            log_file: None,
        }
    }
}

/// Numbers with a behaviour, for tests and rehearsals (the rest are accepted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestNumber {
    /// `880199900001N`, N in 1..=9: refused with 1005 (internal error, try
    /// again) N times, then accepted.
    FailsTimes(u32),
    /// `8801999000020`: refused with 1001 (invalid number) every time.
    Invalid,
    /// `8801999000030`: accepted after `Settings::slow`.
    Slow,
}

impl TestNumber {
    pub const INVALID: &'static str = "8801999000020";
    pub const SLOW: &'static str = "8801999000030";

    /// The number that fails `times` (1..=9) times before it is accepted.
    pub fn failing(times: u32) -> String {
        format!("880199900001{}", times.clamp(1, 9))
    }

    fn of(number: &str) -> Option<TestNumber> {
        match number {
            Self::INVALID => Some(TestNumber::Invalid),
            Self::SLOW => Some(TestNumber::Slow),
            _ => {
                let n = number.strip_prefix("880199900001")?;
                let times = n.parse::<u32>().ok().filter(|t| (1..=9).contains(t))?;
                (n.len() == 1).then_some(TestNumber::FailsTimes(times))
            }
        }
    }
}

/// The mock's state, shared by its handlers; clone freely.
#[derive(Clone)]
pub struct MockSms {
    inner: Arc<Inner>,
}

struct Inner {
    settings: Settings,
    seen: Mutex<Seen>,
    next_id: AtomicU64,
}

#[derive(Default)]
struct Seen {
    attempts: Vec<Attempt>,
    delivered: Vec<Delivered>,
    /// Message id of each accepted `csms_id`.
    by_reference: HashMap<String, String>,
    /// Refusals so far of each failing test number.
    failures: HashMap<String, u32>,
}

impl MockSms {
    pub fn new(settings: Settings) -> MockSms {
        MockSms {
            inner: Arc::new(Inner {
                settings,
                seen: Mutex::default(),
                next_id: AtomicU64::new(1),
            }),
        }
    }

    /// The gateway's HTTP interface.
    pub fn router(&self) -> Router {
        Router::new()
            .route(SEND_PATH, post(send))
            .route("/messages", get(messages))
            .with_state(self.clone())
    }

    /// What was received for `number` (any form), or for every number.
    pub fn received(&self, number: Option<&str>) -> Received {
        let to = number.map(msisdn);
        let wanted = |n: &str| to.as_deref().is_none_or(|t| t == n);
        let seen = self.seen();
        Received {
            attempts: seen
                .attempts
                .iter()
                .filter(|a| wanted(&a.number))
                .cloned()
                .collect(),
            messages: seen
                .delivered
                .iter()
                .filter(|m| wanted(&m.number))
                .cloned()
                .collect(),
        }
    }

    /// The state, even after a panic elsewhere: it is append-only records.
    fn seen(&self) -> MutexGuard<'_, Seen> {
        self.inner.seen.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Checks a request as a provider would; `Err` is the refusal code and reason.
    fn check(&self, form: &SendForm) -> Result<SmsEncoding, (u16, String)> {
        if let Some(key) = &self.inner.settings.api_key
            && *key != form.api_key
        {
            return Err((CODE_BAD_KEY, "User Id not found".into()));
        }
        if form.sender_id.trim().is_empty() {
            return Err((CODE_BAD_SENDER, "sender id is not correct".into()));
        }
        let reachable = form.number.len() == 13
            && form.number.starts_with("8801")
            && matches!(form.number.as_bytes()[4], b'3'..=b'9')
            && form.number.bytes().all(|b| b.is_ascii_digit());
        if !reachable || TestNumber::of(&form.number) == Some(TestNumber::Invalid) {
            return Err((CODE_INVALID_NUMBER, "Invalid Number".into()));
        }
        let chars = form.message.chars().count();
        if chars == 0 || chars > MAX_MESSAGE_CHARS {
            return Err((
                CODE_BAD_REQUEST,
                format!("message must have 1 to {MAX_MESSAGE_CHARS} characters"),
            ));
        }
        let kind = SmsEncoding::from_api_type(&form.kind)
            .ok_or_else(|| (CODE_BAD_REQUEST, "type must be text or unicode".into()))?;
        // A real gateway would mangle it; refusing makes the sender's mistake visible.
        if kind == SmsEncoding::Gsm7 && SmsEncoding::of(&form.message) == SmsEncoding::Ucs2 {
            return Err((CODE_BAD_REQUEST, "this message needs type=unicode".into()));
        }
        Ok(kind)
    }

    /// Handles one send; the answer and whether it was a repeat.
    fn accept(&self, form: &SendForm) -> SendAnswer {
        let at_ms = chrono::Utc::now().timestamp_millis();
        let outcome = self.check(form);
        let mut seen = self.seen();
        let mut attempt = Attempt {
            number: form.number.clone(),
            csms_id: form.csms_id.clone(),
            at_ms,
            response_code: CODE_ACCEPTED,
            duplicate: false,
        };
        let answer = match outcome {
            Err((code, why)) => refused(code, why),
            Ok(kind) => {
                let repeat = form
                    .csms_id
                    .as_ref()
                    .and_then(|r| seen.by_reference.get(r))
                    .cloned();
                if let Some(id) = repeat {
                    attempt.duplicate = true;
                    accepted(id)
                } else {
                    self.deliver(&mut seen, form, kind, at_ms)
                }
            }
        };
        attempt.response_code = answer.response_code;
        seen.attempts.push(attempt);
        answer
    }

    /// A new message: refused if its number is still to fail, else kept.
    fn deliver(
        &self,
        seen: &mut Seen,
        form: &SendForm,
        kind: SmsEncoding,
        at_ms: i64,
    ) -> SendAnswer {
        {
            let fail_times = match TestNumber::of(&form.number) {
                Some(TestNumber::FailsTimes(n)) => n,
                _ => 0,
            };
            let failed = seen.failures.entry(form.number.clone()).or_default();
            if *failed < fail_times {
                *failed += 1;
                refused(CODE_INTERNAL, "Internal Error".into())
            } else {
                let id = format!(
                    "mock-{}",
                    self.inner.next_id.fetch_add(1, Ordering::Relaxed)
                );
                let delivered = Delivered {
                    message_id: id.clone(),
                    number: form.number.clone(),
                    sender_id: form.sender_id.clone(),
                    message: form.message.clone(),
                    kind: kind.api_type().into(),
                    csms_id: form.csms_id.clone(),
                    segments: segments(&form.message),
                    at_ms,
                };
                self.log(&delivered);
                if let Some(r) = &form.csms_id {
                    seen.by_reference.insert(r.clone(), id.clone());
                }
                seen.delivered.push(delivered);
                accepted(id)
            }
        }
    }

    /// Appends an accepted message to the log file; a failure is logged, not
    /// answered (the message was accepted).
    fn log(&self, message: &Delivered) {
        let Some(path) = &self.inner.settings.log_file else {
            return;
        };
        let line = serde_json::to_string(message).unwrap_or_default();
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| writeln!(f, "{line}"));
        if let Err(e) = written {
            tracing::warn!(error = %e, path = %path.display(), "mock SMS gateway: cannot log a message");
        }
    }
}

fn accepted(message_id: String) -> SendAnswer {
    SendAnswer {
        response_code: CODE_ACCEPTED,
        message_id: Some(message_id),
        success_message: "SMS Submitted Successfully".into(),
        error_message: String::new(),
    }
}

fn refused(code: u16, why: String) -> SendAnswer {
    SendAnswer {
        response_code: code,
        message_id: None,
        success_message: String::new(),
        error_message: why,
    }
}

/// `POST /api/smsapi`. Read by hand so a malformed form gets the provider's
/// JSON refusal (1003), not the framework's plain-text one.
async fn send(State(mock): State<MockSms>, body: axum::body::Bytes) -> Json<SendAnswer> {
    let form: SendForm = match serde_urlencoded::from_bytes(&body) {
        Ok(f) => f,
        Err(e) => return Json(refused(CODE_BAD_REQUEST, format!("bad form: {e}"))),
    };
    if TestNumber::of(&form.number) == Some(TestNumber::Slow) {
        tokio::time::sleep(mock.inner.settings.slow).await;
    }
    Json(mock.accept(&form))
}

#[derive(Debug, serde::Deserialize)]
struct To {
    to: Option<String>,
}

/// `GET /messages?to=NUMBER`: what the number was sent (all numbers without `to`).
async fn messages(State(mock): State<MockSms>, Query(q): Query<To>) -> Json<Received> {
    Json(mock.received(q.to.as_deref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(number: &str, message: &str, reference: Option<&str>) -> SendForm {
        SendForm {
            api_key: "k".into(),
            sender_id: "BR".into(),
            number: number.into(),
            message: message.into(),
            kind: SmsEncoding::of(message).api_type().into(),
            csms_id: reference.map(str::to_owned),
        }
    }

    #[test]
    fn test_numbers_behave_as_documented() {
        let mock = MockSms::new(Settings::default());
        let failing = TestNumber::failing(2);
        let codes: Vec<u16> = (0..4)
            .map(|_| mock.accept(&form(&failing, "hi", None)).response_code)
            .collect();
        assert_eq!(
            codes,
            [CODE_INTERNAL, CODE_INTERNAL, CODE_ACCEPTED, CODE_ACCEPTED]
        );
        for _ in 0..3 {
            let a = mock.accept(&form(TestNumber::INVALID, "hi", None));
            assert_eq!(a.response_code, CODE_INVALID_NUMBER);
        }
        assert_eq!(
            mock.accept(&form("8801212345678", "hi", None))
                .response_code,
            CODE_INVALID_NUMBER
        );
        assert_eq!(TestNumber::of(TestNumber::SLOW), Some(TestNumber::Slow));
        assert_eq!(TestNumber::of("8801999000010"), None);
        assert_eq!(TestNumber::of("88019990000111"), None);
    }

    #[test]
    fn a_repeated_reference_is_kept_once() {
        let mock = MockSms::new(Settings::default());
        let first = mock.accept(&form("8801712345678", "hi", Some("ev1")));
        let again = mock.accept(&form("8801712345678", "hi", Some("ev1")));
        assert_eq!(first, again);
        let other = mock.accept(&form("8801712345678", "hi", Some("ev2")));
        assert_ne!(other.message_id, first.message_id);
        let got = mock.received(Some("+8801712345678"));
        assert_eq!(got.messages.len(), 2);
        assert_eq!(got.attempts.len(), 3);
        assert!(got.attempts[1].duplicate);
    }

    #[test]
    fn bad_requests_are_refused_with_the_providers_codes() {
        let mock = MockSms::new(Settings {
            api_key: Some("secret".into()),
            ..Settings::default()
        });
        assert_eq!(
            mock.accept(&form("8801712345678", "hi", None))
                .response_code,
            CODE_BAD_KEY
        );
        let ok = |f: SendForm| SendForm {
            api_key: "secret".into(),
            ..f
        };
        let bangla_as_text = SendForm {
            kind: "text".into(),
            ..ok(form("8801712345678", "ঢাকা", None))
        };
        assert_eq!(mock.accept(&bangla_as_text).response_code, CODE_BAD_REQUEST);
        let long = ok(form(
            "8801712345678",
            &"a".repeat(MAX_MESSAGE_CHARS + 1),
            None,
        ));
        assert_eq!(mock.accept(&long).response_code, CODE_BAD_REQUEST);
        let unsigned = SendForm {
            sender_id: " ".into(),
            ..ok(form("8801712345678", "hi", None))
        };
        assert_eq!(mock.accept(&unsigned).response_code, CODE_BAD_SENDER);
        let bangla = ok(form("8801712345678", "ঢাকা", None));
        assert_eq!(mock.accept(&bangla).response_code, CODE_ACCEPTED);
        let got = mock.received(None);
        assert_eq!(got.messages.len(), 1);
        assert_eq!(got.messages[0].kind, "unicode");
    }
}
