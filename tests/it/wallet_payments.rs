//! Mobile-wallet payments through the mock provider, on both backends: a
//! success confirms with tickets; a cancel or failure frees the seats; a
//! missing callback is settled by asking the provider after the payment
//! timeout (paid → confirmed, not paid → cancelled there and failed); a
//! success that comes after the hold ran out is refunded; forged, stale and
//! replayed callbacks are refused with nothing changed; duplicate callbacks
//! (one after another or all at once) are harmless; and the money invariant
//! holds across cards, wallets and cash after a mixed run.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::booking_flow::{book, hold};
use crate::common::db::TestDb;
use crate::common::server::{TestApp, nid_for_phone, suite_second, tiny_trip};
use crate::common::wallet::{
    CANCELS, DUPLICATES, INSUFFICIENT, LATE, NO_CALLBACK, PAYMENT_TIMEOUT_SECS, PAYS, awaiting,
    callback_body, on_page, order, post_callback, post_signed, provider_get, wait_at_provider,
    wait_for, wallet_config,
};
use ticketctl::domain::wallet::{SIGNATURE_HEADER, sign};
use ticketctl::domain::{OrderId, OrderStatus, Role, TripId};
use ticketctl::outside::wallet::TEST_MERCHANT_KEY;

async fn invariants_hold(t: &TestApp, trip: TripId) -> ticketctl::store::Ledger {
    let report = t.app.check_invariants(Some(trip)).await.unwrap();
    assert!(report.ok(), "{report:#?}");
    report.ledger
}

async fn tickets_of(t: &TestApp, order_id: OrderId) -> usize {
    t.app
        .raw_store()
        .tickets_of_order(order_id)
        .await
        .unwrap()
        .len()
}

async fn a_wallet_payment_confirms_with_tickets(db: TestDb) {
    let t = TestApp::start_with(db, wallet_config()).await;
    let trip = tiny_trip(&t.app, 4).await;
    let (_, token, hold_id) = hold(&t, trip, 1, 2).await;
    let placed = order(&t, &token, "w-1", hold_id, 2, PAYS).await;
    let (order_id, page, payment_id) = awaiting(&placed);
    assert!(placed.body["tickets"].as_array().unwrap().is_empty());

    // While it is awaited the order shows its payment and keeps its seats.
    let shown = t.get_as(&format!("/v1/orders/{order_id}"), &token).await;
    assert_eq!(shown.body["status"], "awaiting_payment", "{}", shown.body);
    assert_eq!(shown.body["wallet"]["provider"], "bkash");
    assert_eq!(shown.body["wallet"]["number_last4"], "0001");
    invariants_hold(&t, trip).await;
    let page_html = t.client.get(&page).send().await.unwrap();
    assert_eq!(page_html.status(), StatusCode::OK);
    assert!(page_html.text().await.unwrap().contains("Approve"));

    let (status, at_provider) = on_page(&t.client, &page, "approve", None).await;
    assert_eq!(
        (status, at_provider["status"].as_str()),
        (200, Some("completed")),
        "{at_provider}"
    );
    let confirmed = wait_for(&t, order_id, OrderStatus::Confirmed).await;
    assert_eq!(confirmed.charge_id.as_deref(), Some(payment_id.as_str()));
    assert_eq!(tickets_of(&t, order_id).await, 2);
    let shown = t.get_as(&format!("/v1/orders/{order_id}"), &token).await;
    assert_eq!(shown.body["status"], "confirmed");
    assert_eq!(shown.body["wallet"]["state"], "completed");
    assert_eq!(shown.body["tickets"].as_array().unwrap().len(), 2);

    // A retry of the order request is answered as the first, and pays nothing more.
    let again = order(&t, &token, "w-1", hold_id, 2, PAYS).await;
    assert_eq!((again.status, &again.body), (placed.status, &placed.body));
    // Approving twice is refused by the provider.
    let (status, _) = on_page(&t.client, &page, "approve", None).await;
    assert_eq!(status, 409);

    let amount = confirmed.amount;
    let summary = provider_get(&t, "/v1/ledger/summary").await;
    assert_eq!(
        (summary["completed"].as_i64(), summary["net"].as_i64()),
        (Some(1), Some(amount))
    );
    let ledger = invariants_hold(&t, trip).await;
    assert_eq!((ledger.wallet_net, ledger.orders_net), (amount, amount));
}

