//! Fresh databases for tests: a SQLite file in a temp dir, or a uniquely named
//! Postgres database that is dropped when the test ends.
//!
//! Without Postgres the Postgres tests skip, visibly and counted (see
//! `services`); with `CI=true` or `CI=1` they must run, and fail if they cannot.

use rand::RngCore;
use std::sync::Arc;

use super::services::Service;
use ticketctl::store::prelude::*;

const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub enum TestDb {
    Sqlite {
        _dir: tempfile::TempDir,
        url: String,
    },
    Postgres(PgGuard),
}

impl TestDb {
    pub fn url(&self) -> &str {
        match self {
            TestDb::Sqlite { url, .. } => url,
            TestDb::Postgres(g) => &g.url,
        }
    }

    /// Another handle on the same Postgres database, for a second server on
    /// it: dropping the handle removes nothing (keep `self` alive meanwhile).
    pub fn shared(&self) -> TestDb {
        match self {
            TestDb::Postgres(g) => TestDb::Postgres(PgGuard {
                admin_url: g.admin_url.clone(),
                name: g.name.clone(),
                url: g.url.clone(),
                owner: false,
            }),
            TestDb::Sqlite { .. } => panic!("one SQLite file has one server process"),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // A Postgres database's gateway ledger goes with its owning guard.
        if let TestDb::Sqlite { url, .. } = self {
            super::gateway::remove_ledger(url);
        }
    }
}

/// A handle on an existing Postgres database that dropping leaves alone (one
/// in a test's private cluster, which goes with the cluster).
pub fn postgres_unowned(url: &str) -> TestDb {
    TestDb::Postgres(PgGuard {
        admin_url: String::new(),
        name: String::new(),
        url: url.to_owned(),
        owner: false,
    })
}

pub fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/test.db", dir.path().display());
    TestDb::Sqlite { _dir: dir, url }
}

/// A Postgres database that exists for as long as the guard.
pub struct PgGuard {
    admin_url: String,
    name: String,
    url: String,
    /// Whether dropping this guard drops the database.
    owner: bool,
}

fn admin_url() -> String {
    std::env::var("TICKETCTL_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.into())
}

pub async fn postgres() -> Option<TestDb> {
    use sqlx::Connection;
    let admin = admin_url();
    let mut conn = match sqlx::PgConnection::connect(&admin).await {
        Ok(c) => c,
        Err(e) => {
            super::services::skip(Service::Postgres, &format!("not reachable at {admin}: {e}"));
            return None;
        }
    };
    super::services::ran(Service::Postgres);
    let mut suffix = [0u8; 8];
    rand::thread_rng().fill_bytes(&mut suffix);
    let name = format!("ticketctl_test_{}", hex::encode(suffix));
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
    let url = format!("{base}/{name}");
    Some(TestDb::Postgres(PgGuard {
        admin_url: admin,
        name,
        url,
        owner: true,
    }))
}

impl Drop for PgGuard {
    fn drop(&mut self) {
        if !self.owner {
            return;
        }
        super::gateway::remove_ledger(&self.url);
        // Drop cannot await; do it on a thread with its own small runtime, so it
        // works inside #[tokio::test] too.
        let (admin, name) = (self.admin_url.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                use sqlx::Connection;
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut conn)
                    .await;
                }
            });
        })
        .join();
    }
}

/// SQLite always; Postgres when reachable.
pub async fn backends() -> Vec<TestDb> {
    let mut dbs = vec![sqlite()];
    dbs.extend(postgres().await);
    dbs
}

/// Opens the store and brings its schema up to date.
pub async fn open_store(db: &TestDb) -> Arc<dyn Store> {
    let store = ticketctl::store::open(db.url())
        .await
        .expect("open test store");
    store.migrate().await.expect("migrate test store");
    store
}

/// Runs SQL straight against the test database, behind the app's back: for
/// planting the damage a checker must find. Works on both backends.
pub async fn exec(db: &TestDb, sql: &str) {
    match db {
        TestDb::Sqlite { url, .. } => {
            let (path, sql) = (sqlite_path(url), sql.to_owned());
            tokio::task::spawn_blocking(move || {
                let conn = rusqlite::Connection::open(path).expect("open the SQLite file");
                conn.busy_timeout(std::time::Duration::from_secs(10))
                    .expect("busy timeout");
                conn.execute_batch(&sql)
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
            })
            .await
            .expect("SQLite statement ran");
        }
        TestDb::Postgres(g) => {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&g.url).await.expect("connect");
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
                .execute(&mut conn)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
    }
}

