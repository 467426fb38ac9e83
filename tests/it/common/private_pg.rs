//! A Postgres cluster of the test's own, for drills that stop, restart or fill
//! the database server (the machine's shared Postgres must not be touched).
//!
//! Made with `initdb` in a temp dir owned by the `postgres` OS user and run
//! with `pg_ctl` on a free port, its socket in the same dir. That needs root
//! (to act as `postgres`) and the Postgres 15 binaries: without them the test
//! skips visibly as any Postgres test does, and fails with `CI=true`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::services::{self, Service};

const BIN: &str = "/usr/lib/postgresql/15/bin";

/// How a stop treats the clients: `Fast` ends their sessions and shuts down
/// cleanly; `Immediate` is a crash (no checkpoint, recovery at the next start).
#[derive(Debug, Clone, Copy)]
pub enum StopMode {
    Fast,
    Immediate,
}

pub struct PrivatePg {
    dir: tempfile::TempDir,
    pub port: u16,
    settings: Vec<String>,
    running: bool,
}

fn bin(name: &str) -> PathBuf {
    std::env::var_os("TICKETCTL_TEST_PG_BIN")
        .map_or_else(|| PathBuf::from(BIN), PathBuf::from)
        .join(name)
}

/// Runs `program args…` as the `postgres` OS user.
fn as_postgres(program: &Path, args: &[&str]) -> std::io::Result<Output> {
    Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .arg(program)
        .args(args)
        .output()
}

fn ok(what: &str, out: std::io::Result<Output>) -> Result<(), String> {
    match out {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => Err(format!(
            "{what}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )),
        Err(e) => Err(format!("{what}: {e}")),
    }
}

impl PrivatePg {
    /// A new cluster, started, with `settings` (`name=value`, e.g.
    /// `max_connections=20`) on its command line; None (a visible skip) when
    /// one cannot be made here.
    pub fn start(settings: &[&str]) -> Option<PrivatePg> {
        match Self::try_start(settings) {
            Ok(pg) => {
                services::ran(Service::Postgres);
                Some(pg)
            }
            Err(e) => {
                services::skip(
                    Service::Postgres,
                    &format!("cannot run a private cluster: {e}"),
                );
                None
            }
        }
    }

    fn try_start(settings: &[&str]) -> Result<PrivatePg, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        ok(
            "chown",
            Command::new("chown")
                .args(["postgres:postgres"])
                .arg(dir.path())
                .output(),
        )?;
        let data = dir.path().join("data");
        ok(
            "initdb",
            as_postgres(
                &bin("initdb"),
                &[
                    "-D",
                    &data.to_string_lossy(),
                    "-A",
                    "trust",
                    "--no-sync",
                    "-E",
                    "UTF8",
                ],
            ),
        )?;
        let mut pg = PrivatePg {
            dir,
            port: super::nats::free_port(),
            settings: settings.iter().map(|s| s.to_string()).collect(),
            running: false,
        };
        pg.try_start_again()?;
        Ok(pg)
    }

    fn data(&self) -> String {
        self.dir.path().join("data").to_string_lossy().into_owned()
    }

    fn try_start_again(&mut self) -> Result<(), String> {
        // fsync off: the machine does not crash in these drills, Postgres does.
        let mut options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        for s in &self.settings {
            options.push_str(&format!(" -c {s}"));
        }
        let log = self.dir.path().join("postgres.log");
        ok(
            "pg_ctl start",
            as_postgres(
                &bin("pg_ctl"),
                &[
                    "-D",
                    &self.data(),
                    "-o",
                    &options,
                    "-l",
                    &log.to_string_lossy(),
                    "-w",
                    "start",
                ],
            ),
        )?;
        self.running = true;
        Ok(())
    }

    /// Starts the stopped cluster again on the same port.
    pub fn start_again(&mut self) {
        self.try_start_again()
            .unwrap_or_else(|e| panic!("{e}\n{}", self.log()));
    }

    /// Stops the cluster; every client connection is cut.
    pub fn stop(&mut self, mode: StopMode) {
        let mode = match mode {
            StopMode::Fast => "fast",
            StopMode::Immediate => "immediate",
        };
        ok(
            "pg_ctl stop",
            as_postgres(
                &bin("pg_ctl"),
                &["-D", &self.data(), "-m", mode, "-w", "stop"],
            ),
        )
        .unwrap_or_else(|e| panic!("{e}\n{}", self.log()));
        self.running = false;
    }

    /// The server's log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("postgres.log")).unwrap_or_default()
    }

    /// A URL for `user` on database `db` over TCP.
    pub fn url(&self, user: &str, db: &str) -> String {
        format!("postgres://{user}@127.0.0.1:{}/{db}", self.port)
    }

    /// Runs SQL as the superuser on `db` (DDL, roles, terminations).
    pub async fn admin(&self, db: &str, sql: &str) {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&self.url("postgres", db))
            .await
            .unwrap_or_else(|e| panic!("connect as postgres: {e}"));
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        if self.running {
            let _ = as_postgres(
                &bin("pg_ctl"),
                &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
            );
        }
    }
}
