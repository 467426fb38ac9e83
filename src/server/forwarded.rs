//! Reading the proxy chain a request carries: `X-Forwarded-For` and RFC 7239
//! `Forwarded` (`for=`), as a list of hops, oldest first. Only parsing: which
//! hop is the client, and whether the headers are believed at all, is decided
//! by `client_addr` from the trusted proxies.
//!
//! Anything a client sends here is hostile until a trusted proxy vouches for
//! it, so the parser is bounded (bytes and hops) and never fails loudly: a
//! header it cannot read is `Chain::Malformed`, an entry it cannot use
//! (`unknown`, an obfuscated `_name`, garbage) is `Hop::Unusable`.

use axum::http::HeaderMap;
use axum::http::header::{FORWARDED, HeaderName};
use std::net::{IpAddr, SocketAddr};

/// A chain longer than this is not a real deployment's; it is ignored whole.
pub const MAX_HEADER_BYTES: usize = 8 * 1024;
/// More hops than any real proxy path has.
pub const MAX_HOPS: usize = 64;

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// One proxy's record of who it got the request from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hop {
    Addr(IpAddr),
    /// `unknown`, an obfuscated identifier, or something that is not an address.
    Unusable,
}

/// What the headers say, oldest hop first (the last entry was written by the
/// proxy nearest to us).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chain {
    Absent,
    /// Not text, over the byte or hop bound, or broken quoting.
    Malformed,
    Hops(Vec<Hop>),
}

/// The chain of one request. `X-Forwarded-For` wins when both are present:
/// it is what nearly every load balancer appends to, and those pass a
/// client's own `Forwarded` header through untouched, so preferring
/// `Forwarded` would let any client name its own address.
pub fn chain(headers: &HeaderMap) -> Chain {
    match joined(headers, &X_FORWARDED_FOR) {
        Joined::Absent => {}
        Joined::Malformed => return Chain::Malformed,
        Joined::Text(text) => return bounded(text.split(',').map(|e| node(e.trim())).collect()),
    }
    match joined(headers, &FORWARDED) {
        Joined::Absent => Chain::Absent,
        Joined::Malformed => Chain::Malformed,
        Joined::Text(text) => match split_outside_quotes(&text, ',') {
            Some(elements) => bounded(elements.iter().map(|e| forwarded_for(e)).collect()),
            None => Chain::Malformed,
        },
    }
}

fn bounded(hops: Vec<Hop>) -> Chain {
    if hops.len() > MAX_HOPS {
        Chain::Malformed
    } else {
        Chain::Hops(hops)
    }
}

enum Joined {
    Absent,
    Malformed,
    Text(String),
}

/// Every line of a header joined with commas, as HTTP says repeated lines mean.
fn joined(headers: &HeaderMap, name: &HeaderName) -> Joined {
    let mut text = String::new();
    let mut any = false;
    for value in headers.get_all(name) {
        let Ok(line) = value.to_str() else {
            return Joined::Malformed;
        };
        if any {
            text.push(',');
        }
        text.push_str(line);
        any = true;
        if text.len() > MAX_HEADER_BYTES {
            return Joined::Malformed;
        }
    }
    if any {
        Joined::Text(text)
    } else {
        Joined::Absent
    }
}

/// The `for=` node of one `Forwarded` element (`for=192.0.2.1;proto=https`).
/// An element without exactly one `for` tells us nothing usable.
fn forwarded_for(element: &str) -> Hop {
    let Some(pairs) = split_outside_quotes(element, ';') else {
        return Hop::Unusable;
    };
    let mut found = None;
    for pair in pairs {
        let Some((name, value)) = pair.split_once('=') else {
            continue;
        };
        if name.trim().eq_ignore_ascii_case("for") {
            if found.is_some() {
                return Hop::Unusable;
            }
            found = Some(value.trim());
        }
    }
    match found.and_then(unquote) {
        Some(value) => node(&value),
        None => Hop::Unusable,
    }
}

/// Splits on `sep` where it is not inside a quoted string; `None` when a
/// quote is left open.
fn split_outside_quotes(text: &str, sep: char) -> Option<Vec<&str>> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in text.char_indices() {
        if escaped {
            escaped = false;
        } else if quoted && c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if c == sep && !quoted {
            parts.push(text[start..i].trim());
            start = i + 1;
        }
    }
    if quoted {
        return None;
    }
    parts.push(text[start..].trim());
    Some(parts)
}

/// A token as is, or a quoted string without its quotes and escapes.
fn unquote(value: &str) -> Option<String> {
    let Some(inner) = value.strip_prefix('"') else {
        return Some(value.to_owned());
    };
    let inner = inner.strip_suffix('"')?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        out.push(if c == '\\' { chars.next()? } else { c });
    }
    Some(out)
}

