//! Use cases: the only callers of the store. The server, the TUI and the
//! admin commands all go through here, so a rule lives in one place.

pub mod catalog;
pub mod error;
pub mod fixtures;
pub mod identity;
pub mod seed;

pub use error::{AppError, AppResult};

use chrono::{DateTime, Utc};
use std::sync::Arc;

use crate::domain::SalePolicy;
use crate::store::Store;

/// Settings of the use cases, resolved from flags and environment by `commands`.
#[derive(Debug, Clone)]
pub struct AppConfig {
    pub sale: SalePolicy,
    pub access_token_ttl: chrono::Duration,
    pub refresh_token_ttl: chrono::Duration,
    /// Failed logins in a row before an account is locked for `lockout`.
    pub max_failed_logins: i64,
    pub lockout: chrono::Duration,
    /// HMAC secret for access tokens; `None` = generate one and keep it in the database.
    pub jwt_secret: Option<String>,
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            sale: SalePolicy::default(),
            access_token_ttl: chrono::Duration::minutes(15),
            refresh_token_ttl: chrono::Duration::days(30),
            max_failed_logins: 5,
            lockout: chrono::Duration::minutes(15),
            jwt_secret: None,
        }
    }
}

/// The application: store, settings and keys, shared by every request.
#[derive(Clone)]
pub struct App {
    pub store: Arc<dyn Store>,
    pub config: Arc<AppConfig>,
    pub(crate) tokens: Arc<identity::TokenKeys>,
}

impl App {
    /// Builds the app on a migrated store, loading (or creating) its signing keys.
    pub async fn new(store: Arc<dyn Store>, config: AppConfig) -> AppResult<App> {
        let tokens =
            identity::TokenKeys::load(store.as_ref(), config.jwt_secret.as_deref()).await?;
        Ok(App {
            store,
            config: Arc::new(config),
            tokens: Arc::new(tokens),
        })
    }

    pub fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}
