//! A passenger who pays with a mobile wallet: the order awaits payment, the
//! passenger approves on the provider's page, and the order is settled by the
//! provider's callback or the server's status query.

use std::time::{Duration, Instant};

use crate::domain::{HoldId, OrderStatus};
use crate::wire::booking::{OrderRequest, OrderView, PassengerBody, WalletBody};

use super::stats::{self, Outcome};
use super::{Passenger, body_of, parse};

/// The mock wallet's test numbers a wallet payer approves with, and how often:
/// most pay; some cancel on the page; some pay so late that the order has
/// given up (the money is refunded); some are told by a status query only,
/// some by the same callback three times (see `outside::wallet`).
pub(super) const WALLET_NUMBERS: [(&str, u32); 5] = [
    ("01711000001", 80),
    ("01711000002", 8),
    ("01711000119", 4),
    ("01711000259", 4),
    ("01711000333", 4),
];

/// A passenger's own wallet number with the test number's behaviour: the mock
/// wallet decides by the last four digits, and the four before them are the
/// passenger's, so no number is shared by more than one account in 10,000
/// (the velocity checks count accounts per wallet number, as for real ones).
fn own_wallet_number(test_number: &str, passenger: usize) -> String {
    let behaviour = &test_number[test_number.len() - 4..];
    format!("017{:04}{behaviour}", passenger % 10_000)
}

/// Paying for a hold with a mobile wallet: the order answers "awaiting
/// payment" with the provider's page; the passenger approves there, then asks
/// until the order is settled (by the provider's callback, or by the server's
/// status query once the payment timeout passes), and fetches the ticket.
pub(super) async fn pay_by_wallet(
    p: &mut Passenger<'_>,
    n: usize,
    hold_id: HoldId,
    count: usize,
    number: &str,
) -> (Outcome, u64) {
    use reqwest::Method as M;
    let passengers = (0..count)
        .map(|i| PassengerBody {
            name: format!("Passenger {n}-{i}"),
            nid: None,
        })
        .collect();
    let order_body = body_of(&OrderRequest {
        hold_id,
        passengers,
        payment_token: None,
        wallet: Some(WalletBody {
            provider: "bkash".into(),
            number: own_wallet_number(number, n),
        }),
    });
    let key = format!("rehearsal-{n}");
    let (status, placed) = p
        .call(5, M::POST, "/v1/orders", Some(order_body), Some(&key))
        .await;
    let placed = match parse::<OrderView>(&placed) {
        Some(o) if status == 202 => o,
        _ if status == 402 => return (Outcome::Declined, 0),
        _ => return (Outcome::Error, 0),
    };
    let Some(page) = placed.wallet.as_ref().and_then(|w| w.redirect_url.clone()) else {
        return (Outcome::Error, 0);
    };
    let req = p.client.post(format!("{page}/approve"));
    let (status, _) = p
        .send(stats::WALLET, req, Some(serde_json::json!({})), None)
        .await;
    if status != 200 {
        return (Outcome::Error, 0);
    }
    let order_path = format!("/v1/orders/{}", placed.order_id);
    let deadline = Instant::now() + Duration::from_secs(120);
    let settled = loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let (status, body) = p.call(stats::PAID, M::GET, &order_path, None, None).await;
        match parse::<OrderView>(&body) {
            // Settled: confirmed, or given up (a paid order is about to be confirmed).
            Some(o)
                if status == 200 && (o.status.is_final() || o.status == OrderStatus::Confirmed) =>
            {
                break o;
            }
            _ if Instant::now() > deadline => return (Outcome::Error, 0),
            _ => {}
        }
    };
    match settled.status {
        OrderStatus::Confirmed => {}
        _ if number.ends_with("0002") => return (Outcome::Declined, 0),
        _ => return (Outcome::TimedOut, 0),
    }
    let ticket = settled.tickets.first().map_or(0, |t| t.ticket_id.get());
    let (status, _) = p
        .call(6, M::GET, &format!("/v1/tickets/{ticket}"), None, None)
        .await;
    if status != 200 {
        return (Outcome::Error, 0);
    }
    (Outcome::Booked, count as u64)
}
