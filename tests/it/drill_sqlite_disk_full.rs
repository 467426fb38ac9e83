//! Drill: the SQLite database's disk fills up mid-sale (runbook: "SQLite disk
//! full"). The database lives on a small tmpfs of its own; a filler file takes
//! the rest of it during the sale and is deleted later.
//!
//! Clients see 503 problem+json with Retry-After for every write while the
//! disk is full (reads still answer), never a 500; no order is half-written;
//! once space is freed the server goes on by itself and `PRAGMA
//! integrity_check` is ok.
//!
//! Mounting needs root: without it the test skips visibly, and fails with `CI=true`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::common::db::TestDb;
use crate::common::drill::{Cards, Crowd, SERVE_FLAGS, assert_nothing_lost, stage, wait_settled};
use crate::common::process::ServedBinary;
use crate::common::services::in_ci;

/// A tmpfs of `size` mounted on a fresh temp dir; unmounted on drop.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> Result<SmallDisk, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_owned());
        }
        Ok(SmallDisk { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

/// Writes zeros to `path` until the disk is full; returns how much it took.
fn fill(path: &Path) -> u64 {
    let mut file = std::fs::File::create(path).expect("create the filler");
    let chunk = vec![0u8; 64 * 1024];
    let mut written = 0u64;
    loop {
        match file.write(&chunk) {
            Ok(0) => break,
            Ok(n) => written += n as u64,
            Err(e) if e.raw_os_error() == Some(28) => break, // ENOSPC
            Err(e) => panic!("filling the disk: {e}"),
        }
    }
    let _ = file.sync_all();
    written
}

fn integrity(db_file: &PathBuf) -> String {
    let conn = rusqlite::Connection::open(db_file).expect("open");
    conn.query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0))
        .expect("integrity_check")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_disk_full_mid_sale() {
    let disk = match SmallDisk::mount("64m") {
        Ok(d) => d,
        Err(e) => {
            assert!(!in_ci(), "CI is set but a tmpfs cannot be mounted: {e}");
            let _ = writeln!(
                std::io::stderr(),
                "SKIP tmpfs: sqlite_disk_full_mid_sale: cannot mount a tmpfs: {e} (set CI=1 to make this fatal)"
            );
            return;
        }
    };
    let db_file = disk.path().join("ticketctl.db");
    let db = TestDb::Sqlite {
        _dir: tempfile::tempdir().unwrap(),
        url: format!("sqlite://{}", db_file.display()),
    };
    let stage = stage(&db, 200).await;
    let server = ServedBinary::start(db.url(), &SERVE_FLAGS).await;
    let crowd = Crowd::start(&server.base, stage.trip, &stage.tokens, Cards::Mostly);

    tokio::time::sleep(Duration::from_millis(1500)).await;
    let full_at = crowd.elapsed();
    let filler = disk.path().join("filler");
    let taken = fill(&filler);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let reads_while_full = reqwest::get(format!("{}/v1/trips/{}", server.base, stage.trip))
        .await
        .unwrap()
        .status();
    std::fs::remove_file(&filler).expect("free the space");
    let freed_at = crowd.elapsed();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let seen = crowd.finish().await;

    assert!(taken > 0, "the filler took the free space");
    assert_eq!(reads_while_full, 200, "reads go on while the disk is full");
    // Writes during the full spell were refused, and said when to come back.
    let during = seen.in_flight_between(full_at + Duration::from_millis(300), freed_at);
    let refused: Vec<_> = during.iter().filter(|s| s.status == 503).collect();
    assert!(
        !refused.is_empty(),
        "writes were refused while the disk was full: {:?}",
        seen.statuses()
    );
    for s in &refused {
        assert!(s.is_unavailable_with_retry_after(), "{s:?}");
        assert_eq!(s.problem.as_deref(), Some("/problems/unavailable"), "{s:?}");
    }
    seen.assert_no_500s();
    seen.assert_answered_within(Duration::from_secs(10));
    assert!(
        seen.confirmed_after(freed_at) > 0,
        "sales went on once space was freed: {:?}",
        seen.statuses()
    );

    wait_settled(&db, Duration::from_secs(15)).await;
    server.stop();
    assert_eq!(integrity(&db_file), "ok");
    assert_nothing_lost(&db, stage.trip, &seen).await;
    assert_eq!(integrity(&db_file), "ok");
}
