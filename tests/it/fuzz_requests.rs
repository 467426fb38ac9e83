//! Property-based fuzzing of the whole API (issue 8, "done when"): every
//! route, with bodies that are arbitrary JSON or a valid body with one field
//! replaced, removed or added; arbitrary Unicode (NUL, controls, bidi, any
//! plane), wrong JSON types, numbers past every integer and float range,
//! absurd dates; arbitrary path and query values; any caller role. However
//! wrong the request, the server must answer it (no dropped connection) and
//! never with a 5xx. Runs on both backends with a modest case count.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use reqwest::Method;
use serde_json::{Value, json};

use ticketctl::domain::{Role, TripId};

use crate::common::server::{TestApp, tiny_trip};

/// Cases per route and backend: ~46 routes × 48 cases run in well under a
/// minute per backend.
const CASES_PER_ROUTE: u32 = 48;

/// A JSON value that may hold what `serde_json::Value` cannot: number
/// literals past every float and integer range.
#[derive(Debug, Clone)]
enum J {
    Null,
    Bool(bool),
    /// Any number literal, written as is.
    Num(String),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

impl J {
    fn render(&self, out: &mut String) {
        match self {
            J::Null => out.push_str("null"),
            J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            J::Num(n) => out.push_str(n),
            J::Str(s) => out.push_str(&serde_json::to_string(s).unwrap()),
            J::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.render(out);
                }
                out.push(']');
            }
            J::Obj(fields) => {
                out.push('{');
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&serde_json::to_string(k).unwrap());
                    out.push(':');
                    v.render(out);
                }
                out.push('}');
            }
        }
    }

    /// Paths (child indexes) to every value inside, this one excluded.
    fn paths(&self, at: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
        let children: Vec<&J> = match self {
            J::Arr(items) => items.iter().collect(),
            J::Obj(fields) => fields.iter().map(|(_, v)| v).collect(),
            _ => vec![],
        };
        for (i, child) in children.into_iter().enumerate() {
            at.push(i);
            out.push(at.clone());
            child.paths(at, out);
            at.pop();
        }
    }

    fn at_mut(&mut self, path: &[usize]) -> &mut J {
        match (path.split_first(), self) {
            (None, j) => j,
            (Some((i, rest)), J::Arr(items)) => items[*i].at_mut(rest),
            (Some((i, rest)), J::Obj(fields)) => fields[*i].1.at_mut(rest),
            (Some(_), j) => j,
        }
    }

    /// Puts `c` into the n-th string inside (modulo their count), at any depth.
    fn poison_nth(&mut self, n: usize, c: char, at: prop::sample::Index) {
        let mut paths = vec![];
        self.paths(&mut vec![], &mut paths);
        let strings: Vec<&Vec<usize>> = paths
            .iter()
            .filter(|p| {
                let mut probe = self.clone();
                matches!(probe.at_mut(p), J::Str(_))
            })
            .collect();
        if strings.is_empty() {
            return;
        }
        let path = strings[n % strings.len()].clone();
        if let J::Str(s) = self.at_mut(&path) {
            let mut chars: Vec<char> = s.chars().collect();
            chars.insert(at.index(chars.len() + 1), c);
            *s = chars.into_iter().collect();
        }
    }

    /// Replaces the n-th value inside (modulo their count), at any depth.
    fn replace_nth(&mut self, n: usize, with: J) {
        let mut paths = vec![];
        self.paths(&mut vec![], &mut paths);
        if !paths.is_empty() {
            *self.at_mut(&paths[n % paths.len()]) = with;
        }
    }

    fn from_value(v: &Value) -> J {
        match v {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Number(n) => J::Num(n.to_string()),
            Value::String(s) => J::Str(s.clone()),
            Value::Array(a) => J::Arr(a.iter().map(J::from_value).collect()),
            Value::Object(m) => J::Obj(
                m.iter()
                    .map(|(k, v)| (k.clone(), J::from_value(v)))
                    .collect(),
            ),
        }
    }
}

