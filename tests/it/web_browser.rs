//! The passenger web app in a real headless Chromium, on both backends: the
//! whole purchase (search Dhaka → Chattogram by keyboard, filter by class,
//! pick two seats, pay with 4242…, see the QR tickets, find them under "my
//! trips", cancel and see the refund), the same in Bangla, and a declined
//! card that frees its seats. The SQLite runs save the README's screenshots.

use fantoccini::key::Key;
use serde_json::Value;
use std::time::Duration;

use crate::common::browser::Browser;
use crate::common::server::{PASSWORD, TestApp};
use ticketctl::app::seed::Quiet;
use ticketctl::domain::{Role, ServiceDate};

const WAIT: Duration = Duration::from_secs(30);

/// Seeds the network and tomorrow's trips; returns tomorrow.
pub async fn seed_tomorrow(t: &TestApp) -> ServiceDate {
    let day = ServiceDate::today_at(t.app.now()).add_days(1);
    let mut report = t.app.seed_network(&Quiet).await.expect("seed network");
    t.app
        .seed_trips(&[day], &mut report, &Quiet)
        .await
        .expect("seed trips");
    day
}

/// Whether this run saves the README's screenshots (one backend does).
fn shots(t: &TestApp) -> bool {
    !t.db.url().starts_with("postgres")
}

pub async fn sign_in(b: &Browser, phone: &str) {
    b.goto("/").await;
    b.click("header a[href^='/signin']").await;
    b.type_into("#login", phone).await;
    b.type_into("#password", PASSWORD).await;
    assert!(
        b.unlabelled().await.is_empty(),
        "{:?}",
        b.unlabelled().await
    );
    b.click("main form button[type=submit]").await;
    b.wait_path("/", WAIT).await;
    b.find("header form[action='/signout']").await;
}

/// Fills the search form by keyboard alone: type, Tab, type, Tab, Enter.
async fn search_by_keyboard(b: &Browser, from: &str, to: &str, day: ServiceDate) {
    let tab: char = Key::Tab.into();
    let enter: char = Key::Enter.into();
    b.goto("/").await;
    assert!(
        b.unlabelled().await.is_empty(),
        "{:?}",
        b.unlabelled().await
    );
    b.find("#from").await.click().await.unwrap();
    let from_box = b.c.active_element().await.unwrap();
    from_box.send_keys(&format!("{from}{tab}")).await.unwrap();
    let to_box = b.c.active_element().await.unwrap();
    assert_eq!(to_box.attr("id").await.unwrap().as_deref(), Some("to"));
    to_box.send_keys(&format!("{to}{tab}")).await.unwrap();
    let date_box = b.c.active_element().await.unwrap();
    assert_eq!(date_box.attr("id").await.unwrap().as_deref(), Some("date"));
    // A date input's typed format follows the browser's locale; set the value.
    b.c.execute(
        "document.getElementById('date').value = arguments[0]",
        vec![Value::String(day.to_string())],
    )
    .await
    .unwrap();
    date_box.send_keys(&enter.to_string()).await.unwrap();
    b.wait_path("/search", WAIT).await;
}

