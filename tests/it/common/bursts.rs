//! Checking rate limits from outside: requests released together, and the
//! rule a bucket of `2 × rate` must keep while they are answered.

use reqwest::{RequestBuilder, StatusCode};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Barrier;

use super::server::Reply;

/// Sends every request at once (each task waits on one barrier) and returns
/// the replies in order, with the time from the release to the last answer.
pub async fn all_at_once(requests: Vec<RequestBuilder>) -> (Vec<Reply>, Duration) {
    let barrier = Arc::new(Barrier::new(requests.len() + 1));
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|request| {
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                let response = request.send().await.expect("request reaches the server");
                Reply::from_response(response).await
            })
        })
        .collect();
    barrier.wait().await;
    let released = Instant::now();
    let mut replies = Vec::with_capacity(tasks.len());
    for task in tasks {
        replies.push(task.await.expect("request task"));
    }
    (replies, released.elapsed())
}

/// Sends the requests one after another; same answer as [`all_at_once`].
pub async fn one_by_one(requests: Vec<RequestBuilder>) -> (Vec<Reply>, Duration) {
    let started = Instant::now();
    let mut replies = Vec::with_capacity(requests.len());
    for request in requests {
        let response = request.send().await.expect("request reaches the server");
        replies.push(Reply::from_response(response).await);
    }
    (replies, started.elapsed())
}

/// Opens `n` keep-alive connections to each base URL through `/healthz`
/// (never rate limited), so requests released together are not held back by
/// connection set-up and arrive within the bucket's refill interval.
pub async fn warmed_client(bases: &[&str], n: usize) -> reqwest::Client {
    let client = reqwest::Client::new();
    for base in bases {
        let (replies, _) = all_at_once(
            (0..n)
                .map(|_| client.get(format!("{base}/healthz")))
                .collect(),
        )
        .await;
        assert!(replies.iter().all(|r| r.status == StatusCode::OK));
    }
    client
}

/// One fresh bucket of `per_second` (burst twice that) drawn by `replies`:
/// the whole burst passed, plus at most what the bucket refilled in `elapsed`;
/// every other reply is a 429 problem with `Retry-After` and the bucket's size,
/// refused by `who` ("address" or "account"). Returns how many passed.
pub fn assert_one_bucket(
    replies: &[Reply],
    per_second: u32,
    elapsed: Duration,
    who: &str,
) -> usize {
    let burst = 2 * per_second as usize;
    let refilled = (elapsed.as_secs_f64() * f64::from(per_second)).floor() as usize;
    let statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
    let passed = statuses.iter().filter(|s| **s == 200).count();
    assert!(
        (burst..=burst + refilled).contains(&passed),
        "{passed} passed; a bucket of {burst} refills {refilled} in {elapsed:?}: {statuses:?}"
    );
    for r in replies.iter().filter(|r| r.status != StatusCode::OK) {
        r.assert_problem(429, "rate-limited");
        let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!(retry >= 1, "{retry}");
        assert_eq!(r.headers["ratelimit-limit"], burst.to_string().as_str());
        assert_eq!(r.headers["ratelimit-remaining"], "0");
        let detail = r.body["detail"].as_str().unwrap_or_default();
        assert!(
            detail.contains(who),
            "refused by the {who}'s bucket: {detail}"
        );
    }
    passed
}
