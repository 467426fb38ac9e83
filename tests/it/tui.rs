//! The counter terminal against a real server on a random port: the seat map
//! of a partly sold trip rendered with ratatui's TestBackend (cell by cell,
//! with and without colour), and the whole search → select → sell flow driven
//! by key events, including a lost race and a seat taken while selected.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;
use reqwest::StatusCode;
use serde_json::json;
use std::collections::VecDeque;
use std::time::Duration;

use crate::common::server::{PASSWORD, TestApp, quick_user, tiny_trip};
use ticketctl::domain::{OrderStatus, Role, ServiceDate, TripId};
use ticketctl::tui::app::{Counter, Effect, Msg, Screen};
use ticketctl::tui::client::Client;
use ticketctl::tui::{driver, ui};

const CLERK_PHONE: &str = "01799000001";

fn tomorrow() -> String {
    ServiceDate::today_at(crate::common::server::suite_clock().now())
        .add_days(1)
        .to_string()
}

/// Runs effects against the server until none are left, feeding each reply back.
async fn pump(app: &mut Counter, client: &Client, effects: Vec<Effect>) {
    let mut queue: VecDeque<Effect> = effects.into();
    while let Some(effect) = queue.pop_front() {
        if let Some(reply) = driver::perform(client, effect).await {
            queue.extend(app.update(Msg::Reply(Box::new(reply))));
        }
    }
}

async fn press(app: &mut Counter, client: &Client, code: KeyCode) {
    let effects = app.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    pump(app, client, effects).await;
}

async fn type_text(app: &mut Counter, client: &Client, text: &str) {
    for c in text.chars() {
        press(app, client, KeyCode::Char(c)).await;
    }
}

/// A clerk's terminal, signed in by typing, as a clerk would.
async fn signed_in(t: &TestApp, color: bool) -> (Counter, Client) {
    t.user_token(CLERK_PHONE, Role::Clerk).await;
    let client = Client::new(&t.url("")).unwrap();
    let mut app = Counter::new(client.base(), &tomorrow(), color, "test");
    type_text(&mut app, &client, CLERK_PHONE).await;
    press(&mut app, &client, KeyCode::Tab).await;
    type_text(&mut app, &client, PASSWORD).await;
    press(&mut app, &client, KeyCode::Enter).await;
    assert_eq!(app.screen, Screen::Search, "status: {:?}", app.status);
    assert!(!app.stations.is_empty(), "stations loaded for completion");
    (app, client)
}

/// Searches `from` → `to` by typing (completion accepts the first suggestion)
/// and opens the first train's S_CHAIR seat map.
async fn open_map(app: &mut Counter, client: &Client, from: &str, to: &str) {
    type_text(app, client, from).await;
    press(app, client, KeyCode::Tab).await;
    type_text(app, client, to).await;
    press(app, client, KeyCode::Tab).await;
    press(app, client, KeyCode::Enter).await;
    let found = app.search.results.as_ref().expect("searched");
    assert_eq!(found.trips.len(), 1, "{:?}", app.status);
    press(app, client, KeyCode::Enter).await;
    assert_eq!(app.screen, Screen::SeatMap);
    assert!(app.pick.as_ref().unwrap().map.is_some(), "the map loaded");
}

fn render(app: &Counter, w: u16, h: u16) -> (Vec<String>, ratatui::buffer::Buffer) {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| ui::draw(f, app)).unwrap();
    let buffer = terminal.backend().buffer().clone();
    let lines = (0..h)
        .map(|y| (0..w).map(|x| buffer[(x, y)].symbol().to_owned()).collect())
        .collect();
    (lines, buffer)
}

/// Where `needle` starts on screen, as (x, y) in cells.
fn find(lines: &[String], needle: &str) -> Option<(u16, u16)> {
    lines.iter().enumerate().find_map(|(y, l)| {
        l.find(needle)
            .map(|byte| (l[..byte].chars().count() as u16, y as u16))
    })
}

