//! Velocity counters under concurrency: many holds by one account arriving
//! together pass a rule exactly `limit` times, with the counters in memory
//! and in Redis, on both backends; and two servers sharing Redis (on one
//! Postgres) count one account's requests together, see each other's blocks
//! and clearings.

use reqwest::StatusCode;
use serde_json::json;
use tokio::task::JoinSet;

use ticketctl::domain::{Role, TripId};

use crate::common::db::TestDb;
use crate::common::redis::{TestRoom, shared};
use crate::common::server::{Reply, TestApp, mint_token_at, quick_user, tiny_trip};
use crate::risk_rules::risk_config;

const AT_ONCE: usize = 24;
/// Below the four seats one NID may hold on a trip, so only the rule refuses.
const LIMIT: usize = 3;

async fn hold(client: &reqwest::Client, base: &str, token: &str, trip: TripId) -> Reply {
    let r = client
        .post(format!("{base}/v1/holds"))
        .bearer_auth(token)
        .json(
            &json!({ "trip_id": trip, "from": "DHK", "to": "CTG", "class": "S_CHAIR", "count": 1 }),
        )
        .send()
        .await
        .expect("the server answers");
    Reply::from_response(r).await
}

/// `AT_ONCE` holds by one account, spread over `bases`, all at once; answers
/// how many were created and how many refused with each problem type.
async fn burst(bases: &[String], token: &str, trip: TripId) -> (usize, Vec<String>) {
    let client = reqwest::Client::new();
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(AT_ONCE));
    let mut set = JoinSet::new();
    for i in 0..AT_ONCE {
        let (client, base, token, start) = (
            client.clone(),
            bases[i % bases.len()].clone(),
            token.to_owned(),
            start.clone(),
        );
        set.spawn(async move {
            start.wait().await;
            hold(&client, &base, &token, trip).await
        });
    }
    let (mut created, mut refused) = (0, vec![]);
    while let Some(r) = set.join_next().await {
        let r = r.unwrap();
        if r.status == StatusCode::CREATED {
            created += 1;
        } else {
            refused.push(r.body["type"].as_str().unwrap_or_default().to_owned());
        }
    }
    (created, refused)
}

async fn holds_arriving_together_pass_exactly_the_limit(db: TestDb, room: TestRoom) {
    let config = risk_config(&room, &[&format!("holds_per_account={LIMIT}/1m:step-up")]);
    let t = TestApp::start_with(db, config).await;
    let trip = tiny_trip(&t.app, 40).await;
    let (_, token) = quick_user(&t.app, 1).await;
    let (created, refused) = burst(&[t.url("")], &token, trip).await;
    assert_eq!(created, LIMIT, "{refused:?}");
    assert_eq!(refused.len(), AT_ONCE - LIMIT);
    assert!(
        refused.iter().all(|p| p == "/problems/step-up-required"),
        "{refused:?}"
    );
}

crate::on_both_rooms!(holds_arriving_together_pass_exactly_the_limit);

/// Two servers on one Postgres database and one Redis prefix.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_postgres_share_redis_counters() {
    let Some(redis) = shared() else { return };
    let Some(db) = crate::common::db::postgres().await else {
        return;
    };
    let room = TestRoom::Redis(redis);
    let config = || risk_config(&room, &[&format!("holds_per_account={LIMIT}/1m:step-up")]);
    let a = TestApp::start_with(db.shared(), config()).await;
    let b = TestApp::start_with(db.shared(), config()).await;
    let trip = tiny_trip(&a.app, 40).await;
    let (_, token) = quick_user(&a.app, 1).await;
    let bases = [a.url(""), b.url("")];
    // Counted together: exactly the limit passes over both servers.
    let (created, refused) = burst(&bases, &token, trip).await;
    assert_eq!(created, LIMIT, "{refused:?}");
    assert!(
        refused.iter().all(|p| p == "/problems/step-up-required"),
        "{refused:?}"
    );
    let _keep = db;
}

/// A block tripped through one server refuses on the other; clearing it
/// through the other restarts the counts on both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_and_clearings_reach_both_servers_postgres_redis() {
    let Some(redis) = shared() else { return };
    let Some(db) = crate::common::db::postgres().await else {
        return;
    };
    let room = TestRoom::Redis(redis);
    let config = || risk_config(&room, &["holds_per_account=2/1m:block"]);
    let a = TestApp::start_with(db.shared(), config()).await;
    let b = TestApp::start_with(db.shared(), config()).await;
    let trip = tiny_trip(&a.app, 40).await;
    let (user, token) = quick_user(&a.app, 1).await;
    let (admin_id, _) = quick_user(&a.app, 2).await;
    a.app.set_role(admin_id, Role::Admin).await.unwrap();
    let admin = mint_token_at(a.app.now(), admin_id, Role::Admin, 600);
    let client = reqwest::Client::new();
    let (ua, ub) = (a.url(""), b.url(""));
    // A hold on A and one on B make two; the third, on A, trips the block.
    for base in [&ua, &ub] {
        let r = hold(&client, base, &token, trip).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    hold(&client, &ua, &token, trip)
        .await
        .assert_problem(403, "risk-blocked");
    hold(&client, &ub, &token, trip)
        .await
        .assert_problem(403, "risk-blocked");
    let r = b
        .post_as(
            "/v1/admin/risk/clear",
            &admin,
            json!({ "subject": "account", "value": user.to_string() }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // Afresh on both: two more, then blocked again.
    for base in [&ub, &ua] {
        let r = hold(&client, base, &token, trip).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    hold(&client, &ua, &token, trip)
        .await
        .assert_problem(403, "risk-blocked");
    let listed = a.get_as("/v1/admin/risk?active=true", &admin).await;
    assert_eq!(
        listed.body["decisions"].as_array().unwrap().len(),
        1,
        "{}",
        listed.body
    );
    let _keep = db;
}