/// Strings a fuzzer should try: any characters at all, dates at and past the
/// calendar's ends, long ones.
fn text() -> impl Strategy<Value = String> {
    // A plausible value with one hostile character inside: what gets past a
    // parser that only looks at the shape and then reaches the database.
    let hostile = (
        prop::sample::select(vec![
            "Rahim",
            "01712345678",
            "r@x.bd",
            "DHK",
            "KA-1",
            "2026-12-02",
            "tok_x",
            "clerk",
        ]),
        hostile_char(),
        any::<prop::sample::Index>(),
    )
        .prop_map(|(base, c, at)| {
            let mut chars: Vec<char> = base.chars().collect();
            chars.insert(at.index(chars.len() + 1), c);
            chars.into_iter().collect::<String>()
        });
    prop_oneof![
        4 => hostile,
        4 => proptest::collection::vec(any::<char>(), 0..24).prop_map(String::from_iter),
        2 => prop::sample::select(vec![
            "", " ", "DHK", "CTG", "Dhaka", "S_CHAIR", "KA-1", "clerk", "admin",
            "+262142-12-31", "262142-12-31", "-262143-01-01", "0000-00-00", "9999-12-31",
            "2026-02-30", "+262142-12-31T23:59:59Z", "9999-12-31T23:59:59+14:00",
            "1970-01-01T00:00:00Z", "\u{0}", "\u{202E}", "a\u{0}b", "🚆", "রহিম",
        ])
        .prop_map(str::to_owned),
        1 => (0usize..3000, any::<char>()).prop_map(|(n, c)| c.to_string().repeat(n)),
    ]
}

/// Characters no text field may take in: NUL above all (Postgres refuses it),
/// other controls, bidi controls; and some that are fine but awkward.
fn hostile_char() -> impl Strategy<Value = char> {
    prop::sample::select(vec![
        '\u{0}',
        '\u{0}',
        '\u{0}',
        '\u{0}',
        '\u{0}',
        '\u{0}',
        '\u{1}',
        '\t',
        '\n',
        '\u{7F}',
        '\u{85}',
        '\u{202E}',
        '\u{2066}',
        '\u{200F}',
        '\u{FEFF}',
        '\u{FFFF}',
        '\u{10FFFF}',
        '\\',
        '"',
        '\'',
        '%',
    ])
}

fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        any::<f64>()
            .prop_filter("JSON has no NaN or infinity", |f| f.is_finite())
            .prop_map(|f| f.to_string()),
        prop::sample::select(vec![
            "0",
            "-0",
            "1",
            "-1",
            "4",
            "5",
            "1e400",
            "-1e400",
            "1e-400",
            "0.5",
            "18446744073709551616",
            "-9223372036854775809",
            "9223372036854775807",
            "4294967296",
            "2147483648",
            "10000000000000",
            "123456789012345678901234567890",
        ])
        .prop_map(str::to_owned),
    ]
}

/// One value: strings most of all, as they are where hostile input hides.
fn leaf() -> impl Strategy<Value = J> {
    prop_oneof![
        1 => Just(J::Null),
        1 => any::<bool>().prop_map(J::Bool),
        3 => number().prop_map(J::Num),
        8 => text().prop_map(J::Str),
    ]
}

/// A value for a field: mostly a single one, sometimes a whole tree (proptest's
/// recursive strategies lean to deep trees, which only test type errors).
fn field_value() -> impl Strategy<Value = J> {
    prop_oneof![5 => leaf(), 1 => json_value()]
}

fn json_value() -> impl Strategy<Value = J> {
    leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(J::Arr),
            proptest::collection::vec((text(), inner), 0..4).prop_map(J::Obj),
        ]
    })
}

/// What is done to an endpoint's valid body.
#[derive(Debug, Clone)]
enum Change {
    Keep,
    /// The whole body is replaced.
    Whole(J),
    /// The n-th value inside (modulo the count, at any depth) is replaced.
    Replace(usize, J),
    Remove(usize),
    /// The n-th string inside gets a hostile character.
    Poison(usize, char, prop::sample::Index),
    Add(String, J),
    /// Not JSON at all.
    Raw(Vec<u8>),
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        1 => Just(Change::Keep),
        2 => json_value().prop_map(Change::Whole),
        6 => (any::<usize>(), field_value()).prop_map(|(i, j)| Change::Replace(i, j)),
        1 => any::<usize>().prop_map(Change::Remove),
        6 => (any::<usize>(), hostile_char(), any::<prop::sample::Index>())
            .prop_map(|(n, c, at)| Change::Poison(n, c, at)),
        1 => (text(), field_value()).prop_map(|(k, j)| Change::Add(k, j)),
        1 => proptest::collection::vec(any::<u8>(), 0..64).prop_map(Change::Raw),
    ]
}

