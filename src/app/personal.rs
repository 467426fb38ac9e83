//! Personal data: a person's export, their erasure, retention of old data,
//! and keyed pseudonyms for records that must never change.
//!
//! Where personal data lives, and what each of these does to each place, is
//! one list in the store (`store::personal::PERSONAL_TABLES`); here are the
//! rules around it: who may erase (re-authenticated, no upcoming trips), what
//! an export looks like, and how old is old enough.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::UserId;
use crate::domain::pseudonym::pseudonym;
use crate::store::personal::{PurgeReport, Scope};

use super::{App, AppError, AppResult};

/// Everything stored about one person, table by table.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PersonalExport {
    pub user_id: UserId,
    pub exported_at: DateTime<Utc>,
    /// Each table's rows about the person, every column but secrets
    /// (password hash, TOTP secret, token hashes, pseudonym key).
    #[schema(value_type = Object)]
    pub tables: serde_json::Map<String, serde_json::Value>,
    /// What is kept elsewhere and not in this document.
    pub not_included: Vec<String>,
}

/// Places outside this database that hold personal data, named in every export.
const ELSEWHERE: &[&str] = &[
    "card numbers: kept only by the card gateway (this system keeps the token, brand and last four)",
    "date of birth: sent to the NID registry to verify the NID, never stored here",
    "messages already delivered by the SMS gateway or mail server, and files under serve's --notifications-dir",
];

impl App {
    async fn person(&self, user_id: UserId) -> AppResult<Scope> {
        let u = self.user(user_id).await?;
        Ok(Scope::person(
            u.id,
            u.nid.map(|n| n.as_str().to_owned()),
            u.phone,
            u.email,
            self.now().timestamp(),
        ))
    }

    /// All personal data about `user_id` as one document.
    pub async fn export_personal_data(&self, user_id: UserId) -> AppResult<PersonalExport> {
        let scope = self.person(user_id).await?;
        let tables = self
            .store
            .personal_export(&scope)
            .await?
            .into_iter()
            .map(|t| (t.table.to_owned(), serde_json::Value::Array(t.rows)))
            .collect();
        Ok(PersonalExport {
            user_id,
            exported_at: self.now(),
            tables,
            not_included: ELSEWHERE.iter().map(|s| (*s).to_owned()).collect(),
        })
    }

    /// The account holder's own erasure: their password (and a code, with
    /// two-factor on) first, then as `erase_personal_data`.
    pub async fn erase_me(
        &self,
        user_id: UserId,
        password: &str,
        totp: Option<&str>,
    ) -> AppResult<()> {
        let user = self.user(user_id).await?;
        self.reauthenticate(&user, password, totp).await?;
        self.erase_personal_data(user_id).await
    }

    /// Erases the person: names, phone, e-mail and NID of the account, the
    /// names and NIDs of the passengers on their orders, their counter
    /// purchases' phone and NID, the SMS to them; revokes every session and
    /// destroys their pseudonym key. Orders, amounts, tickets and ledgers stay.
    /// Refused (409) while they have upcoming trips: cancel those first.
    pub async fn erase_personal_data(&self, user_id: UserId) -> AppResult<()> {
        let scope = self.person(user_id).await?;
        self.store.personal_erase(&scope).await?;
        tracing::info!(user = %user_id, "personal data erased");
        Ok(())
    }

    /// Retention: anonymises passengers and counter buyers of trips that left
    /// more than `days` days ago, deletes delivered SMS bodies and stored
    /// order answers older than that, and erases passenger accounts with no
    /// sign-in and no trip in that time.
    pub async fn purge_personal_data(&self, days: u32) -> AppResult<PurgeReport> {
        if days == 0 {
            return Err(AppError::Invalid(crate::domain::ParseError::new(
                "older_than_days",
                "must be at least 1",
            )));
        }
        let now = self.now();
        let cutoff = now - chrono::Duration::days(i64::from(days));
        let report = self
            .store
            .personal_purge(&Scope::older_than(cutoff.timestamp(), now.timestamp()))
            .await?;
        if report != PurgeReport::default() {
            tracing::info!(?report, days, "personal data retention");
        }
        Ok(report)
    }

    /// The keyed pseudonym of `value` for `user_id` (see `domain::pseudonym`):
    /// what a record that never changes holds instead of the value. `None`
    /// once the person is erased: their key is gone, so nothing can be linked
    /// to them any more.
    pub async fn pseudonym(&self, user_id: UserId, value: &str) -> AppResult<Option<String>> {
        let fresh = hex::encode(rand::random::<[u8; 32]>());
        let key = self
            .store
            .person_key(user_id, &fresh, self.now().timestamp())
            .await?;
        Ok(key.map(|k| pseudonym(k.as_bytes(), value)))
    }
}
