//! One passenger's booking over HTTP in one call (card, hold, order), for tests
//! whose subject is what comes after: checkers, recovery, refunds.

use reqwest::StatusCode;
use serde_json::{Value, json};
use ticketctl::domain::{HoldId, OrderId, TripId, UserId};

use super::server::{Reply, TestApp, quick_user};

pub struct Booked {
    pub user_id: UserId,
    pub token: String,
    pub hold_id: HoldId,
    pub order_id: OrderId,
    /// The order as the API answered (status, amount, tickets, …).
    pub reply: Reply,
}

/// A card token for `number`, tokenized at the gateway and registered (see
/// `outside::gateway` for the test card outcomes).
pub async fn card(t: &TestApp, token: &str, number: &str) -> String {
    super::gateway::card_token(&t.client, &t.url(""), token, number).await
}

/// Holds `seats` S_CHAIR seats DHK → CTG on `trip` for a new passenger number
/// `n`; returns (user id, access token, hold id).
pub async fn hold(t: &TestApp, trip: TripId, n: u32, seats: u32) -> (UserId, String, HoldId) {
    let (user_id, token) = quick_user(&t.app, n).await;
    let r = t
        .post_as(
            "/v1/holds",
            &token,
            json!({ "trip_id": trip, "from": "DHK", "to": "CTG", "class": "S_CHAIR", "count": seats }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    (user_id, token, HoldId(r.body["hold_id"].as_i64().unwrap()))
}

/// Places the order for a hold under `key`, paying with `card_token`.
pub async fn order(
    t: &TestApp,
    token: &str,
    key: &str,
    hold_id: HoldId,
    passengers: usize,
    card_token: &str,
) -> Reply {
    let names: Vec<Value> = (0..passengers)
        .map(|i| json!({ "name": format!("Passenger {i}") }))
        .collect();
    let req = t
        .client
        .post(t.url("/v1/orders"))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .json(&json!({ "hold_id": hold_id, "passengers": names, "payment_token": card_token }));
    Reply::from_response(req.send().await.expect("request reaches the server")).await
}

/// A new passenger `n` books `seats` seats on `trip`, paying with card `number`.
pub async fn book(t: &TestApp, trip: TripId, n: u32, seats: u32, number: &str) -> Booked {
    let (user_id, token, hold_id) = hold(t, trip, n, seats).await;
    let card_token = card(t, &token, number).await;
    let reply = order(
        t,
        &token,
        &format!("book-{n}"),
        hold_id,
        seats as usize,
        &card_token,
    )
    .await;
    // A refused payment answers with a problem that carries the order.
    let order_id = OrderId(
        reply.body["order_id"]
            .as_i64()
            .or_else(|| reply.body["order"]["order_id"].as_i64())
            .unwrap_or_else(|| panic!("an order id in {}", reply.body)),
    );
    Booked {
        user_id,
        token,
        hold_id,
        order_id,
        reply,
    }
}
