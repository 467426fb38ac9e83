//! What a user is told about their place in a queued sale (the body of the
//! queue endpoints), built from the room's answer, the sale's settings and
//! the admission token's signature.

use crate::wire::queue::QueueStatus;
use chrono::{DateTime, Utc};

use crate::domain::UserId;
use crate::domain::admission::sign;
use crate::domain::time::to_local_rfc3339;
use crate::domain::waiting_room::{Place, SaleSettings, poll_after, prequeue_poll, wait_secs};

impl QueueStatus {
    /// What `user` is told about their `place` in `sale`. An admission's token
    /// is signed with `key`; the same admission always gives the same token,
    /// whichever process signs it.
    pub(super) fn of(
        place: Place,
        sale: &SaleSettings,
        user: UserId,
        key: &[u8],
        now: DateTime<Utc>,
    ) -> Self {
        match place {
            Place::PreQueue { waiting } => QueueStatus::PreQueue {
                opens_at: to_local_rfc3339(sale.opens_at),
                waiting,
                poll_after_secs: prequeue_poll(sale.opens_at, now),
            },
            Place::Waiting { position, pace } => {
                let wait = wait_secs(position, pace);
                QueueStatus::Waiting {
                    position,
                    estimated_wait_secs: wait,
                    poll_after_secs: poll_after(wait),
                }
            }
            Place::Admitted(a) => QueueStatus::Admitted {
                token: sign(&a.claims(&sale.id, user), key),
                expires_at: to_local_rfc3339(a.idle_until),
            },
        }
    }
}
