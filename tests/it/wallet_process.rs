//! The mock wallet provider as a process of its own (`ticketctl mock-wallet`),
//! reached over HTTP by the booking server and posting its signed callbacks
//! back to it; and `serve` refusing a wallet payment timeout that is not
//! shorter than the hold's TTL.

use std::process::Command;

use ticketctl::app::AppConfig;
use ticketctl::domain::OrderStatus;

use crate::common::booking_flow::hold;
use crate::common::db::TestDb;
use crate::common::server::{TestApp, tiny_trip};
use crate::common::wallet::{
    CANCELS, PAYS, WalletProcess, awaiting, merchant_get, on_page, order, wait_for, wallet_config,
};

async fn wallet_payments_through_a_provider_process(db: TestDb) {
    let provider = WalletProcess::start(&["--callback-backoff-ms", "50"]).await;
    let base = wallet_config();
    let config = AppConfig {
        wallet: provider.config(base.wallet.clone()),
        ..base
    };
    let t = TestApp::start_with(db, config).await;
    let trip = tiny_trip(&t.app, 4).await;

    let (_, token, hold_id) = hold(&t, trip, 1, 2).await;
    let (paid, page, _) = awaiting(&order(&t, &token, "p-1", hold_id, 2, PAYS).await);
    assert!(
        page.starts_with(&provider.url),
        "{page} is the provider's page"
    );
    on_page(&t.client, &page, "approve", None).await;
    let confirmed = wait_for(&t, paid, OrderStatus::Confirmed).await;

    let (_, token, hold_id) = hold(&t, trip, 2, 2).await;
    let (cancelled, page, _) = awaiting(&order(&t, &token, "p-2", hold_id, 2, CANCELS).await);
    on_page(&t.client, &page, "approve", None).await;
    wait_for(&t, cancelled, OrderStatus::Failed).await;

    let summary = merchant_get(&provider.url, "/v1/ledger/summary").await;
    assert_eq!(summary["payments"], 2, "{summary}");
    assert_eq!(summary["net"].as_i64(), Some(confirmed.amount), "{summary}");
    let report = t.app.check_invariants(Some(trip)).await.unwrap();
    assert!(report.ok(), "{report:#?}");
    assert_eq!(report.ledger.wallet_net, confirmed.amount);
}

crate::on_both_databases!(wallet_payments_through_a_provider_process);

#[test]
fn serve_refuses_a_wallet_timeout_not_shorter_than_the_hold() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let out = Command::new(env!("CARGO_BIN_EXE_ticketctl"))
        .args(["serve", "--listen", "127.0.0.1:0", "--hold-ttl-secs", "600"])
        .args(["--wallet-payment-timeout-secs", "600"])
        .env("DATABASE_URL", &url)
        .env("TICKETCTL_LOG", "warn")
        .output()
        .expect("run ticketctl");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("wallet-payment-timeout-secs"), "{stderr}");
    assert!(stderr.contains("shorter than the hold TTL"), "{stderr}");
}
