//! The mobile-wallet provider in tests: orders paid by wallet, the
//! passenger's approval on the provider's page, callbacks signed as the
//! provider signs them, waiting for an order to settle, and the built
//! `ticketctl mock-wallet` as a process of its own.

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ticketctl::app::AppConfig;
use ticketctl::app::wallet::{RemoteWallet, WalletConfig};
use ticketctl::domain::wallet::{SIGNATURE_HEADER, sign};
use ticketctl::domain::{HoldId, Order, OrderId, OrderStatus};
use ticketctl::outside::wallet::TEST_MERCHANT_KEY;

use super::server::{Reply, TestApp, test_config};

/// Test numbers of the mock provider (see `outside::wallet`).
pub const PAYS: &str = "01711000001";
pub const CANCELS: &str = "01711000002";
pub const INSUFFICIENT: &str = "01711009995";
pub const LATE: &str = "01711000119";
pub const DUPLICATES: &str = "01711000333";
pub const NO_CALLBACK: &str = "01711000259";

/// How long an order awaits its wallet payment in these tests (the hold's
/// TTL is the default 10 minutes).
pub const PAYMENT_TIMEOUT_SECS: i64 = 120;

/// The suite's config with wallet payments awaited `PAYMENT_TIMEOUT_SECS`, a
/// late success (…0119) completing after 2 s and callbacks retried quickly.
pub fn wallet_config() -> AppConfig {
    AppConfig {
        wallet: WalletConfig {
            payment_timeout: chrono::Duration::seconds(PAYMENT_TIMEOUT_SECS),
            late_delay: Some(Duration::from_secs(2)),
            callback_backoff: Duration::from_millis(50),
            ..WalletConfig::default()
        },
        ..test_config()
    }
}

/// Places the order for a hold under `key`, paying with wallet `number`.
pub async fn order(
    t: &TestApp,
    token: &str,
    key: &str,
    hold_id: HoldId,
    passengers: usize,
    number: &str,
) -> Reply {
    let names: Vec<Value> = (0..passengers)
        .map(|i| json!({ "name": format!("Passenger {i}") }))
        .collect();
    let body = json!({ "hold_id": hold_id, "passengers": names,
                       "wallet": { "provider": "bkash", "number": number } });
    let req = t
        .client
        .post(t.url("/v1/orders"))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .json(&body);
    Reply::from_response(req.send().await.expect("request reaches the server")).await
}

/// An order answered 202 awaiting its payment: its id and the provider's page.
pub fn awaiting(reply: &Reply) -> (OrderId, String, String) {
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
    assert_eq!(reply.body["status"], "awaiting_payment", "{}", reply.body);
    let w = &reply.body["wallet"];
    assert_eq!(w["state"], "initiated", "{}", reply.body);
    (
        OrderId(reply.body["order_id"].as_i64().unwrap()),
        w["redirect_url"].as_str().expect("redirect_url").to_owned(),
        w["payment_id"].as_str().expect("payment_id").to_owned(),
    )
}

/// The passenger approves (or cancels: `what`) on the provider's page.
pub async fn on_page(
    client: &reqwest::Client,
    page: &str,
    what: &str,
    number: Option<&str>,
) -> (u16, Value) {
    let body = match number {
        Some(n) => json!({ "number": n }),
        None => json!({}),
    };
    let r = client
        .post(format!("{page}/{what}"))
        .json(&body)
        .send()
        .await
        .expect("the provider answers");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// The order as stored, once it reaches `status` (callbacks arrive on their
/// own time); fails after 30 s.
pub async fn wait_for(t: &TestApp, order_id: OrderId, status: OrderStatus) -> Order {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let o = t.app.raw_store().order(order_id).await.unwrap().unwrap();
        if o.status == status {
            return o;
        }
        assert!(
            Instant::now() < deadline,
            "order {order_id} is {} not {status}",
            o.status
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A merchant's call at the provider of `t` (merchant key).
pub async fn provider_get(t: &TestApp, path: &str) -> Value {
    merchant_get(&t.app.wallet.base_url(), path).await
}

pub async fn merchant_get(base: &str, path: &str) -> Value {
    let r = reqwest::Client::new()
        .get(format!("{base}{path}"))
        .bearer_auth(TEST_MERCHANT_KEY)
        .send()
        .await
        .expect("the provider answers");
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.unwrap()
}

/// Waits until the provider's record of `payment_id` satisfies `ok`.
pub async fn wait_at_provider(t: &TestApp, payment_id: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let p = provider_get(t, &format!("/v1/payments/{payment_id}")).await;
        if ok(&p) {
            return p;
        }
        assert!(Instant::now() < deadline, "the provider still says {p}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The callback the provider would send for a payment.
pub fn callback_body(payment_id: &str, order_id: OrderId, status: &str, amount: i64) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "payment_id": payment_id,
        "merchant_invoice": format!("order-{order_id}"),
        "status": status,
        "amount": amount,
        "trx_id": "TRXTEST1",
    }))
    .unwrap()
}

/// Posts `body` as a callback signed with `key` at `timestamp` (`None`: unsigned).
pub async fn post_callback(t: &TestApp, body: &[u8], signed: Option<(&str, i64)>) -> Reply {
    let mut req = t
        .client
        .post(t.url("/v1/payments/wallet/callback"))
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some((key, ts)) = signed {
        req = req.header(SIGNATURE_HEADER, sign(key.as_bytes(), ts, body));
    }
    Reply::from_response(req.send().await.expect("the server answers")).await
}

/// Posts `body` signed as the provider signs it, now on the app's clock.
pub async fn post_signed(t: &TestApp, body: &[u8]) -> Reply {
    post_callback(t, body, Some((TEST_MERCHANT_KEY, t.app.now().timestamp()))).await
}

/// The built `ticketctl mock-wallet` on a port of its own.
pub struct WalletProcess {
    child: Child,
    pub url: String,
}

impl WalletProcess {
    pub async fn start(flags: &[&str]) -> WalletProcess {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_ticketctl"))
            .args(["mock-wallet", "--listen", &format!("127.0.0.1:{port}")])
            .args(flags)
            .env("TICKETCTL_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start ticketctl mock-wallet");
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = reqwest::Client::new();
        while !client
            .get(format!("{url}/v1/ledger/summary"))
            .bearer_auth(TEST_MERCHANT_KEY)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            assert!(Instant::now() < deadline, "the mock wallet did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        WalletProcess { child, url }
    }

    /// The app-side settings that use this provider.
    pub fn config(&self, base: WalletConfig) -> WalletConfig {
        WalletConfig {
            remote: Some(RemoteWallet {
                url: self.url.clone(),
                merchant_key: TEST_MERCHANT_KEY.into(),
            }),
            ..base
        }
    }
}

impl Drop for WalletProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
