//! Postgres side of `NidStore`: each step one statement (or one transaction).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::rows::get;
use super::{PgStore, db};
use crate::domain::{Nid, UserId};
use crate::store::nid::limit_reason;
use crate::store::{FlaggedNid, NidStore, StoreError, StoreResult, from_ts, ts};

#[async_trait]
impl NidStore for PgStore {
    async fn set_user_nid(&self, user_id: UserId, nid: &Nid) -> StoreResult<()> {
        let done = sqlx::query("UPDATE users SET nid = $2 WHERE id = $1 AND nid IS NULL")
            .bind(user_id)
            .bind(nid.as_str())
            .execute(&self.pool)
            .await
            .map_err(|e| match db(e) {
                StoreError::Conflict(_) => StoreError::NidTaken,
                other => other,
            })?;
        if done.rows_affected() == 1 {
            return Ok(());
        }
        let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)")
            .bind(user_id)
            .fetch_one(&self.pool)
            .await
            .map_err(db)?;
        Err(if exists {
            StoreError::Conflict("this account already has an NID".into())
        } else {
            StoreError::NotFound(format!("user {user_id}"))
        })
    }

    async fn note_nid_limit_hit(
        &self,
        nid: &Nid,
        flag_after: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        // The upsert's row lock orders concurrent refusals; flagging is
        // idempotent (only an unflagged row is flagged), so the three steps
        // need no transaction of their own.
        let hits: i64 = sqlx::query_scalar(
            "INSERT INTO nid_flags AS f (nid, limit_hits, updated_at) VALUES ($1, 1, $2)
             ON CONFLICT (nid) DO UPDATE
             SET limit_hits = f.limit_hits + 1, updated_at = excluded.updated_at
             RETURNING f.limit_hits",
        )
        .bind(nid.as_str())
        .bind(ts(now))
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        sqlx::query(
            "UPDATE nid_flags SET flagged_at = $2, reason = $3
             WHERE nid = $1 AND flagged_at IS NULL AND limit_hits >= $4",
        )
        .bind(nid.as_str())
        .bind(ts(now))
        .bind(limit_reason(hits))
        .bind(flag_after)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        sqlx::query_scalar("SELECT flagged_at IS NOT NULL FROM nid_flags WHERE nid = $1")
            .bind(nid.as_str())
            .fetch_one(&self.pool)
            .await
            .map_err(db)
    }

    async fn flag_nid(
        &self,
        nid: &Nid,
        reason: &str,
        reported_by: UserId,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO nid_flags AS f (nid, flagged_at, reason, reported_by, updated_at)
             VALUES ($1, $2, $3, $4, $2)
             ON CONFLICT (nid) DO UPDATE
             SET flagged_at = excluded.flagged_at, reason = excluded.reason,
                 reported_by = excluded.reported_by, updated_at = excluded.updated_at
             WHERE f.flagged_at IS NULL",
        )
        .bind(nid.as_str())
        .bind(ts(now))
        .bind(reason)
        .bind(reported_by)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn flagged_nids(&self) -> StoreResult<Vec<FlaggedNid>> {
        let rows = sqlx::query(
            "SELECT nid, limit_hits, flagged_at, reason, reported_by FROM nid_flags
             WHERE flagged_at IS NOT NULL ORDER BY flagged_at, nid",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter()
            .map(|r| {
                Ok(FlaggedNid {
                    nid: Nid::parse(&get::<String>(r, "nid")?)
                        .map_err(|e| StoreError::Backend(e.to_string()))?,
                    limit_hits: get(r, "limit_hits")?,
                    flagged_at: from_ts(get(r, "flagged_at")?),
                    reason: get::<Option<String>>(r, "reason")?.unwrap_or_default(),
                    reported_by: get(r, "reported_by")?,
                })
            })
            .collect()
    }

    async fn clear_nid_flag(&self, nid: &Nid, now: DateTime<Utc>) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE nid_flags
             SET flagged_at = NULL, reason = NULL, reported_by = NULL, limit_hits = 0,
                 updated_at = $2
             WHERE nid = $1 AND flagged_at IS NOT NULL",
        )
        .bind(nid.as_str())
        .bind(ts(now))
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(done.rows_affected() > 0)
    }
}
