//! Who is asking and in which language: the web app's cookies.
//!
//! Sign-in state is the API's own token pair, kept in HttpOnly, SameSite=Lax
//! cookies (Secure when the server's public URL is https), so no script on
//! the page can read it. An expired access token is renewed from the refresh
//! cookie on the next page, as an API client would. The CSRF token is a
//! random double-submit value: a cookie a cross-site form cannot read, copied
//! into a hidden field of every form; a POST whose field differs is refused.

use axum::body::Bytes;
use axum::http::header::{ACCEPT_LANGUAGE, COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;
use rand::RngCore;

use super::account::form_pairs;
use super::i18n::Lang;
use super::results::field;
use crate::app::App;
use crate::app::identity::Claims;
use crate::domain::UserId;

const ACCESS: &str = "tc_access";
const REFRESH: &str = "tc_refresh";
const CSRF: &str = "tc_csrf";
const LANG: &str = "tc_lang";
/// The waiting room's admission: `hex(sale)~token` (one sale at a time).
pub(super) const ADMISSION: &str = "tc_admission";

/// One request's view of the visitor, and the cookies its answer must set.
pub struct Visit {
    pub lang: Lang,
    pub csrf: String,
    pub user: Option<Claims>,
    secure: bool,
    set_cookies: Vec<String>,
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub(super) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then_some(v)
        })
}

/// Compares without an early exit, so timing tells nothing of the token.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn random_token() -> String {
    let mut bytes = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

impl Visit {
    /// Reads the cookies; renews an expired sign-in from the refresh cookie.
    pub async fn of(app: &App, headers: &HeaderMap) -> Visit {
        let secure = app
            .config
            .wallet
            .public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"));
        let lang = cookie(headers, LANG)
            .and_then(Lang::parse)
            .or_else(|| {
                let h = headers.get(ACCEPT_LANGUAGE)?.to_str().ok()?;
                Some(Lang::from_accept_language(h))
            })
            .unwrap_or(Lang::En);
        let mut visit = Visit {
            lang,
            csrf: String::new(),
            user: None,
            secure,
            set_cookies: Vec::new(),
        };
        match cookie(headers, CSRF).filter(|c| c.len() == 48) {
            Some(c) => visit.csrf = c.to_owned(),
            None => {
                visit.csrf = random_token();
                let c = visit.csrf.clone();
                visit.set(CSRF, &c, None);
            }
        }
        if let Some(access) = cookie(headers, ACCESS) {
            visit.user = app.authorize(access).await.ok();
        }
        if visit.user.is_none()
            && let Some(refresh) = cookie(headers, REFRESH)
        {
            match app.refresh(refresh).await {
                Ok(pair) => {
                    visit.user = app.authorize(&pair.access_token).await.ok();
                    visit.signed_in(&pair.access_token, &pair.refresh_token);
                }
                Err(_) => visit.signed_out(),
            }
        }
        visit
    }

    pub fn user_id(&self) -> Option<UserId> {
        self.user.as_ref().map(Claims::user_id)
    }

    /// Whether a form's CSRF field matches this visitor's cookie.
    fn csrf_ok(&self, field: &str) -> bool {
        same(&self.csrf, field)
    }

    /// A form posted from one of this site's pages: the visit and the form's
    /// pairs, or the refusal page when its CSRF field does not match. Every
    /// form handler starts here, so none can forget the check.
    pub async fn posted(
        app: &App,
        headers: &HeaderMap,
        body: &Bytes,
    ) -> Result<(Visit, Vec<(String, String)>), Response> {
        let v = Visit::of(app, headers).await;
        let form = form_pairs(body);
        if !v.csrf_ok(field(&form, "csrf").unwrap_or("")) {
            return Err(super::pages::forged(v));
        }
        Ok((v, form))
    }

    /// Keeps a fresh token pair (HttpOnly: never visible to scripts).
    pub fn signed_in(&mut self, access: &str, refresh: &str) {
        self.set(ACCESS, access, None);
        self.set(REFRESH, refresh, Some(30 * 24 * 3600));
    }

    pub fn signed_out(&mut self) {
        self.set(ACCESS, "", Some(0));
        self.set(REFRESH, "", Some(0));
        self.user = None;
    }

    pub fn set_lang(&mut self, lang: Lang) {
        self.lang = lang;
        self.set(LANG, lang.code(), Some(365 * 24 * 3600));
    }

    /// Keeps the waiting room's admission token for `sale` (HttpOnly, like
    /// the sign-in: it is a bearer credential for the sale).
    pub fn set_admission(&mut self, sale: &str, token: &str) {
        let value = format!("{}~{token}", hex::encode(sale));
        self.set(ADMISSION, &value, None);
    }

    fn set(&mut self, name: &str, value: &str, max_age: Option<u32>) {
        let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
        if let Some(age) = max_age {
            c.push_str(&format!("; Max-Age={age}"));
        }
        if self.secure {
            c.push_str("; Secure");
        }
        self.set_cookies.push(c);
    }

    /// Adds the cookies this visit changed to `response`.
    pub fn finish(self, mut response: Response) -> Response {
        for c in self.set_cookies {
            if let Ok(v) = HeaderValue::from_str(&c) {
                response.headers_mut().append(SET_COOKIE, v);
            }
        }
        response
    }
}

/// The refresh token of the request, to end its session at sign-out.
pub fn refresh_cookie(headers: &HeaderMap) -> Option<&str> {
    cookie(headers, REFRESH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_by_exact_name() {
        let mut h = HeaderMap::new();
        h.insert(
            COOKIE,
            HeaderValue::from_static("x_tc_lang=en; tc_lang=bn; a=b"),
        );
        assert_eq!(cookie(&h, LANG), Some("bn"));
        assert_eq!(cookie(&h, "missing"), None);
        assert!(same("abc", "abc") && !same("abc", "abd") && !same("abc", "ab"));
    }
}