/// One integer from the test database (a count, an id), read behind the app's back.
pub async fn scalar(db: &TestDb, sql: &str) -> i64 {
    match db {
        TestDb::Sqlite { url, .. } => {
            let (path, sql) = (sqlite_path(url), sql.to_owned());
            tokio::task::spawn_blocking(move || {
                let conn = rusqlite::Connection::open(path).expect("open the SQLite file");
                conn.busy_timeout(std::time::Duration::from_secs(10))
                    .expect("busy timeout");
                conn.query_row(&sql, [], |r| r.get::<_, i64>(0))
                    .unwrap_or_else(|e| panic!("{sql}: {e}"))
            })
            .await
            .expect("SQLite query ran")
        }
        TestDb::Postgres(g) => {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&g.url).await.expect("connect");
            sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.to_owned()))
                .fetch_one(&mut conn)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
        }
    }
}

fn sqlite_path(url: &str) -> String {
    url.strip_prefix("sqlite://").unwrap_or(url).to_owned()
}

/// The first column of every row, as text (cast it in the SQL on Postgres).
pub async fn strings(db: &TestDb, sql: &str) -> Vec<String> {
    rows(db, sql)
        .await
        .into_iter()
        .map(|mut r| r.swap_remove(0))
        .collect()
}

/// Every row of `sql`, every column as text (NULL as ""). On Postgres each
/// column must be text already (cast in the SQL, or select `t::text`).
pub async fn rows(db: &TestDb, sql: &str) -> Vec<Vec<String>> {
    match db {
        TestDb::Sqlite { url, .. } => {
            let (path, sql) = (sqlite_path(url), sql.to_owned());
            tokio::task::spawn_blocking(move || {
                use rusqlite::types::ValueRef;
                let conn = rusqlite::Connection::open(path).expect("open the SQLite file");
                conn.busy_timeout(std::time::Duration::from_secs(10))
                    .expect("busy timeout");
                let mut stmt = conn.prepare(&sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
                let n = stmt.column_count();
                let rows = stmt
                    .query_map([], |r| {
                        (0..n)
                            .map(|i| {
                                Ok(match r.get_ref(i)? {
                                    ValueRef::Null => String::new(),
                                    ValueRef::Integer(v) => v.to_string(),
                                    ValueRef::Real(v) => v.to_string(),
                                    ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                                    ValueRef::Blob(b) => String::from_utf8_lossy(b).into_owned(),
                                })
                            })
                            .collect::<rusqlite::Result<Vec<String>>>()
                    })
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
                rows.collect::<rusqlite::Result<Vec<_>>>()
                    .unwrap_or_else(|e| panic!("{sql}: {e}"))
            })
            .await
            .expect("SQLite query ran")
        }
        TestDb::Postgres(g) => {
            use sqlx::{Connection, Row};
            let mut conn = sqlx::PgConnection::connect(&g.url).await.expect("connect");
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
                .fetch_all(&mut conn)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
            rows.iter()
                .map(|r| {
                    (0..r.len())
                        .map(|i| {
                            r.try_get::<Option<String>, _>(i)
                                .unwrap()
                                .unwrap_or_default()
                        })
                        .collect()
                })
                .collect()
        }
    }
}

/// Every table of the database, every column of every row, as text: what a
/// search of the whole database for a value reads.
pub async fn dump_all(db: &TestDb) -> String {
    let tables = match db {
        TestDb::Sqlite { .. } => {
            strings(
                db,
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
            )
            .await
        }
        TestDb::Postgres(_) => strings(
            db,
            "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
        )
        .await,
    };
    assert!(!tables.is_empty(), "a database with tables");
    let mut out = String::new();
    for table in tables {
        let sql = match db {
            TestDb::Sqlite { .. } => format!("SELECT * FROM \"{table}\""),
            TestDb::Postgres(_) => format!("SELECT t::text FROM \"{table}\" AS t"),
        };
        out.push_str(&format!("== {table}\n"));
        for row in rows(db, &sql).await {
            out.push_str(&row.join("|"));
            out.push('\n');
        }
    }
    out
}