/// One node: `192.0.2.1`, `192.0.2.1:4711`, `[2001:db8::1]`, `[2001:db8::1]:4711`
/// (also with an obfuscated port, `:_abc`), or a bare IPv6 address, which
/// some proxies write in `X-Forwarded-For`. Mapped IPv4 (`::ffff:192.0.2.1`)
/// becomes plain IPv4, so one client has one key.
fn node(text: &str) -> Hop {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Hop::Addr(ip.to_canonical());
    }
    if let Ok(socket) = text.parse::<SocketAddr>() {
        return Hop::Addr(socket.ip().to_canonical());
    }
    let host = match text.rsplit_once(':') {
        Some((host, port)) if is_obfuscated_port(port) => host,
        _ => text,
    };
    // A port on IPv6 needs brackets; a bare IPv6 address parsed whole above.
    let (host, bracketed) = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(inner) => (inner, true),
        None => (host, false),
    };
    match host.parse::<IpAddr>() {
        Ok(ip @ IpAddr::V4(_)) if !bracketed => Hop::Addr(ip),
        Ok(ip @ IpAddr::V6(_)) if bracketed => Hop::Addr(ip.to_canonical()),
        _ => Hop::Unusable,
    }
}

/// RFC 7239 `obfport`: `_` followed by letters, digits, `.`, `_` or `-`.
fn is_obfuscated_port(port: &str) -> bool {
    port.strip_prefix('_').is_some_and(|rest| {
        !rest.is_empty()
            && rest
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> Hop {
        Hop::Addr(s.parse().unwrap())
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        h
    }

    #[test]
    fn x_forwarded_for_lists_every_hop_in_order_across_lines() {
        let h = headers(&[
            ("x-forwarded-for", "203.0.113.7, 198.51.100.2"),
            ("x-forwarded-for", "192.0.2.9"),
        ]);
        assert_eq!(
            chain(&h),
            Chain::Hops(vec![ip("203.0.113.7"), ip("198.51.100.2"), ip("192.0.2.9")])
        );
    }

    #[test]
    fn nodes_with_ports_brackets_and_mapped_addresses_are_read() {
        for (text, want) in [
            ("203.0.113.7:4711", "203.0.113.7"),
            ("[2001:db8::17]:4711", "2001:db8::17"),
            ("[2001:db8::17]", "2001:db8::17"),
            ("2001:db8::17", "2001:db8::17"),
            ("[2001:db8::17]:_hidden", "2001:db8::17"),
            ("203.0.113.7:_p-1", "203.0.113.7"),
            ("::ffff:203.0.113.7", "203.0.113.7"),
        ] {
            assert_eq!(node(text), ip(want), "{text}");
        }
        for text in [
            "",
            "unknown",
            "_hidden",
            "203.0.113.7:",
            "203.0.113.7:port",
            "2001:db8::17:_x",
            "[2001:db8::17",
            "fe80::1%eth0",
            "999.1.1.1",
            "example.com",
        ] {
            assert_eq!(node(text), Hop::Unusable, "{text:?}");
        }
    }

    #[test]
    fn forwarded_reads_for_in_each_element_whatever_the_order_and_quoting() {
        let h = headers(&[(
            "forwarded",
            r#"for=192.0.2.60;proto=http;by=203.0.113.43, By=x;For="[2001:db8:cafe::17]:4711", for=unknown, for=_hidden, proto=https"#,
        )]);
        assert_eq!(
            chain(&h),
            Chain::Hops(vec![
                ip("192.0.2.60"),
                ip("2001:db8:cafe::17"),
                Hop::Unusable,
                Hop::Unusable,
                Hop::Unusable,
            ])
        );
    }

    #[test]
    fn quoted_separators_and_escapes_do_not_split_an_element() {
        let h = headers(&[(
            "forwarded",
            r#"for="a,b;c", for="\"192.0.2.1\"", for="192.0.2.\2""#,
        )]);
        assert_eq!(
            chain(&h),
            Chain::Hops(vec![Hop::Unusable, Hop::Unusable, ip("192.0.2.2")])
        );
    }

    #[test]
    fn repeated_for_in_one_element_is_unusable() {
        let h = headers(&[("forwarded", "for=192.0.2.1;for=192.0.2.2")]);
        assert_eq!(chain(&h), Chain::Hops(vec![Hop::Unusable]));
    }

    #[test]
    fn broken_quoting_oversize_and_too_many_hops_are_malformed() {
        let open_quote = headers(&[("forwarded", r#"for="192.0.2.1"#)]);
        assert_eq!(chain(&open_quote), Chain::Malformed);
        let huge = "1".repeat(MAX_HEADER_BYTES + 1);
        assert_eq!(
            chain(&headers(&[("x-forwarded-for", &huge)])),
            Chain::Malformed
        );
        let many = vec!["192.0.2.1"; MAX_HOPS + 1].join(",");
        assert_eq!(
            chain(&headers(&[("x-forwarded-for", &many)])),
            Chain::Malformed
        );
        let mut not_text = HeaderMap::new();
        not_text.insert(
            X_FORWARDED_FOR,
            HeaderValue::from_bytes(b"192.0.2.1, \xff").unwrap(),
        );
        assert_eq!(chain(&not_text), Chain::Malformed);
    }

    #[test]
    fn x_forwarded_for_wins_over_forwarded_and_absence_is_absent() {
        let both = headers(&[
            ("forwarded", "for=198.51.100.1"),
            ("x-forwarded-for", "203.0.113.7"),
        ]);
        assert_eq!(chain(&both), Chain::Hops(vec![ip("203.0.113.7")]));
        assert_eq!(chain(&HeaderMap::new()), Chain::Absent);
    }
}
