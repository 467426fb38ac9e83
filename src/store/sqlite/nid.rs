//! SQLite side of `NidStore`: each step one writer command.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{SqliteStore, db};
use crate::domain::{Nid, UserId};
use crate::store::nid::limit_reason;
use crate::store::{FlaggedNid, NidStore, StoreError, StoreResult, from_ts, ts};

#[async_trait]
impl NidStore for SqliteStore {
    async fn set_user_nid(&self, user_id: UserId, nid: &Nid) -> StoreResult<()> {
        let nid = nid.as_str().to_owned();
        self.engine
            .write(move |conn| {
                let current: Option<Option<String>> = conn
                    .prepare_cached("SELECT nid FROM users WHERE id = ?1")
                    .map_err(db)?
                    .query_row(params![user_id], |r| r.get(0))
                    .optional()
                    .map_err(db)?;
                match current {
                    None => return Err(StoreError::NotFound(format!("user {user_id}"))),
                    Some(Some(_)) => {
                        return Err(StoreError::Conflict(
                            "this account already has an NID".into(),
                        ));
                    }
                    Some(None) => {}
                }
                conn.prepare_cached("UPDATE users SET nid = ?2 WHERE id = ?1")
                    .map_err(db)?
                    .execute(params![user_id, nid])
                    .map_err(|e| match db(e) {
                        StoreError::Conflict(_) => StoreError::NidTaken,
                        other => other,
                    })?;
                Ok(())
            })
            .await
    }

    async fn note_nid_limit_hit(
        &self,
        nid: &Nid,
        flag_after: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let nid = nid.as_str().to_owned();
        self.engine
            .write(move |conn| {
                let hits: i64 = conn
                    .prepare_cached(
                        "INSERT INTO nid_flags (nid, limit_hits, updated_at) VALUES (?1, 1, ?2)
                         ON CONFLICT (nid) DO UPDATE
                         SET limit_hits = limit_hits + 1, updated_at = excluded.updated_at
                         RETURNING limit_hits",
                    )
                    .map_err(db)?
                    .query_row(params![nid, ts(now)], |r| r.get(0))
                    .map_err(db)?;
                conn.prepare_cached(
                    "UPDATE nid_flags SET flagged_at = ?2, reason = ?3
                     WHERE nid = ?1 AND flagged_at IS NULL AND limit_hits >= ?4",
                )
                .map_err(db)?
                .execute(params![nid, ts(now), limit_reason(hits), flag_after])
                .map_err(db)?;
                conn.prepare_cached("SELECT flagged_at IS NOT NULL FROM nid_flags WHERE nid = ?1")
                    .map_err(db)?
                    .query_row(params![nid], |r| r.get(0))
                    .map_err(db)
            })
            .await
    }

    async fn flag_nid(
        &self,
        nid: &Nid,
        reason: &str,
        reported_by: UserId,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let (nid, reason) = (nid.as_str().to_owned(), reason.to_owned());
        self.engine
            .write(move |conn| {
                conn.prepare_cached(
                    "INSERT INTO nid_flags (nid, flagged_at, reason, reported_by, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?2)
                     ON CONFLICT (nid) DO UPDATE
                     SET flagged_at = excluded.flagged_at, reason = excluded.reason,
                         reported_by = excluded.reported_by, updated_at = excluded.updated_at
                     WHERE nid_flags.flagged_at IS NULL",
                )
                .map_err(db)?
                .execute(params![nid, ts(now), reason, reported_by])
                .map_err(db)?;
                Ok(())
            })
            .await
    }

    async fn flagged_nids(&self) -> StoreResult<Vec<FlaggedNid>> {
        self.engine
            .read(|conn| {
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT nid, limit_hits, flagged_at, reason, reported_by FROM nid_flags
                         WHERE flagged_at IS NOT NULL ORDER BY flagged_at, nid",
                    )
                    .map_err(db)?;
                let rows = stmt
                    .query_map([], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, i64>(1)?,
                            r.get::<_, i64>(2)?,
                            r.get::<_, Option<String>>(3)?,
                            r.get::<_, Option<UserId>>(4)?,
                        ))
                    })
                    .map_err(db)?;
                rows.map(|row| {
                    let (nid, limit_hits, at, reason, reported_by) = row.map_err(db)?;
                    Ok(FlaggedNid {
                        nid: Nid::parse(&nid).map_err(|e| StoreError::Backend(e.to_string()))?,
                        limit_hits,
                        flagged_at: from_ts(at),
                        reason: reason.unwrap_or_default(),
                        reported_by,
                    })
                })
                .collect()
            })
            .await
    }

    async fn clear_nid_flag(&self, nid: &Nid, now: DateTime<Utc>) -> StoreResult<bool> {
        let nid = nid.as_str().to_owned();
        self.engine
            .write(move |conn| {
                let n = conn
                    .prepare_cached(
                        "UPDATE nid_flags
                         SET flagged_at = NULL, reason = NULL, reported_by = NULL,
                             limit_hits = 0, updated_at = ?2
                         WHERE nid = ?1 AND flagged_at IS NOT NULL",
                    )
                    .map_err(db)?
                    .execute(params![nid, ts(now)])
                    .map_err(db)?;
                Ok(n > 0)
            })
            .await
    }
}
