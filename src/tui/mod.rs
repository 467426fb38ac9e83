//! `ticketctl tui`: the counter clerks' terminal. It talks to `ticketctl serve`
//! over the HTTP API only (never SQL): `app` is the state machine, `ui` draws
//! it, `driver` runs its HTTP effects, `client` speaks the API.

pub mod app;
pub mod client;
pub mod driver;
pub mod input;
pub mod seats;
pub mod ui;
pub mod wire;

use crossterm::event::{self, Event, KeyEventKind};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

use app::{Counter, Effect, Msg};
use client::Client;
use driver::Driver;

pub struct Options {
    pub server: String,
    /// Signs in at once when both are given.
    pub login: Option<String>,
    pub password: Option<String>,
    pub color: bool,
    /// Where printable tickets are written.
    pub print_dir: std::path::PathBuf,
}

/// Runs the terminal until the clerk quits. The terminal is restored on every
/// way out, a panic included (ratatui's hook).
pub async fn run(opts: Options) -> Result<(), client::ClientError> {
    let client = Arc::new(Client::new(&opts.server)?);
    // The server judges the sale; this only picks the form's first date.
    let today = crate::app::Clock::from_env().unwrap_or_default().now();
    let tomorrow = crate::domain::ServiceDate::today_at(today)
        .add_days(1)
        .to_string();
    let session = hex::encode(rand::random::<[u8; 4]>());
    let mut app = Counter::new(client.base(), &tomorrow, opts.color, &session);
    app.print_dir = opts.print_dir;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut driver = Driver::new(client, tx.clone());

    if let Some(login) = &opts.login {
        app.login.login.set(login);
        app.login.focus = 1;
    }
    if let (Some(login), Some(password)) = (opts.login.clone(), opts.password.clone()) {
        driver.run(Effect::Login {
            login,
            password,
            totp: None,
        });
        app.busy += 1;
    }

    // Keys are read on their own thread: crossterm's reader blocks.
    let keys = tx.clone();
    std::thread::spawn(move || {
        loop {
            if keys.is_closed() {
                return;
            }
            match event::poll(Duration::from_millis(200)) {
                Ok(true) => match event::read() {
                    Ok(Event::Key(k)) if k.kind != KeyEventKind::Release => {
                        let _ = keys.send(Msg::Key(k));
                    }
                    Ok(Event::Resize(..)) => {
                        let _ = keys.send(Msg::Resize);
                    }
                    Ok(_) => {}
                    Err(_) => return,
                },
                Ok(false) => {}
                Err(_) => return,
            }
        }
    });

    let mut terminal = ratatui::init();
    let outcome = async {
        loop {
            terminal
                .draw(|f| ui::draw(f, &app))
                .map_err(|e| client::ClientError::Network(format!("terminal: {e}")))?;
            let Some(msg) = rx.recv().await else {
                return Ok(());
            };
            for effect in app.update(msg) {
                if !driver.run(effect) {
                    return Ok(());
                }
            }
        }
    }
    .await;
    ratatui::restore();
    // A hold left open on quit was released by the app; give that call a moment.
    tokio::time::sleep(Duration::from_millis(200)).await;
    outcome
}