async fn a_cancelled_or_failed_wallet_payment_frees_the_seats(db: TestDb) {
    let t = TestApp::start_with(db, wallet_config()).await;
    let trip = tiny_trip(&t.app, 4).await;
    // Each passenger holds all four seats: the next can only if the last freed them.
    let cases: [(&str, Option<&str>, &str, &str); 3] = [
        (CANCELS, None, "approve", "wallet payment cancelled"),
        (INSUFFICIENT, None, "approve", "insufficient balance"),
        (PAYS, None, "cancel", "wallet payment cancelled"),
    ];
    for (n, (number, approver, what, why)) in cases.into_iter().enumerate() {
        let (_, token, hold_id) = hold(&t, trip, n as u32 + 1, 4).await;
        let placed = order(&t, &token, &format!("w-{n}"), hold_id, 4, number).await;
        let (order_id, page, payment_id) = awaiting(&placed);
        let (status, _) = on_page(&t.client, &page, what, approver).await;
        assert_eq!(status, 200);
        let failed = wait_for(&t, order_id, OrderStatus::Failed).await;
        assert!(
            failed.failure.as_deref().unwrap_or_default().contains(why),
            "{failed:?}"
        );
        assert_eq!(tickets_of(&t, order_id).await, 0);
        let p = provider_get(&t, &format!("/v1/payments/{payment_id}")).await;
        assert_ne!(p["status"], "completed", "{p}");
        invariants_hold(&t, trip).await;
    }
    // The seats went back each time: a fourth passenger takes all four.
    book(&t, trip, 9, 4, "4242424242424242").await;
    let summary = provider_get(&t, "/v1/ledger/summary").await;
    assert_eq!(summary["taken"], 0, "{summary}");
    invariants_hold(&t, trip).await;
}

async fn a_missing_callback_is_settled_by_asking_the_provider(db: TestDb) {
    let t = TestApp::start_manual(db, suite_second(), wallet_config()).await;
    let trip = tiny_trip(&t.app, 4).await;
    // Paid at the provider, but no callback ever comes.
    let (_, token_a, hold_a) = hold(&t, trip, 1, 1).await;
    let (paid, page, _) = awaiting(&order(&t, &token_a, "w-a", hold_a, 1, NO_CALLBACK).await);
    let (status, _) = on_page(&t.client, &page, "approve", None).await;
    assert_eq!(status, 200);
    // Never approved.
    let (_, token_b, hold_b) = hold(&t, trip, 2, 2).await;
    let (unpaid, _, unpaid_payment) = awaiting(&order(&t, &token_b, "w-b", hold_b, 2, PAYS).await);

    // Within the timeout nothing is decided.
    t.manual_clock()
        .advance(chrono::Duration::seconds(PAYMENT_TIMEOUT_SECS - 5));
    t.app.sweep_now().await.unwrap();
    for id in [paid, unpaid] {
        let o = t.app.raw_store().order(id).await.unwrap().unwrap();
        assert_eq!(o.status, OrderStatus::AwaitingPayment);
    }
    t.manual_clock().advance(chrono::Duration::seconds(10));
    let report = t.app.sweep_now().await.unwrap();
    assert_eq!(
        (report.orders_confirmed, report.orders_failed),
        (1, 1),
        "{report:?}"
    );
    wait_for(&t, paid, OrderStatus::Confirmed).await;
    assert_eq!(tickets_of(&t, paid).await, 1);
    let failed = wait_for(&t, unpaid, OrderStatus::Failed).await;
    assert!(failed.failure.unwrap().contains("not completed in time"));
    // Cancelled at the provider, so the passenger can no longer pay it.
    let p = provider_get(&t, &format!("/v1/payments/{unpaid_payment}")).await;
    assert_eq!(p["status"], "cancelled", "{p}");
    // Its two seats are free again.
    hold(&t, trip, 3, 3).await;
    invariants_hold(&t, trip).await;
}