async fn sell_over_http(t: &TestApp, clerk: &str, trip: TripId, from: &str, to: &str, seat: &str) {
    let h = t
        .post_as(
            "/v1/counter/holds",
            clerk,
            json!({ "trip_id": trip, "from": from, "to": to, "class": "S_CHAIR", "seats": [seat] }),
        )
        .await;
    assert_eq!(h.status, StatusCode::CREATED, "{}", h.body);
    let req = t
        .client
        .post(t.url("/v1/counter/orders"))
        .bearer_auth(clerk)
        .header("idempotency-key", format!("http-{seat}-{from}"))
        .json(&json!({ "hold_id": h.body["hold_id"], "passengers": [{ "name": "Other" }], "phone": "01722222222", "nid": "5511722222222" }));
    assert_eq!(req.send().await.unwrap().status(), StatusCode::CREATED);
}

async fn passenger_holds(t: &TestApp, token: &str, trip: TripId, seats: &[&str]) -> StatusCode {
    t.post_as(
        "/v1/holds",
        token,
        json!({ "trip_id": trip, "from": "DHK", "to": "CTG", "class": "S_CHAIR", "seats": seats }),
    )
    .await
    .status
}

async fn seat_map_shows_each_seat_for_the_journey(t: TestApp) {
    let trip = tiny_trip(&t.app, 12).await;
    let (mut app, client) = signed_in(&t, true).await;
    let clerk = t.login(CLERK_PHONE).await;
    // KA-1 sold Dhaka → Feni only; KA-2 held by an online passenger all the way.
    sell_over_http(&t, &clerk, trip, "DHK", "FNI", "KA-1").await;
    let (_, passenger) = quick_user(&t.app, 5).await;
    assert_eq!(
        passenger_holds(&t, &passenger, trip, &["KA-2"]).await,
        StatusCode::CREATED
    );

    open_map(&mut app, &client, "Dhaka", "Chattogram").await;
    press(&mut app, &client, KeyCode::Right).await;
    press(&mut app, &client, KeyCode::Right).await;
    press(&mut app, &client, KeyCode::Char(' ')).await; // select KA-3
    let (lines, buffer) = render(&app, 80, 24);
    let screen = lines.join("\n");
    assert!(screen.contains("9001 Test Express"), "{screen}");
    assert!(screen.contains("Coaches:  KA 10 free"), "{screen}");
    // Row 1 of coach KA ("2+2"): sold, held, aisle, selected, free.
    let (x, y) = find(&lines, "  1  ░░░ (  2) ┆ [  3]   4 ").expect(&screen);
    let cell = |dx: u16| &buffer[(x + dx, y)];
    assert_eq!(cell(5).fg, Color::DarkGray, "sold");
    assert_eq!(cell(10).fg, Color::Yellow, "held");
    assert_eq!(
        (cell(18).fg, cell(18).bg),
        (Color::Black, Color::Cyan),
        "selected"
    );
    assert_eq!(cell(24).fg, Color::Green, "free");
    assert!(
        find(&lines, "  2    5    6  ┆    7    8 ").is_some(),
        "{screen}"
    );
    assert!(screen.contains("Selected: KA-3"), "{screen}");
    assert!(screen.contains("Fare: Tk 450 × 1 = 450"), "{screen}");

    // Feni → Chattogram: the seat sold to Feni is free again; the held one is not.
    press(&mut app, &client, KeyCode::Esc).await;
    press(&mut app, &client, KeyCode::Tab).await; // back to the form
    app.search.from.clear();
    app.search.to.clear();
    app.search.focus = ticketctl::tui::app::SearchFocus::From;
    // The train reaches Feni after midnight: it boards there the next day.
    let next_day = ServiceDate::today_at(crate::common::server::suite_clock().now()).add_days(2);
    app.search.date.set(&next_day.to_string());
    open_map(&mut app, &client, "FNI", "CTG").await;
    let (lines, _) = render(&app, 80, 24);
    assert!(
        find(&lines, "  1    1 (  2) ┆    3    4 ").is_some(),
        "{}",
        lines.join("\n")
    );
}

async fn no_color_keeps_every_state_readable(t: TestApp) {
    let trip = tiny_trip(&t.app, 8).await;
    let (mut app, client) = signed_in(&t, false).await;
    let clerk = t.login(CLERK_PHONE).await;
    sell_over_http(&t, &clerk, trip, "DHK", "CTG", "KA-1").await;
    open_map(&mut app, &client, "DHK", "CTG").await;
    let (lines, buffer) = render(&app, 80, 24);
    assert!(
        find(&lines, "  1  ░░░    2  ┆    3    4 ").is_some(),
        "{}",
        lines.join("\n")
    );
    for cell in buffer.content() {
        assert_eq!(
            (cell.fg, cell.bg),
            (Color::Reset, Color::Reset),
            "no colour at all"
        );
    }
    // Help fits at 80×24 and says how to read the marks.
    press(&mut app, &client, KeyCode::Char('?')).await;
    let (lines, _) = render(&app, 80, 24);
    assert!(lines.join("\n").contains("'( 12)' held"));
}

