//! Shared test support: fresh databases per test, a real server on a random port.
#![allow(dead_code)]

pub mod booking_flow;
pub mod db;
pub mod nats;
pub mod process;
pub mod server;
pub mod services;
pub mod smtp;

/// Runs each named `async fn(TestApp)` against a real server on SQLite and on
/// Postgres (skipped visibly when Postgres is absent, fatal with CI=true or CI=1).
#[macro_export]
macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let app = $crate::common::server::TestApp::start($crate::common::db::sqlite()).await;
                    super::$case(app).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let Some(db) = $crate::common::db::postgres().await else { return };
                    let app = $crate::common::server::TestApp::start(db).await;
                    super::$case(app).await;
                }
            )*
        }
    };
}

/// Runs each named `async fn(TestDb)` on a fresh SQLite and a fresh Postgres
/// database, for cases that start their server themselves (a manual clock, a
/// restart). Postgres is skipped as in `on_both_backends!`.
#[macro_export]
macro_rules! on_both_databases {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case($crate::common::db::sqlite()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let Some(db) = $crate::common::db::postgres().await else { return };
                    super::$case(db).await;
                }
            )*
        }
    };
}
