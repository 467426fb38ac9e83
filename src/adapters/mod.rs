//! Adapters: the outside technologies ticketctl talks to — QR images, SMTP
//! e-mail, an SMS gateway, NATS JetStream, the NID registry — each behind a small port.
//!
//! `app` declares the ports it needs (`notify::Mailer`, `relay::EventPublisher`,
//! `nid::NidRegistry`) and knows none of these crates; the composition roots
//! (`commands`, tests) plug adapters in. `server` and `tui` draw QR codes with `qr` directly: a
//! picture of a payload is presentation, not a use case.

pub mod gateway_http;
pub mod nats;
pub mod nid_http;
pub mod qr;
pub mod sms_http;
pub mod smtp;
pub mod wallet_http;
