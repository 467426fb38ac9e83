//! The SMS gateway's contract: not ticketctl's own API, but the shape
//! Bangladeshi bulk-SMS providers publish (BulkSMSBD's `POST /api/smsapi`,
//! with SSL Wireless's per-message `csms_id`), written once for the client
//! (`adapters::sms_http`) and the mock gateway we ship (`outside::sms`).
//!
//! A request is form-encoded; the answer is JSON with a numeric
//! `response_code`: 202 accepted, anything else refused, whatever the HTTP status.

use serde::{Deserialize, Serialize};

/// The path messages are posted to.
pub const SEND_PATH: &str = "/api/smsapi";

/// Accepted for delivery.
pub const CODE_ACCEPTED: u16 = 202;
/// The number is not a mobile number the provider can reach.
pub const CODE_INVALID_NUMBER: u16 = 1001;
/// The sender id is unknown or disabled for this account.
pub const CODE_BAD_SENDER: u16 = 1002;
/// A field is missing or malformed (an empty or over-long message, a bad `type`).
pub const CODE_BAD_REQUEST: u16 = 1003;
/// The provider failed inside; the same request may succeed later.
pub const CODE_INTERNAL: u16 = 1005;
/// The account's balance is spent; messages go out again once it is topped up.
pub const CODE_NO_BALANCE: u16 = 1007;
/// The API key is not known.
pub const CODE_BAD_KEY: u16 = 1011;

/// `POST /api/smsapi`, form-encoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendForm {
    pub api_key: String,
    #[serde(rename = "senderid")]
    pub sender_id: String,
    /// `8801XXXXXXXXX`.
    pub number: String,
    pub message: String,
    /// `text` (GSM-7) or `unicode` (UCS-2, for Bangla).
    #[serde(rename = "type")]
    pub kind: String,
    /// The sender's reference for this message, the same on every retry: a
    /// provider that has seen it answers as before and sends nothing again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csms_id: Option<String>,
}

/// The answer to a send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendAnswer {
    pub response_code: u16,
    /// The provider's id of an accepted message.
    #[serde(default)]
    pub message_id: Option<String>,
    #[serde(default)]
    pub success_message: String,
    #[serde(default)]
    pub error_message: String,
}

/// What the mock gateway received (`GET /messages?to=…`): its own test
/// interface, not part of any provider's API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Received {
    /// Every request for the number, in arrival order, accepted or not.
    pub attempts: Vec<Attempt>,
    /// The messages accepted for delivery: once each, however often sent.
    pub messages: Vec<Delivered>,
}

/// One request the mock answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    pub number: String,
    pub csms_id: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub at_ms: i64,
    pub response_code: u16,
    /// A repeat of a reference already accepted (answered 202, not sent again).
    pub duplicate: bool,
}

/// One message accepted for delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivered {
    pub message_id: String,
    pub number: String,
    pub sender_id: String,
    pub message: String,
    /// As sent: `text` or `unicode`.
    #[serde(rename = "type")]
    pub kind: String,
    pub csms_id: Option<String>,
    pub segments: u32,
    pub at_ms: i64,
}