/// The whole purchase in `lang` (switched to with the header's link).
async fn purchase(t: &TestApp, bangla: bool) {
    let day = seed_tomorrow(t).await;
    let phone = if bangla { "01711000002" } else { "01711000001" };
    let token = t.user_token(phone, Role::Passenger).await;
    let Some(b) = Browser::start(&t.url("")).await else {
        return;
    };
    let shot = |name: &str| format!("{name}{}", if bangla { "-bn" } else { "" });
    b.goto("/").await;
    if bangla {
        b.click("header a[lang=bn]").await;
        b.find("html[lang=bn]").await;
    }
    if shots(t) {
        b.screenshot(&shot("search")).await;
    }
    sign_in(&b, phone).await;
    let (from, to) = if bangla {
        ("ঢাকা", "চট্টগ্রাম")
    } else {
        ("Dhaka", "Chattogram")
    };
    search_by_keyboard(&b, from, to, day).await;
    assert!(!b.all("article.card").await.is_empty(), "trains are listed");

    // Filter by class: only S_CHAIR offers remain.
    b.click("input[name=class][value=S_CHAIR]").await;
    b.click("form.facets button").await;
    b.wait_path_with("class=S_CHAIR", WAIT).await;
    let offered: Vec<String> = {
        let mut names = Vec::new();
        for e in b.all("ul.classes li span strong").await {
            names.push(e.text().await.unwrap());
        }
        names
    };
    let s_chair = if bangla {
        "শোভন চেয়ার"
    } else {
        "S_CHAIR"
    };
    assert!(
        !offered.is_empty() && offered.iter().all(|n| n == s_chair),
        "{offered:?}"
    );
    if shots(t) {
        b.screenshot(&shot("results")).await;
    }

    // Two seats picked on the map.
    b.click("a.button[href^='/trips/']").await;
    b.wait_path("/trips/", WAIT).await;
    assert!(
        b.unlabelled().await.is_empty(),
        "{:?}",
        b.unlabelled().await
    );
    let free = b.all(".seat input:not([disabled]) + span").await;
    let mut picked = Vec::new();
    for span in free.iter().take(2) {
        picked.push(span.text().await.unwrap());
        span.click().await.unwrap();
    }
    if shots(t) {
        b.screenshot(&shot("seats")).await;
    }
    b.click("button[value=picked]").await;
    b.wait_path("/holds/", WAIT).await;
    let held = b.text("#held-seats").await;
    assert!(
        picked.iter().all(|s| held.contains(s.as_str())),
        "{held} vs {picked:?}"
    );
    assert!(
        !b.text("#expires").await.is_empty(),
        "the expiry shows without a script"
    );
    let countdown = b.text(".countdown").await;
    assert!(
        countdown.contains(':'),
        "the script counts down: {countdown:?}"
    );

    // Passengers and the card (to the gateway, never to the server).
    b.type_into("#passenger-0", "Rahima Akter").await;
    b.type_into("#passenger-1", "Karim Uddin").await;
    b.type_into("#card-number", "4242 4242 4242 4242").await;
    b.type_into("#card-exp", "12/30").await;
    b.type_into("#card-cvc", "123").await;
    assert!(
        b.unlabelled().await.is_empty(),
        "{:?}",
        b.unlabelled().await
    );
    if shots(t) {
        b.screenshot(&shot("hold")).await;
    }
    b.click("#pay button[type=submit]").await;
    let order_path = b.wait_path("/orders/", WAIT).await;
    let order_id: i64 = order_path.trim_start_matches("/orders/").parse().unwrap();

    // The QR tickets (the page refreshes itself until they are issued).
    let deadline = std::time::Instant::now() + WAIT;
    while b.all("img.qr").await.len() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "no tickets on {order_path}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let loaded = b
        .c
        .execute(
            "return Array.from(document.querySelectorAll('img.qr')).every(i => i.complete && i.naturalWidth > 0)",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(loaded, Value::Bool(true), "the QR images load");
    let confirmed = if bangla {
        "আপনার টিকিট নিশ্চিত হয়েছে"
    } else {
        "Your tickets are confirmed"
    };
    assert_eq!(b.text("main h1").await, confirmed);
    if shots(t) {
        b.screenshot(&shot("tickets")).await;
    }
    let api = t.get_as(&format!("/v1/orders/{order_id}"), &token).await;
    assert_eq!(api.body["status"], "confirmed", "{}", api.body);
    assert_eq!(api.body["tickets"].as_array().unwrap().len(), 2);

    // "My trips" lists it; cancelling shows the refund first.
    b.click("header a[href='/my/trips']").await;
    b.wait_path("/my/trips", WAIT).await;
    assert_eq!(b.all("article.trip").await.len(), 1);
    if shots(t) {
        b.screenshot(&shot("my-trips")).await;
    }
    b.click("article.trip a.button").await;
    b.wait_path("/orders/", WAIT).await;
    b.click("a[href$='/cancel']").await;
    b.wait_path(&format!("/orders/{order_id}/cancel"), WAIT)
        .await;
    let quote = b.text("#quote").await;
    if shots(t) {
        b.screenshot(&shot("cancel")).await;
    }
    b.click("button.danger").await;
    b.wait_path(&format!("/orders/{order_id}"), WAIT).await;
    let refund = b.text(".refund strong").await;
    assert_eq!(refund, quote, "the refund is what was quoted");
    let api = t.get_as(&format!("/v1/orders/{order_id}"), &token).await;
    assert_eq!(api.body["status"], "refunded", "{}", api.body);
    let refunded = api.body["refunded"].as_i64().unwrap();
    assert!(refunded > 0);
    let digits: String = refund.chars().filter(char::is_ascii_digit).collect();
    if !bangla {
        assert_eq!(digits, refunded.to_string());
    }
    b.quit().await;
}

async fn a_whole_purchase_in_english_browser(t: TestApp) {
    purchase(&t, false).await;
}

async fn a_whole_purchase_in_bangla_browser(t: TestApp) {
    purchase(&t, true).await;
}

/// A declined card: a clear message, nothing confirmed, the seats free again.
async fn a_declined_card_frees_the_seats_browser(t: TestApp) {
    let day = seed_tomorrow(&t).await;
    let token = t.user_token("01711000003", Role::Passenger).await;
    let Some(b) = Browser::start(&t.url("")).await else {
        return;
    };
    sign_in(&b, "01711000003").await;
    b.goto(&format!("/search?from=DHK&to=CTG&date={day}&class=S_CHAIR"))
        .await;
    b.click("a.button[href^='/trips/']").await;
    let trip_path = b.wait_path("/trips/", WAIT).await;
    b.click("button[value=best]").await;
    b.wait_path("/holds/", WAIT).await;
    let held = b.text("#held-seats").await;
    b.type_into("#passenger-0", "Rahima Akter").await;
    b.type_into("#card-number", "4000 0000 0000 0002").await;
    b.type_into("#card-exp", "12/30").await;
    b.type_into("#card-cvc", "123").await;
    b.click("#pay button[type=submit]").await;
    b.wait_path("/orders/", WAIT).await;
    let said = b.text("main .error").await;
    assert!(said.contains("declined"), "{said}");
    if shots(&t) {
        b.screenshot("declined").await;
    }
    let trip = trip_path
        .trim_start_matches("/trips/")
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let map = t
        .get_as(&format!("/v1/trips/{trip}/seats?from=DHK&to=CTG"), &token)
        .await;
    let seat = map.body["coaches"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["seats"].as_array().unwrap())
        .find(|s| s["seat"] == held.as_str())
        .unwrap_or_else(|| panic!("seat {held} on the map"));
    assert_eq!(
        seat["free"], true,
        "the declined order's seat is free again"
    );
    b.quit().await;
}

on_both_backends!(
    a_whole_purchase_in_english_browser,
    a_whole_purchase_in_bangla_browser,
    a_declined_card_frees_the_seats_browser,
);
