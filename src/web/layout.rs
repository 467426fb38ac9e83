//! The page shell every page shares: head, header with the language switch
//! and the account links, and the error and message boxes.

use maud::{DOCTYPE, Markup, html};

use super::assets;
use super::i18n::{Lang, Msg};
use super::session::Visit;

/// A whole page around `body`. `refresh_secs` adds a meta refresh (the
/// waiting room and tickets being issued advance without JavaScript).
pub fn page(v: &Visit, path: &str, title: &str, refresh_secs: Option<u64>, body: Markup) -> Markup {
    let l = v.lang;
    html! {
        (DOCTYPE)
        html lang=(l.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if let Some(s) = refresh_secs { meta http-equiv="refresh" content=(s); }
                title { (title) " · " (l.t(Msg::AppName)) }
                link rel="stylesheet" href=(assets::css_url());
                script src=(assets::js_url()) defer {}
            }
            body {
                a.skip href="#main" { (l.t(Msg::SkipToContent)) }
                header.top {
                    a.brand href="/" { (l.t(Msg::AppName)) }
                    a href=(switch_href(l.other(), path)) lang=(l.other().code()) { (l.t(Msg::SwitchLanguage)) }
                    @if v.user.is_some() {
                        a href="/my/trips" { (l.t(Msg::MyTrips)) }
                        form method="post" action="/signout" {
                            (csrf_field(v))
                            button type="submit" { (l.t(Msg::SignOut)) }
                        }
                    } @else {
                        a href=(format!("/signin?back={}", encode(path))) { (l.t(Msg::SignIn)) }
                    }
                }
                main #main { (body) }
            }
        }
    }
}

/// The hidden CSRF field every form carries.
pub fn csrf_field(v: &Visit) -> Markup {
    html! { input type="hidden" name="csrf" value=(v.csrf); }
}

pub fn error_box(text: &str) -> Markup {
    html! { p.error role="alert" { (text) } }
}

pub fn ok_box(text: &str) -> Markup {
    html! { p.ok role="status" { (text) } }
}

fn switch_href(to: Lang, back: &str) -> String {
    format!("/lang/{}?back={}", to.code(), encode(back))
}

/// Percent-encodes a query value.
pub fn encode(s: &str) -> String {
    serde_urlencoded::to_string([("", s)])
        .map(|e| e.trim_start_matches('=').to_owned())
        .unwrap_or_default()
}

/// A path to go back to after a detour (sign-in, language): only a path on
/// this site, never `//elsewhere` or `https://elsewhere`.
pub fn safe_back(back: Option<&str>) -> String {
    match back {
        Some(b) if b.starts_with('/') && !b.starts_with("//") && !b.contains('\\') => b.to_owned(),
        _ => "/".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_gone_back_to() {
        assert_eq!(safe_back(Some("/search?from=DHK")), "/search?from=DHK");
        assert_eq!(safe_back(Some("//evil.example")), "/");
        assert_eq!(safe_back(Some("https://evil.example")), "/");
        assert_eq!(safe_back(Some("/\\evil.example")), "/");
        assert_eq!(safe_back(None), "/");
        assert_eq!(encode("/a?b=c&d"), "%2Fa%3Fb%3Dc%26d");
    }
}
