//! A real headless Chromium for the web app's tests, driven over WebDriver
//! (fantoccini → Debian's `chromedriver` → `chromium`). Each test starts its
//! own chromedriver on a free port and ends it when dropped. Without the
//! programs the test skips visibly (fatal with `CI=true`).

use fantoccini::{Client, ClientBuilder, Locator};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::services::{self, Service};

/// A phone's screen (an iPhone 12–14 in CSS pixels).
pub const PHONE: (u32, u32) = (390, 844);

pub struct Browser {
    pub c: Client,
    /// The server under test, e.g. `http://127.0.0.1:41234`.
    pub base: String,
    driver: Child,
}

fn program(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| PathBuf::from(dir).join(name))
        .find(|p| p.is_file())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Browser {
    /// Starts chromedriver and a phone-sized headless Chromium on `base`;
    /// `None` (after a visible skip) when they are not installed.
    pub async fn start(base: &str) -> Option<Browser> {
        let (Some(driver), Some(chromium)) = (program("chromedriver"), program("chromium")) else {
            services::skip(
                Service::Chromium,
                "chromium and chromedriver are not installed (apt-get install chromium chromium-driver)",
            );
            return None;
        };
        services::ran(Service::Chromium);
        let port = free_port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let mut browser_args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--hide-scrollbars".into(),
            format!("--window-size={},{}", PHONE.0, PHONE.1),
            "--lang=en-US".into(),
        ];
        browser_args.push("--force-device-scale-factor=1".into());
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": chromium,
                "args": browser_args,
                "prefs": { "intl.accept_languages": "en-US,en" },
                // A desktop window is at least 500 px wide; a phone's viewport is not.
                "mobileEmulation": { "deviceMetrics": { "width": PHONE.0, "height": PHONE.1, "pixelRatio": 1.0 } },
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        let c = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(c) => break c,
                Err(e) if Instant::now() > deadline => panic!("chromedriver at {url}: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        };
        Some(Browser {
            c,
            base: base.trim_end_matches('/').to_owned(),
            driver: child,
        })
    }

    pub async fn goto(&self, path: &str) {
        self.c
            .goto(&format!("{}{path}", self.base))
            .await
            .expect("the page loads");
    }

    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        let found = self
            .c
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(css))
            .await;
        match found {
            Ok(e) => e,
            Err(e) => panic!("{css} on {}: {e}", self.path().await),
        }
    }

    pub async fn all(&self, css: &str) -> Vec<fantoccini::elements::Element> {
        self.c.find_all(Locator::Css(css)).await.expect("find_all")
    }

    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.expect("text")
    }

    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.expect("click");
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        e.clear().await.expect("clear");
        e.send_keys(text).await.expect("type");
    }

    /// The current path and query.
    pub async fn path(&self) -> String {
        match self.c.current_url().await {
            Ok(u) => match u.query() {
                Some(q) => format!("{}?{q}", u.path()),
                None => u.path().to_owned(),
            },
            Err(e) => format!("(no url: {e})"),
        }
    }

    /// Waits until the path starts with `prefix` (pages that move on by
    /// themselves: a meta refresh, a redirect after a script's submit).
    pub async fn wait_path(&self, prefix: &str, within: Duration) -> String {
        self.wait_path_where(prefix, within, |p| p.starts_with(prefix))
            .await
    }

    /// Waits for a path and query holding `part`: a form submitted from a page
    /// to the same path (a filter) shows only in its query.
    pub async fn wait_path_with(&self, part: &str, within: Duration) -> String {
        self.wait_path_where(part, within, |p| p.contains(part))
            .await
    }

    async fn wait_path_where(
        &self,
        wanted: &str,
        within: Duration,
        ok: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + within;
        loop {
            let path = self.path().await;
            if ok(&path) {
                return path;
            }
            assert!(
                Instant::now() < deadline,
                "still on {path}, waited for {wanted}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Every visible form control has a label naming it (its own `<label for>`,
    /// a wrapping label, or aria-label); returns the unlabelled ones.
    pub async fn unlabelled(&self) -> Vec<String> {
        let script = r#"
            return Array.from(document.querySelectorAll('input, select, textarea'))
              .filter(e => e.type !== 'hidden' && !e.closest('[hidden]'))
              .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
              .map(e => e.outerHTML);"#;
        let v = self.c.execute(script, vec![]).await.expect("script runs");
        serde_json::from_value(v).unwrap_or_default()
    }

    /// Saves a screenshot of the page to `target/screenshots/{name}.png`, or
    /// to the README's `docs/screenshots/` with `TICKETCTL_UPDATE_SCREENSHOTS=1`
    /// (every run would otherwise rewrite tracked files: PNRs and QR codes
    /// differ from run to run).
    pub async fn screenshot(&self, name: &str) {
        let png = self.c.screenshot().await.expect("screenshot");
        let into = if std::env::var("TICKETCTL_UPDATE_SCREENSHOTS").as_deref() == Ok("1") {
            "docs/screenshots"
        } else {
            "target/screenshots"
        };
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(into);
        std::fs::create_dir_all(&dir).expect("screenshots dir");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("screenshot written");
    }
}

impl Browser {
    /// Ends the WebDriver session (Chromium exits), then chromedriver.
    pub async fn quit(self) {
        let _ = self.c.clone().close().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