async fn a_late_success_after_the_hold_ran_out_is_refunded(db: TestDb) {
    let config = wallet_config();
    let hold_ttl = config.hold_ttl;
    let t = TestApp::start_manual(db, suite_second(), config).await;
    let trip = tiny_trip(&t.app, 2).await;
    let (_, token, hold_id) = hold(&t, trip, 1, 2).await;
    let (order_id, page, payment_id) =
        awaiting(&order(&t, &token, "w-late", hold_id, 2, LATE).await);
    let (status, p) = on_page(&t.client, &page, "approve", None).await;
    assert_eq!(
        (status, p["status"].as_str()),
        (200, Some("processing")),
        "{p}"
    );

    // The hold runs out while the money is still moving: the order gives up.
    t.manual_clock()
        .advance(hold_ttl + chrono::Duration::seconds(1));
    t.app.sweep_now().await.unwrap();
    let gave_up = t.app.raw_store().order(order_id).await.unwrap().unwrap();
    assert!(
        matches!(gave_up.status, OrderStatus::Failed | OrderStatus::Expired),
        "{gave_up:?}"
    );
    // Then the money arrives, and goes straight back.
    let p = wait_at_provider(&t, &payment_id, |p| {
        p["status"] == "completed" && p["refunded"] == p["amount"]
    })
    .await;
    assert_eq!(p["amount"].as_i64(), Some(gave_up.amount));
    let after = t.app.raw_store().order(order_id).await.unwrap().unwrap();
    assert_eq!(after.status, gave_up.status, "the order stays given up");
    assert_eq!(tickets_of(&t, order_id).await, 0);
    // The seats are for sale again.
    hold(&t, trip, 2, 2).await;
    let ledger = invariants_hold(&t, trip).await;
    assert_eq!((ledger.wallet_net, ledger.orders_net), (0, 0));
}

/// As above, but no callback ever reaches the server (its callback URL is
/// dead): the sweeper asks the provider about payments of orders that gave
/// up, and refunds the one that completed anyway.
async fn a_late_success_whose_callback_is_lost_is_refunded_by_the_sweeper(db: TestDb) {
    let mut config = wallet_config();
    config.wallet.public_url = Some("http://127.0.0.1:9".into());
    let t = TestApp::start_manual(db, suite_second(), config).await;
    let trip = tiny_trip(&t.app, 2).await;
    let (_, token, hold_id) = hold(&t, trip, 1, 1).await;
    let (order_id, page, payment_id) =
        awaiting(&order(&t, &token, "w-lost", hold_id, 1, LATE).await);
    on_page(&t.client, &page, "approve", None).await;
    t.manual_clock()
        .advance(chrono::Duration::seconds(PAYMENT_TIMEOUT_SECS + 1));
    t.app.sweep_now().await.unwrap();
    wait_for(&t, order_id, OrderStatus::Failed).await;
    // The money arrives at the provider; its callbacks go nowhere.
    wait_at_provider(&t, &payment_id, |p| p["status"] == "completed").await;
    let p = provider_get(&t, &format!("/v1/payments/{payment_id}")).await;
    assert_eq!(p["refunded"], 0, "{p}");
    t.app.sweep_now().await.unwrap();
    let p = provider_get(&t, &format!("/v1/payments/{payment_id}")).await;
    assert_eq!(p["refunded"], p["amount"], "{p}");
    let ledger = invariants_hold(&t, trip).await;
    assert_eq!(ledger.wallet_net, 0);
}