async fn search_select_and_sell_with_keys(t: TestApp) {
    let trip = tiny_trip(&t.app, 12).await;
    let (mut app, client) = signed_in(&t, true).await;
    open_map(&mut app, &client, "Dhaka", "Chattogram").await;

    // Two adjacent seats: KA-1 and KA-2.
    press(&mut app, &client, KeyCode::Char(' ')).await;
    press(&mut app, &client, KeyCode::Right).await;
    press(&mut app, &client, KeyCode::Char(' ')).await;
    press(&mut app, &client, KeyCode::Enter).await;
    assert_eq!(app.screen, Screen::Passengers, "{:?}", app.status);
    // Name and NID of each passenger, then the buyer's mobile and NID; the
    // first passenger's NID is mistyped.
    type_text(&mut app, &client, "Rahima Akter").await;
    press(&mut app, &client, KeyCode::Tab).await;
    type_text(&mut app, &client, "12345").await;
    press(&mut app, &client, KeyCode::Tab).await;
    type_text(&mut app, &client, "Karim Uddin").await;
    press(&mut app, &client, KeyCode::Tab).await;
    press(&mut app, &client, KeyCode::Tab).await;
    type_text(&mut app, &client, "01711111111").await;
    // Enter on the mobile moves on to the buyer's NID: a sale needs it.
    press(&mut app, &client, KeyCode::Enter).await;
    assert_eq!(app.screen, Screen::Passengers);
    press(&mut app, &client, KeyCode::Enter).await;
    assert_eq!(
        app.screen,
        Screen::Passengers,
        "no sale without the buyer's NID"
    );
    let said = app.status.clone().unwrap().1;
    assert!(said.contains("buyer's NID"), "{said}");
    type_text(&mut app, &client, "5511711111111").await;
    press(&mut app, &client, KeyCode::Enter).await;
    assert_eq!(app.screen, Screen::Passengers, "a bad NID stops the sale");
    let said = app.status.clone().unwrap().1;
    assert!(said.contains("10, 13 or 17 digits"), "{said}");
    // Corrected, the same sale (same Idempotency-Key) goes through.
    press(&mut app, &client, KeyCode::Tab).await;
    press(&mut app, &client, KeyCode::Tab).await; // NID of the first passenger
    type_text(&mut app, &client, "67890").await;
    for _ in 0..4 {
        press(&mut app, &client, KeyCode::Tab).await;
    }
    press(&mut app, &client, KeyCode::Enter).await;
    assert_eq!(app.screen, Screen::Ticket, "{:?}", app.status);
    let order = app.ticket.clone().unwrap();
    let stored = t
        .app
        .raw_store()
        .order(order.order.order_id)
        .await
        .unwrap()
        .unwrap();
    let nids: Vec<_> = stored
        .passengers
        .iter()
        .map(|p| p.nid.as_ref().map(|n| n.to_string()))
        .collect();
    assert_eq!(nids, [Some("1234567890".to_owned()), None]);
    assert_eq!(order.order.status, OrderStatus::Confirmed);
    assert_eq!(order.tickets.len(), 2);
    assert_eq!(order.paid_by, "cash");
    let (lines, _) = render(&app, 200, 70);
    let screen = lines.join("\n");
    assert!(
        screen.contains(&format!("PNR        {}", order.tickets[0].pnr)),
        "{screen}"
    );
    assert!(screen.contains("Passenger  Rahima Akter"), "{screen}");
    assert!(
        screen.contains('▀') || screen.contains('▄'),
        "the QR is drawn: {screen}"
    );
    // At 80×24 the QR does not fit; the clerk is told so, no garbage.
    let (small, _) = render(&app, 80, 24);
    assert!(small.join("\n").contains("enlarge the terminal"));
    // `p` writes the printable text, QR included, where the clerk said.
    let printer = tempfile::tempdir().unwrap();
    app.print_dir = printer.path().to_owned();
    press(&mut app, &client, KeyCode::Char('p')).await;
    let file = printer
        .path()
        .join(format!("ticket-order-{}.txt", order.order.order_id));
    let text = std::fs::read_to_string(&file).expect("the ticket was printed");
    assert!(
        text.contains(&format!("PNR        {}", order.tickets[1].pnr)),
        "{text}"
    );
    assert!(
        text.contains("Passenger  Karim Uddin") && text.contains('█'),
        "{text}"
    );
    assert!(app.status.clone().unwrap().1.contains("written to"));

    // The server agrees: both seats are sold for the whole journey.
    let map = t
        .get_as(
            &format!("/v1/trips/{trip}/seats?from=DHK&to=CTG&detail=true"),
            &t.login(CLERK_PHONE).await,
        )
        .await;
    let states: Vec<&str> = map.body["coaches"][0]["seats"]
        .as_array()
        .unwrap()
        .iter()
        .take(3)
        .map(|s| s["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["sold", "sold", "free"]);

    // Next sale: back on the map, which shows them sold.
    press(&mut app, &client, KeyCode::Enter).await;
    assert_eq!(app.screen, Screen::SeatMap);
    let (lines, _) = render(&app, 80, 24);
    assert!(
        find(&lines, "  1  ░░░  ░░░  ┆    3 ").is_some(),
        "{}",
        lines.join("\n")
    );

    // The shift counts the cash.
    press(&mut app, &client, KeyCode::F(4)).await;
    assert_eq!(app.shift.as_ref().unwrap().cash_in, 900);
    assert_eq!(app.shift.as_ref().unwrap().tickets, 2);

    // Look the sale up by phone, then cancel it with a cash refund.
    press(&mut app, &client, KeyCode::F(3)).await;
    type_text(&mut app, &client, "01711111111").await;
    press(&mut app, &client, KeyCode::Enter).await;
    assert_eq!(app.lookup.results.len(), 1);
    press(&mut app, &client, KeyCode::Delete).await;
    press(&mut app, &client, KeyCode::Char('y')).await;
    let said = app.status.clone().unwrap().1;
    assert!(said.contains("hand back Tk"), "{said}");
    assert_eq!(app.lookup.results[0].order.status, OrderStatus::Refunded);
}

async fn a_seat_taken_while_selected_is_flagged_and_a_lost_race_explained(t: TestApp) {
    let trip = tiny_trip(&t.app, 12).await;
    let (mut app, client) = signed_in(&t, true).await;
    let (_, passenger) = quick_user(&t.app, 9).await;
    open_map(&mut app, &client, "DHK", "CTG").await;

    // The clerk selects KA-5 (typed), an online passenger takes it meanwhile,
    // and the live stream's nudge makes the map flag it before the sale.
    type_text(&mut app, &client, "5 ").await;
    assert_eq!(app.pick.as_ref().unwrap().selected, ["KA-5"]);
    assert_eq!(
        passenger_holds(&t, &passenger, trip, &["KA-5"]).await,
        StatusCode::CREATED
    );
    let effects = app.update(Msg::SeatsChanged { trip });
    pump(&mut app, &client, effects).await;
    assert_eq!(app.conflicts(), ["KA-5"]);
    assert!(app.status.as_ref().unwrap().1.contains("KA-5 just taken"));
    let (lines, _) = render(&app, 80, 24);
    assert!(find(&lines, "!  5!").is_some(), "{}", lines.join("\n"));
    press(&mut app, &client, KeyCode::Enter).await;
    assert_eq!(app.screen, Screen::SeatMap, "no hold on a flagged seat");
    press(&mut app, &client, KeyCode::Char(' ')).await; // unselect KA-5

    // A race lost between the map and the hold: a clear message, no crash.
    type_text(&mut app, &client, "6 ").await;
    assert_eq!(
        passenger_holds(&t, &passenger, trip, &["KA-6"]).await,
        StatusCode::CREATED
    );
    press(&mut app, &client, KeyCode::Enter).await;
    assert_eq!(app.screen, Screen::SeatMap);
    let said = app.status.clone().unwrap().1;
    assert!(said.contains("Lost the race: KA-6"), "{said}");
    assert!(app.pick.as_ref().unwrap().selected.is_empty());
    assert_eq!(app.cursor_seat().unwrap().seat, "KA-6");
    assert_eq!(
        app.cursor_seat().unwrap().state(),
        ticketctl::tui::wire::SeatState::Held
    );
}

async fn the_driver_follows_live_changes_and_survives_a_lost_server(t: TestApp) {
    let trip = tiny_trip(&t.app, 8).await;
    let (_, passenger) = quick_user(&t.app, 3).await;
    let client = std::sync::Arc::new(Client::new(&t.url("")).unwrap());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut d = driver::Driver::new(client, tx);
    d.run(Effect::Watch { trip });
    assert!(matches!(next(&mut rx).await, Msg::Connection(true)));
    assert!(matches!(next(&mut rx).await, Msg::SeatsChanged { trip: t2 } if t2 == trip));
    assert_eq!(
        passenger_holds(&t, &passenger, trip, &["KA-1"]).await,
        StatusCode::CREATED
    );
    assert!(
        matches!(next(&mut rx).await, Msg::SeatsChanged { .. }),
        "a hold elsewhere arrives"
    );

    // The server goes away: the terminal hears of it, and a map shows a banner.
    t.shutdown().await;
    let mut app = Counter::new("http://test", &tomorrow(), true, "t");
    loop {
        match next(&mut rx).await {
            Msg::Connection(false) => break,
            _ => continue,
        }
    }
    app.update(Msg::Connection(false));
    let (lines, _) = render(&app, 80, 24);
    assert!(
        lines[1].contains("Server unreachable"),
        "{}",
        lines.join("\n")
    );
    d.run(Effect::Unwatch);
}

async fn next(rx: &mut tokio::sync::mpsc::UnboundedReceiver<Msg>) -> Msg {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("a message within 5 s")
        .unwrap()
}

async fn sign_in_asks_for_the_code_and_refuses_passengers(t: TestApp) {
    let token = t.user_token(CLERK_PHONE, Role::Clerk).await;
    let secret = t
        .post_as("/v1/auth/mfa/enroll", &token, json!({}))
        .await
        .body["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let on = t
        .post_as(
            "/v1/auth/mfa/verify",
            &token,
            json!({ "code": crate::common::server::current_code(&secret) }),
        )
        .await;
    assert_eq!(on.status, StatusCode::OK);

    let client = Client::new(&t.url("")).unwrap();
    let mut app = Counter::new(client.base(), &tomorrow(), true, "t");
    type_text(&mut app, &client, CLERK_PHONE).await;
    press(&mut app, &client, KeyCode::Enter).await; // to the password
    type_text(&mut app, &client, PASSWORD).await;
    press(&mut app, &client, KeyCode::Enter).await;
    assert_eq!(app.screen, Screen::Login);
    assert!(app.login.need_totp);
    let (lines, _) = render(&app, 80, 24);
    assert!(lines.join("\n").contains("2FA code"));
    type_text(&mut app, &client, "000000").await;
    press(&mut app, &client, KeyCode::Enter).await;
    assert_eq!(app.screen, Screen::Login, "a wrong code");
    app.login.totp.clear();
    // The enrolment used this step's code, and a code works once: the next step's.
    let next_code = crate::common::server::code_at(
        &secret,
        crate::common::server::suite_now().timestamp() + 30,
    );
    type_text(&mut app, &client, &next_code).await;
    press(&mut app, &client, KeyCode::Enter).await;
    assert_eq!(app.screen, Screen::Search, "{:?}", app.status);
    assert!(
        app.login.password.value().is_empty(),
        "the password is not kept"
    );

    // A passenger account cannot sell at a counter.
    let (mut other, c2) = (
        Counter::new(client.base(), &tomorrow(), true, "u"),
        Client::new(&t.url("")).unwrap(),
    );
    t.user_token("01711000009", Role::Passenger).await;
    type_text(&mut other, &c2, "01711000009").await;
    press(&mut other, &c2, KeyCode::Tab).await;
    type_text(&mut other, &c2, PASSWORD).await;
    press(&mut other, &c2, KeyCode::Enter).await;
    assert_eq!(other.screen, Screen::Login);
    assert!(other.status.unwrap().1.contains("need a clerk account"));
}

on_both_backends!(
    sign_in_asks_for_the_code_and_refuses_passengers,
    seat_map_shows_each_seat_for_the_journey,
    no_color_keeps_every_state_readable,
    search_select_and_sell_with_keys,
    a_seat_taken_while_selected_is_flagged_and_a_lost_race_explained,
    the_driver_follows_live_changes_and_survives_a_lost_server,
);
