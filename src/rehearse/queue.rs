//! The waiting room from a passenger's side: join at (or before) opening,
//! poll until admitted, carry the admission token, and leave when giving up so
//! the slot goes to the next in line.

use reqwest::Method;
use std::time::{Duration, Instant};

use crate::wire::queue::QueueStatus;

use super::stats::{JOIN, LEAVE, STATUS};
use super::{Passenger, parse};

/// A queued sale the passengers go through.
#[derive(Debug, Clone)]
pub struct QueuePlan {
    pub sale: String,
    /// The shortest time between two questions to the room (it suggests longer
    /// ones to those far back).
    pub poll: Duration,
    /// A passenger not admitted by then gives up.
    pub give_up_after: Duration,
}

/// Joins and waits for admission; the token is kept on the passenger for holds
/// and orders. Returns how long the wait was, or None when it failed or took
/// longer than the passenger would wait.
pub(super) async fn wait_for_admission(
    p: &mut Passenger<'_>,
    plan: &QueuePlan,
) -> Option<Duration> {
    let began = Instant::now();
    let path = format!("/v1/queue/{}/join", plan.sale);
    let (status, body) = p.call(JOIN, Method::POST, &path, None, None).await;
    if status != 200 {
        return None;
    }
    // An answer that is not a status counts as "not admitted yet, no hint".
    let mut room: Option<QueueStatus> = parse(&body);
    let path = format!("/v1/queue/{}/status", plan.sale);
    loop {
        let hint = match &room {
            Some(QueueStatus::Admitted { token, .. }) => {
                p.admission = Some(token.clone());
                return Some(began.elapsed());
            }
            waiting => waiting.as_ref().and_then(QueueStatus::poll_after_secs),
        };
        if began.elapsed() > plan.give_up_after {
            return None;
        }
        // As a browser would: when the room says, but never more often than `poll`.
        let hint = Duration::from_secs(hint.unwrap_or(0));
        tokio::time::sleep(hint.max(plan.poll)).await;
        let (status, body) = p.call(STATUS, Method::GET, &path, None, None).await;
        if status != 200 {
            return None;
        }
        room = parse(&body);
    }
}

/// Gives the place (or the admission) up.
pub(super) async fn leave(p: &mut Passenger<'_>, plan: &QueuePlan) {
    let path = format!("/v1/queue/{}", plan.sale);
    p.call(LEAVE, Method::DELETE, &path, None, None).await;
    p.admission = None;
}