async fn forged_stale_and_replayed_callbacks_are_refused(db: TestDb) {
    let t = TestApp::start_with(db, wallet_config()).await;
    let trip = tiny_trip(&t.app, 4).await;
    let (_, token, hold_id) = hold(&t, trip, 1, 1).await;
    let placed = order(&t, &token, "w-1", hold_id, 1, NO_CALLBACK).await;
    let (order_id, page, payment_id) = awaiting(&placed);
    let amount = placed.body["amount"].as_i64().unwrap();
    on_page(&t.client, &page, "approve", None).await;
    let good = callback_body(&payment_id, order_id, "completed", amount);
    let now = t.app.now().timestamp();

    post_callback(&t, &good, None)
        .await
        .assert_problem(401, "unauthorized");
    post_callback(&t, &good, Some(("a guessed key", now)))
        .await
        .assert_problem(401, "unauthorized");
    for skew in [-301, 301] {
        post_callback(&t, &good, Some((TEST_MERCHANT_KEY, now + skew)))
            .await
            .assert_problem(401, "unauthorized");
    }
    // A body changed under a good signature.
    let tampered = callback_body(&payment_id, order_id, "completed", amount + 1);
    let r = t
        .client
        .post(t.url("/v1/payments/wallet/callback"))
        .header(
            SIGNATURE_HEADER,
            sign(TEST_MERCHANT_KEY.as_bytes(), now, &good),
        )
        .body(tampered)
        .send()
        .await
        .unwrap();
    crate::common::server::Reply::from_response(r)
        .await
        .assert_problem(401, "unauthorized");
    // Signed, but not this payment's or not a callback at all.
    post_signed(&t, b"not json")
        .await
        .assert_problem(422, "invalid-field");
    post_signed(
        &t,
        &callback_body(&payment_id, order_id, "completed", amount + 1),
    )
    .await
    .assert_problem(422, "invalid-field");
    post_signed(
        &t,
        &callback_body(&payment_id, order_id, "processing", amount),
    )
    .await
    .assert_problem(422, "invalid-field");
    post_signed(
        &t,
        &callback_body("TR00NOSUCH", order_id, "completed", amount),
    )
    .await
    .assert_problem(404, "not-found");
    // Nothing changed.
    let o = t.app.raw_store().order(order_id).await.unwrap().unwrap();
    assert_eq!(o.status, OrderStatus::AwaitingPayment);
    assert_eq!(tickets_of(&t, order_id).await, 0);

    let first = post_signed(&t, &good).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(first.body["order_status"], "confirmed", "{}", first.body);
    // Another body for a payment already reported is a replay.
    post_signed(
        &t,
        &callback_body(&payment_id, order_id, "cancelled", amount),
    )
    .await
    .assert_problem(409, "conflict");
    // The same body again (signed afresh, as the provider's retries are) is harmless.
    let again = post_signed(&t, &good).await;
    assert_eq!((again.status, &again.body), (first.status, &first.body));
    let o = t.app.raw_store().order(order_id).await.unwrap().unwrap();
    assert_eq!(o.status, OrderStatus::Confirmed);
    assert_eq!(tickets_of(&t, order_id).await, 1);
    let ledger = invariants_hold(&t, trip).await;
    assert_eq!(ledger.wallet_net, amount);
}

