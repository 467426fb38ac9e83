//! Shared test support: fresh databases per test, a real server on a random port.
#![allow(dead_code)]

pub mod booking_flow;
pub mod browser;
pub mod bursts;
pub mod db;
pub mod drill;
pub mod gateway;
pub mod nats;
pub mod private_pg;
pub mod process;
pub mod redis;
pub mod scrape;
pub mod server;
pub mod services;
pub mod smtp;
pub mod wallet;

/// Runs each named `async fn(Arc<dyn Store>)` on a fresh SQLite store and a
/// fresh Postgres store: the storage conformance cases, the same on both.
#[macro_export]
macro_rules! on_both_stores {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let db = $crate::common::db::sqlite();
                    super::$case($crate::common::db::open_store(&db).await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let Some(db) = $crate::common::db::postgres().await else { return };
                    super::$case($crate::common::db::open_store(&db).await).await;
                }
            )*
        }
    };
}

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

/// Runs each named `async fn(TestDb, TestRoom)` with the waiting room in this
/// process's memory and in Redis (a key prefix of the test's own), each on
/// SQLite and on Postgres. Redis and Postgres are skipped as in `on_both_backends!`.
#[macro_export]
macro_rules! on_both_rooms {
    ($($case:ident),* $(,)?) => {
        mod memory {
            $crate::on_both_databases_in_room!(memory; $($case),*);
        }
        mod redis {
            $crate::on_both_databases_in_room!(redis; $($case),*);
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! on_both_databases_in_room {
    ($room:ident; $($case:ident),*) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let Some(room) = $crate::common::redis::TestRoom::$room() else { return };
                    super::super::$case($crate::common::db::sqlite(), room).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let Some(room) = $crate::common::redis::TestRoom::$room() else { return };
                    let Some(db) = $crate::common::db::postgres().await else { return };
                    super::super::$case(db, room).await;
                }
            )*
        }
    };
}

/// Runs each `case(TestApp)` on both backends, the server started with
/// `config()`; `group` names the module the tests go in.
macro_rules! on_both_with {
    ($group:ident, $config:ident: $($case:ident),* $(,)?) => {
        mod $group {
            mod sqlite {
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $case() {
                        let db = $crate::common::db::sqlite();
                        let t = $crate::common::server::TestApp::start_with(db, super::super::$config()).await;
                        super::super::$case(t).await;
                    }
                )*
            }
            mod postgres {
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $case() {
                        let Some(db) = $crate::common::db::postgres().await else { return };
                        let t = $crate::common::server::TestApp::start_with(db, super::super::$config()).await;
                        super::super::$case(t).await;
                    }
                )*
            }
        }
    };
}