#[derive(Debug, Clone)]
struct Case {
    route: usize,
    /// 0: nobody, 1: passenger, 2: clerk, 3: admin.
    who: usize,
    /// Replaces `{}` in the path.
    path_arg: String,
    change: Change,
    /// One query parameter (by index, modulo the count) gets this value…
    query: (usize, String),
    /// …and one parameter of any name is added.
    extra_query: Option<(String, String)>,
    idempotency_key: String,
    /// Makes phones and e-mails unique, so registrations get past "exists".
    salt: u32,
}

fn case(route: usize) -> impl Strategy<Value = Case> {
    let path_arg = prop_oneof![
        3 => (1i64..6).prop_map(|n| n.to_string()),
        2 => number(),
        2 => text(),
    ];
    (
        Just(route),
        0usize..4,
        path_arg,
        change(),
        (any::<usize>(), text()),
        proptest::option::of((text(), text())),
        "[ -~]{0,80}",
        0u32..100_000_000,
    )
        .prop_map(
            |(route, who, path_arg, change, query, extra_query, idempotency_key, salt)| Case {
                route,
                who,
                path_arg,
                change,
                query,
                extra_query,
                idempotency_key,
                salt,
            },
        )
}

struct Route {
    method: Method,
    /// `{}` stands for the path parameter, if any.
    path: &'static str,
    body: Option<Value>,
    query: Vec<(&'static str, String)>,
}

fn routes(trip: TripId, hold: i64) -> Vec<Route> {
    use Method as M;
    let r = |method: M,
             path: &'static str,
             body: Option<Value>,
             query: Vec<(&'static str, String)>| Route {
        method,
        path,
        body,
        query,
    };
    let q = |pairs: &[(&'static str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| (*k, v.to_string()))
            .collect::<Vec<_>>()
    };
    let tomorrow = ticketctl::domain::ServiceDate::today_at(crate::common::server::suite_now())
        .add_days(1)
        .to_string();
    let hold_body = json!({ "trip_id": trip, "from": "DHK", "to": "CTG", "class": "S_CHAIR", "seats": ["KA-2"], "count": null });
    let passengers = json!([{ "name": "Rahim Uddin", "nid": "1234567890" }]);
    vec![
        r(M::GET, "/healthz", None, vec![]),
        r(M::GET, "/readyz", None, vec![]),
        r(M::GET, "/v1/stations", None, vec![]),
        r(M::GET, "/v1/trains", None, vec![]),
        r(M::GET, "/v1/trains/{}", None, vec![]),
        r(
            M::GET,
            "/v1/trips",
            None,
            q(&[("from", "DHK"), ("to", "CTG"), ("date", &tomorrow)]),
        ),
        r(M::GET, "/v1/trips/{}", None, vec![]),
        r(
            M::GET,
            "/v1/trips/{}/seats",
            None,
            q(&[("from", "DHK"), ("to", "CTG"), ("detail", "true")]),
        ),
        r(M::GET, "/v1/trips/{}/live", None, vec![]),
        r(
            M::POST,
            "/v1/auth/register",
            Some(
                json!({ "name": "Fuzz", "phone": "017SALT8", "email": "fSALT8@x.bd", "password": "long enough password", "nid": "55100SALT8", "date_of_birth": "1990-01-01" }),
            ),
            vec![],
        ),
        r(
            M::POST,
            "/v1/auth/login",
            Some(
                json!({ "login": "01712345678", "password": "long enough password", "totp": "123456" }),
            ),
            vec![],
        ),
        r(
            M::POST,
            "/v1/auth/refresh",
            Some(json!({ "refresh_token": "x" })),
            vec![],
        ),
        r(M::POST, "/v1/auth/mfa/enroll", Some(json!({})), vec![]),
        r(
            M::POST,
            "/v1/auth/mfa/verify",
            Some(json!({ "code": "123456" })),
            vec![],
        ),
        r(M::GET, "/v1/me", None, vec![]),
        r(M::POST, "/v1/holds", Some(hold_body.clone()), vec![]),
        r(M::GET, "/v1/holds/{}", None, vec![]),
        r(M::DELETE, "/v1/holds/{}", None, vec![]),
        r(
            M::POST,
            "/v1/payments/tokens",
            Some(json!({ "gateway_token": "tok_0123456789abcdef01234567" })),
            vec![],
        ),
        r(
            M::POST,
            "/v1/orders",
            Some(json!({ "hold_id": hold, "passengers": passengers, "payment_token": "tok_x" })),
            vec![],
        ),
        r(M::GET, "/v1/orders/{}", None, vec![]),
        r(M::POST, "/v1/orders/{}/cancel", Some(json!({})), vec![]),
        r(M::GET, "/v1/me/orders", None, vec![]),
        r(
            M::POST,
            "/v1/tickets/verify",
            Some(json!({ "payload": "x" })),
            vec![],
        ),
        r(M::GET, "/v1/tickets/public-key", None, vec![]),
        r(M::GET, "/v1/tickets/{}", None, vec![]),
        r(M::GET, "/v1/tickets/{}/qr.png", None, vec![]),
        r(M::GET, "/v1/tickets/{}/qr.svg", None, vec![]),
        r(M::GET, "/v1/admin/audit/verify", None, vec![]),
        r(M::POST, "/v1/queue/{}/join", Some(json!({})), vec![]),
        r(M::GET, "/v1/queue/{}/status", None, vec![]),
        r(M::DELETE, "/v1/queue/{}", None, vec![]),
        r(
            M::POST,
            "/v1/admin/queue",
            Some(
                json!({ "id": "fuzz", "opens_at": crate::common::server::suite_now(), "trip_ids": [trip.get() + 1000], "rate_per_sec": 10.0, "max_active": 10, "idle_secs": 60 }),
            ),
            vec![],
        ),
        r(
            M::POST,
            "/v1/admin/queue/{}",
            Some(json!({ "paused": false, "rate_per_sec": 5.0, "max_active": 3 })),
            vec![],
        ),
        r(M::GET, "/v1/admin/users", None, vec![]),
        r(
            M::PUT,
            "/v1/admin/users/{}/role",
            Some(json!({ "role": "clerk" })),
            vec![],
        ),
        r(
            M::POST,
            "/v1/admin/stations",
            Some(json!({ "code": "XYZ", "name": "Xyz", "name_bn": "এক্স", "aliases": ["Xy"] })),
            vec![],
        ),
        r(
            M::POST,
            "/v1/admin/trips",
            Some(json!({ "train": 9001, "date": tomorrow })),
            vec![],
        ),
        r(M::POST, "/v1/counter/holds", Some(hold_body), vec![]),
        r(
            M::POST,
            "/v1/counter/orders",
            Some(
                json!({ "hold_id": hold, "passengers": passengers, "phone": "01712345678", "nid": "5511712345678" }),
            ),
            vec![],
        ),
        r(M::GET, "/v1/counter/orders/{}", None, vec![]),
        r(
            M::POST,
            "/v1/counter/orders/{}/cancel",
            Some(json!({})),
            vec![],
        ),
        r(
            M::GET,
            "/v1/counter/lookup",
            None,
            q(&[("pnr", "ABC123"), ("phone", "01712345678")]),
        ),
        r(
            M::GET,
            "/v1/counter/shift",
            None,
            q(&[("since", "2026-01-01T00:00:00Z")]),
        ),
        r(M::GET, "/v1/no/such/route", None, vec![]),
    ]
}

fn body_of(route: &Route, change: &Change) -> Option<Vec<u8>> {
    let base = route.body.as_ref().map(J::from_value);
    let j = match (change, base) {
        (Change::Raw(bytes), _) => return Some(bytes.clone()),
        (Change::Whole(j), _) => Some(j.clone()),
        (_, None) => None,
        (Change::Keep, Some(b)) => Some(b),
        (Change::Poison(n, c, at), Some(mut b)) => {
            b.poison_nth(*n, *c, *at);
            Some(b)
        }
        (Change::Replace(i, v), Some(mut b)) => {
            b.replace_nth(*i, v.clone());
            Some(b)
        }
        (Change::Remove(i), Some(J::Obj(mut fields))) if !fields.is_empty() => {
            fields.remove(i % fields.len());
            Some(J::Obj(fields))
        }
        (Change::Add(k, v), Some(J::Obj(mut fields))) => {
            fields.push((k.clone(), v.clone()));
            Some(J::Obj(fields))
        }
        (_, b) => b,
    }?;
    let mut out = String::new();
    j.render(&mut out);
    Some(out.into_bytes())
}

fn url_escape(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

async fn run_case(
    t: &TestApp,
    routes: &[Route],
    tokens: &[Option<String>; 4],
    c: &Case,
) -> Result<u16, String> {
    let route = &routes[c.route];
    let path = route.path.replace("{}", &url_escape(&c.path_arg));
    let mut url = reqwest::Url::parse(&t.url(&path)).unwrap();
    let mut query = route
        .query
        .clone()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect::<Vec<_>>();
    if !query.is_empty() {
        let n = c.query.0 % query.len();
        query[n].1 = c.query.1.clone();
    }
    if let Some(extra) = &c.extra_query {
        query.push(extra.clone());
    }
    if !query.is_empty() {
        url.query_pairs_mut().extend_pairs(&query);
    }
    let mut req = t
        .client
        .request(route.method.clone(), url)
        .timeout(std::time::Duration::from_secs(30))
        .header("idempotency-key", c.idempotency_key.as_str())
        .header("admission-token", c.idempotency_key.as_str());
    if let Some(token) = &tokens[c.who] {
        req = req.bearer_auth(token);
    }
    if let Some(body) = body_of(route, &c.change) {
        let salted = String::from_utf8_lossy(&body).replace("SALT8", &format!("{:08}", c.salt));
        let body =
            if salted.as_bytes() == body.as_slice() || !body.windows(5).any(|w| w == b"SALT8") {
                body
            } else {
                salted.into_bytes()
            };
        req = req.header("content-type", "application/json").body(body);
    }
    let what = format!("{} {path}", route.method);
    let resp = req
        .send()
        .await
        .map_err(|e| format!("{what}: no answer: {e}"))?;
    let status = resp.status();
    if route.path.ends_with("/live") {
        // An open stream never ends; its status is the answer.
        return if status.is_server_error() && status != reqwest::StatusCode::SERVICE_UNAVAILABLE {
            Err(format!("{what}: {status}"))
        } else {
            Ok(status.as_u16())
        };
    }
    let body = resp
        .bytes()
        .await
        .map_err(|e| format!("{what}: body cut: {e}"))?;
    if status.is_server_error() {
        return Err(format!(
            "{what}: {status} {}",
            String::from_utf8_lossy(&body)
        ));
    }
    Ok(status.as_u16())
}

/// Runs the fuzzer against a server on Postgres or SQLite.
fn fuzz(postgres: bool) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let db = rt.block_on(async {
        if postgres {
            crate::common::db::postgres().await
        } else {
            Some(crate::common::db::sqlite())
        }
    });
    let Some(db) = db else {
        return;
    };
    let (t, routes, tokens) = rt.block_on(async {
        let t = TestApp::start(db).await;
        let trip = tiny_trip(&t.app, 40).await;
        let passenger = t.user_token("01711000001", Role::Passenger).await;
        let clerk = t.user_token("01711000002", Role::Clerk).await;
        let admin = t.user_token("01711000003", Role::Admin).await;
        let held = t
            .post_as(
                "/v1/holds",
                &passenger,
                json!({ "trip_id": trip, "from": "DHK", "to": "CTG", "class": "S_CHAIR", "seats": ["KA-1"] }),
            )
            .await;
        let hold = held.body["hold_id"].as_i64().unwrap_or(1);
        let tokens = [None, Some(passenger), Some(clerk), Some(admin)];
        (t, routes(trip, hold), tokens)
    });
    // How often each status came back: a fuzzer that only ever meets 401s
    // or 400s would prove little, so the spread is printed.
    let seen = parking_lot::Mutex::new(std::collections::BTreeMap::<u16, u32>::new());
    let mut result = Ok(());
    for route in 0..routes.len() {
        let mut runner = TestRunner::new(Config {
            cases: CASES_PER_ROUTE,
            failure_persistence: None,
            ..Config::default()
        });
        result = runner.run(&case(route), |c| {
            let status = rt
                .block_on(run_case(&t, &routes, &tokens, &c))
                .map_err(TestCaseError::fail)?;
            *seen.lock().entry(status).or_default() += 1;
            Ok(())
        });
        if result.is_err() {
            break;
        }
    }
    eprintln!("statuses seen: {:?}", seen.lock());
    // The server is still healthy after it all.
    let healthy = rt.block_on(async { t.get("/healthz").await.status });
    drop(t);
    rt.shutdown_timeout(std::time::Duration::from_secs(5));
    if let Err(e) = result {
        panic!("{e}");
    }
    assert_eq!(healthy, reqwest::StatusCode::OK);
}

#[test]
fn no_request_gets_a_5xx_or_a_dropped_connection_on_sqlite() {
    fuzz(false);
}

#[test]
fn no_request_gets_a_5xx_or_a_dropped_connection_on_postgres() {
    fuzz(true);
}
