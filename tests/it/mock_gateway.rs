//! The mock card gateway's own API, as a client and a merchant see it: keys,
//! CORS for browser pages, idempotent charges, capped refunds, the ledger.

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use ticketctl::outside::gateway::{self, GatewaySettings, Ledger};

const PK: &str = gateway::TEST_PUBLISHABLE_KEY;
const SK: &str = gateway::TEST_SECRET_KEY;

async fn send(req: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let r = req.send().await.expect("the gateway answers");
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_mock_gateway_tokenizes_charges_once_and_refunds_within_the_amount() {
    let served = gateway::embedded(Ledger::open(None).unwrap(), GatewaySettings::default())
        .await
        .unwrap();
    let url = served.url();
    let c = Client::new();
    let card =
        json!({ "number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2035, "cvc": "123" });

    // A browser page on any origin may post a card: the preflight allows it.
    let pre = c
        .request(reqwest::Method::OPTIONS, format!("{url}/v1/tokens"))
        .header("origin", "https://shop.example")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type",
        )
        .send()
        .await
        .unwrap();
    assert!(pre.status().is_success(), "{}", pre.status());
    assert_eq!(pre.headers()["access-control-allow-origin"], "*");

    // Tokenizing needs a key; the publishable one does nothing else.
    let (s, _) = send(c.post(format!("{url}/v1/tokens")).json(&card)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, tok) = send(
        c.post(format!("{url}/v1/tokens"))
            .bearer_auth(PK)
            .json(&card),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{tok}");
    assert_eq!(
        (tok["brand"].as_str(), tok["last4"].as_str()),
        (Some("visa"), Some("4242"))
    );
    assert!(!tok.to_string().contains("4242424242424242"));
    let token = tok["token"].as_str().unwrap();
    let (s, _) = send(c.get(format!("{url}/v1/tokens/{token}")).bearer_auth(PK)).await;
    assert_eq!(
        s,
        StatusCode::UNAUTHORIZED,
        "a publishable key reads nothing"
    );
    let (s, seen) = send(c.get(format!("{url}/v1/tokens/{token}")).bearer_auth(SK)).await;
    assert_eq!((s, &seen), (StatusCode::OK, &tok));
    let (s, _) = send(
        c.get(format!("{url}/v1/tokens/tok_unknown"))
            .bearer_auth(SK),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // A charge needs its Idempotency-Key, and a retry under it charges nothing more.
    let charge = json!({ "token": token, "amount": 900 });
    let (s, e) = send(
        c.post(format!("{url}/v1/charges"))
            .bearer_auth(SK)
            .json(&charge),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    let (s, _) = send(
        c.post(format!("{url}/v1/charges"))
            .bearer_auth(PK)
            .header("idempotency-key", "order-1")
            .json(&charge),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "charging takes the secret key");
    let mut answers = vec![];
    for _ in 0..3 {
        let (s, ch) = send(
            c.post(format!("{url}/v1/charges"))
                .bearer_auth(SK)
                .header("idempotency-key", "order-1")
                .json(&charge),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{ch}");
        answers.push(ch);
    }
    assert!(answers.iter().all(|a| a == &answers[0]), "{answers:?}");
    assert_eq!(answers[0]["status"], "succeeded");
    let id = answers[0]["id"].as_str().unwrap();
    let (s, landed) = send(c.get(format!("{url}/v1/charges/order-1")).bearer_auth(SK)).await;
    assert_eq!((s, &landed), (StatusCode::OK, &answers[0]));

    // Refunds raise the refunded total, never lower it, never past the amount.
    for (total, expected) in [(300, 300), (200, 300), (5000, 900)] {
        let (s, r) = send(
            c.post(format!("{url}/v1/charges/{id}/refunds"))
                .bearer_auth(SK)
                .json(&json!({ "total": total })),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{r}");
        assert_eq!(r["refunded"], expected);
    }
    let (s, summary) = send(c.get(format!("{url}/v1/ledger/summary")).bearer_auth(SK)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        summary,
        json!({ "charges": 1, "succeeded": 1, "taken": 900, "refunded": 900, "net": 0, "tokens": 1 })
    );
    let (_, list) = send(c.get(format!("{url}/v1/ledger/charges")).bearer_auth(SK)).await;
    assert_eq!(list["charges"].as_array().unwrap().len(), 1);
}