async fn duplicate_callbacks_are_harmless(db: TestDb) {
    let t = TestApp::start_with(db, wallet_config()).await;
    let trip = tiny_trip(&t.app, 4).await;
    // The provider sends one success three times at once (…0333).
    let (_, token, hold_id) = hold(&t, trip, 1, 2).await;
    let (order_id, page, _) = awaiting(&order(&t, &token, "w-dup", hold_id, 2, DUPLICATES).await);
    on_page(&t.client, &page, "approve", None).await;
    wait_for(&t, order_id, OrderStatus::Confirmed).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while provider_get(&t, "/v1/ledger/summary").await["callbacks_sent"].as_i64() < Some(3) {
        assert!(
            std::time::Instant::now() < deadline,
            "three callbacks were sent"
        );
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(tickets_of(&t, order_id).await, 2);

    // Twelve identical callbacks arriving together: one confirmation, one set of tickets.
    let (_, token, hold_id) = hold(&t, trip, 2, 2).await;
    let placed = order(&t, &token, "w-burst", hold_id, 2, NO_CALLBACK).await;
    let (order_id, page, payment_id) = awaiting(&placed);
    on_page(&t.client, &page, "approve", None).await;
    let body = callback_body(
        &payment_id,
        order_id,
        "completed",
        placed.body["amount"].as_i64().unwrap(),
    );
    let answers = futures_util::future::join_all((0..12).map(|_| post_signed(&t, &body))).await;
    let first: &Value = &answers[0].body;
    for a in &answers {
        assert_eq!((a.status, &a.body), (StatusCode::OK, first), "{}", a.body);
    }
    assert_eq!(first["order_status"], "confirmed");
    assert_eq!(tickets_of(&t, order_id).await, 2);
    t.app.settle().await.unwrap();
    assert_eq!(tickets_of(&t, order_id).await, 2);
    let ledger = invariants_hold(&t, trip).await;
    assert_eq!(ledger.confirmed_orders, 2);
}

async fn bad_wallet_orders_are_refused_and_change_nothing(db: TestDb) {
    let t = TestApp::start_with(db, wallet_config()).await;
    let trip = tiny_trip(&t.app, 4).await;
    let (user_id, token, hold_id) = hold(&t, trip, 1, 1).await;
    let passengers = json!([{ "name": "Rahim" }]);
    let bad = [
        (
            json!({ "hold_id": hold_id, "passengers": passengers, "payment_token": "tok_x",
                 "wallet": { "provider": "bkash", "number": PAYS } }),
            "invalid-field",
        ),
        (
            json!({ "hold_id": hold_id, "passengers": passengers }),
            "invalid-field",
        ),
        (
            json!({ "hold_id": hold_id, "passengers": passengers,
                 "wallet": { "provider": "paypal", "number": PAYS } }),
            "invalid-field",
        ),
        (
            json!({ "hold_id": hold_id, "passengers": passengers,
                 "wallet": { "provider": "bkash", "number": "12345" } }),
            "invalid-field",
        ),
        (
            json!({ "hold_id": hold_id, "passengers": passengers,
                 "wallet": { "provider": "bkash", "number": PAYS, "pin": "1234" } }),
            "invalid-body",
        ),
        (
            json!({ "hold_id": hold_id.get() + 1000, "passengers": passengers,
                 "wallet": { "provider": "bkash", "number": PAYS } }),
            "not-found",
        ),
    ];
    for (i, (body, slug)) in bad.into_iter().enumerate() {
        let r = t
            .client
            .post(t.url("/v1/orders"))
            .bearer_auth(&token)
            .header("idempotency-key", format!("bad-{i}"))
            .json(&body)
            .send()
            .await
            .unwrap();
        let r = crate::common::server::Reply::from_response(r).await;
        let status = if slug == "not-found" { 404 } else { 422 };
        r.assert_problem(status, slug);
    }
    let orders = t.app.raw_store().orders_of_user(user_id).await.unwrap();
    assert!(orders.is_empty(), "{orders:?}");
    let summary = provider_get(&t, "/v1/ledger/summary").await;
    assert_eq!(summary["payments"], 0);
    // The hold is still there to order with.
    let (order_id, _, _) = awaiting(&order(&t, &token, "good", hold_id, 1, PAYS).await);
    assert!(order_id.get() > 0);
}

async fn money_holds_across_cards_wallets_and_cash(db: TestDb) {
    let config = wallet_config();
    let hold_ttl = config.hold_ttl;
    let t = TestApp::start_manual(db, suite_second(), config).await;
    let trip = tiny_trip(&t.app, 16).await;
    // Cards: one paid, one declined.
    book(&t, trip, 1, 1, "4242424242424242").await;
    book(&t, trip, 2, 1, "4000000000000002").await;
    // Wallets: one paid, one cancelled, one paid then cancelled by the
    // passenger (refunded by the rule), one late success refunded.
    let mut wallet_orders = vec![];
    for (n, number) in [(3, PAYS), (4, CANCELS), (5, PAYS), (6, LATE)] {
        let (_, token, hold_id) = hold(&t, trip, n, 2).await;
        let (id, page, payment) =
            awaiting(&order(&t, &token, &format!("w-{n}"), hold_id, 2, number).await);
        on_page(&t.client, &page, "approve", None).await;
        wallet_orders.push((id, token, payment));
    }
    wait_for(&t, wallet_orders[0].0, OrderStatus::Confirmed).await;
    wait_for(&t, wallet_orders[1].0, OrderStatus::Failed).await;
    wait_for(&t, wallet_orders[2].0, OrderStatus::Confirmed).await;
    let (cancel_id, cancel_token, cancel_payment) = &wallet_orders[2];
    let cancelled = t
        .post_as(
            &format!("/v1/orders/{cancel_id}/cancel"),
            cancel_token,
            json!({}),
        )
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    let refunded = cancelled.body["refunded"].as_i64().unwrap();
    assert!(refunded > 0, "{}", cancelled.body);
    let p = provider_get(&t, &format!("/v1/payments/{cancel_payment}")).await;
    assert_eq!(p["refunded"].as_i64(), Some(refunded), "{p}");
    // Cash at a counter.
    let clerk = t.user_token("01799000001", Role::Clerk).await;
    let h = t
        .post_as(
            "/v1/counter/holds",
            &clerk,
            json!({ "trip_id": trip, "from": "DHK", "to": "CTG", "class": "S_CHAIR", "count": 1 }),
        )
        .await;
    assert_eq!(h.status, StatusCode::CREATED, "{}", h.body);
    let sold = t
        .client
        .post(t.url("/v1/counter/orders"))
        .bearer_auth(&clerk)
        .header("idempotency-key", "cash-1")
        .json(
            &json!({ "hold_id": h.body["hold_id"], "passengers": [{ "name": "Karim" }],
                       "phone": "01722222222", "nid": nid_for_phone("01722222222") }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(sold.status(), StatusCode::CREATED);
    // The late one: its hold runs out, then its money arrives and goes back.
    t.manual_clock()
        .advance(hold_ttl + chrono::Duration::seconds(1));
    t.app.sweep_now().await.unwrap();
    wait_at_provider(&t, &wallet_orders[3].2, |p| {
        p["status"] == "completed" && p["refunded"] == p["amount"]
    })
    .await;
    t.app.settle().await.unwrap();

    let report = t.app.check_invariants(None).await.unwrap();
    assert!(report.ok(), "{report:#?}");
    let l = report.ledger;
    assert!(
        l.card_net > 0 && l.wallet_net > 0 && l.cash_net > 0,
        "{l:?}"
    );
    assert_eq!(
        l.orders_net,
        l.card_net + l.wallet_net + l.cash_net,
        "{l:?}"
    );
    assert_eq!(l.orders_net, l.gateway_net);
}

crate::on_both_databases!(
    a_wallet_payment_confirms_with_tickets,
    a_cancelled_or_failed_wallet_payment_frees_the_seats,
    a_missing_callback_is_settled_by_asking_the_provider,
    a_late_success_after_the_hold_ran_out_is_refunded,
    a_late_success_whose_callback_is_lost_is_refunded_by_the_sweeper,
    forged_stale_and_replayed_callbacks_are_refused,
    duplicate_callbacks_are_harmless,
    bad_wallet_orders_are_refused_and_change_nothing,
    money_holds_across_cards_wallets_and_cash,
);
