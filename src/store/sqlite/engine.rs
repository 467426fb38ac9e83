//! The SQLite engine: ONE writer thread with group commit, and a pool of
//! read-only WAL connections.
//!
//! Why: SQLite allows one writer at a time. Several writer threads only take
//! turns on the lock (and stall each other on busy timeouts), while one
//! thread that commits whatever is queued in one transaction turns many
//! fsyncs into one. Each command runs under its own savepoint, so a command
//! that fails rolls back alone and does not poison the batch; callers are
//! answered only after the batch's COMMIT, so a success is always durable.
//! Reads never wait for the writer: WAL readers see the last commit.
//!
//! The writer tells an optional `WriterObserver` (the app's metrics) each
//! batch's size and how long its commands waited in the queue.

use parking_lot::{Mutex, RwLock};
use rusqlite::{Connection, OpenFlags};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{Semaphore, mpsc, oneshot};

use super::tally;
use crate::store::{StoreError, StoreResult, WriterObserver};

/// Where the writer reports its batches, if anywhere; set after opening.
type ObserverSlot = Arc<RwLock<Option<Arc<dyn WriterObserver>>>>;

/// Most commands committed together; bounds the latency one batch adds.
const MAX_BATCH: usize = 64;
const READERS: usize = 4;
const QUEUE_DEPTH: usize = 8192;

type Exclusive = Box<dyn FnOnce(&mut Connection) + Send>;

enum Msg {
    Batched(Box<dyn Command>),
    /// Runs alone, outside any batch transaction (migrations).
    Exclusive(Exclusive),
}

/// A unit of work for the writer, typed away so one channel carries all kinds.
trait Command: Send {
    /// Runs inside the batch transaction; false means it failed and its savepoint is rolled back.
    fn apply(&mut self, conn: &Connection) -> bool;
    /// Answers the caller once the batch's commit is known.
    fn deliver(self: Box<Self>, commit: Result<(), BatchFailure>);
    /// When the caller queued it.
    fn queued_at(&self) -> Instant;
    /// Its call site, for the diagnostic tally.
    fn label(&self) -> &'static str;
}

struct Pending<T, F> {
    work: Option<F>,
    result: Option<StoreResult<T>>,
    reply: oneshot::Sender<StoreResult<T>>,
    queued_at: Instant,
    label: &'static str,
}

impl<T, F> Command for Pending<T, F>
where
    T: Send,
    F: FnOnce(&Connection) -> StoreResult<T> + Send,
{
    fn apply(&mut self, conn: &Connection) -> bool {
        let work = self.work.take().expect("a command runs once");
        let result = catch_unwind(AssertUnwindSafe(|| work(conn)))
            .unwrap_or_else(|_| Err(StoreError::Backend("a database command panicked".into())));
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn deliver(self: Box<Self>, commit: Result<(), BatchFailure>) {
        let result = match commit {
            Ok(()) => self.result.expect("applied before delivery"),
            Err(e) if e.transient => Err(StoreError::Unavailable(format!(
                "commit failed: {}",
                e.message
            ))),
            Err(e) => Err(StoreError::Backend(format!("commit failed: {}", e.message))),
        };
        // The caller may have given up (timeout, disconnect); that is fine.
        let _ = self.reply.send(result);
    }

    fn queued_at(&self) -> Instant {
        self.queued_at
    }

    fn label(&self) -> &'static str {
        self.label
    }
}

pub(crate) struct Engine {
    writer: mpsc::Sender<Msg>,
    readers: Arc<ReaderPool>,
    observer: ObserverSlot,
}

struct ReaderPool {
    idle: Mutex<Vec<Connection>>,
    permits: Semaphore,
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.execute_batch("PRAGMA foreign_keys = ON;")?;
    Ok(())
}

fn open_err(path: &Path, e: impl std::fmt::Display) -> StoreError {
    StoreError::Open(format!("{}: {e}", path.display()))
}

impl Engine {
    pub(crate) fn open(path: &Path) -> StoreResult<Engine> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| open_err(path, e))?;
        }
        let writer = Connection::open(path).map_err(|e| open_err(path, e))?;
        // FULL: a reply of success means the booking survives a power cut.
        // secure_delete: content deleted or overwritten is zeroed in the file,
        // so an erased person's data is not left in free space (pages are
        // dirty anyway when a cell is freed; the cost is zeroing freed pages).
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA secure_delete = ON;",
            )
            .and_then(|_| configure(&writer))
            .map_err(|e| open_err(path, e))?;

        let mut idle = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
            let conn = Connection::open_with_flags(path, flags).map_err(|e| open_err(path, e))?;
            configure(&conn).map_err(|e| open_err(path, e))?;
            idle.push(conn);
        }

        let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
        let observer = ObserverSlot::default();
        let writer_observer = observer.clone();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer_loop(writer, rx, writer_observer))
            .map_err(|e| open_err(path, e))?;

        Ok(Engine {
            writer: tx,
            readers: Arc::new(ReaderPool {
                idle: Mutex::new(idle),
                permits: Semaphore::new(READERS),
            }),
            observer,
        })
    }

    /// Reports every batch from now on to `observer` (replacing any before).
    pub(crate) fn observe(&self, observer: Arc<dyn WriterObserver>) {
        *self.observer.write() = Some(observer);
    }

    /// Runs `work` on the writer inside a group-committed transaction.
    pub(crate) async fn write<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let cmd = Pending {
            work: Some(work),
            result: None,
            reply,
            queued_at: Instant::now(),
            label: tally::label::<F>(),
        };
        self.writer
            .send(Msg::Batched(Box::new(cmd)))
            .await
            .map_err(|_| StoreError::Backend("the database writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Backend("the database writer dropped a command".into()))?
    }

    /// Runs `work` alone on the writer connection, outside any batch.
    pub(crate) async fn exclusive<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Exclusive = Box::new(move |conn| {
            let result = catch_unwind(AssertUnwindSafe(|| work(conn)))
                .unwrap_or_else(|_| Err(StoreError::Backend("a database command panicked".into())));
            let _ = reply.send(result);
        });
        self.writer
            .send(Msg::Exclusive(job))
            .await
            .map_err(|_| StoreError::Backend("the database writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Backend("the database writer dropped a command".into()))?
    }

    /// Runs `work` on a read-only connection on the blocking pool.
    pub(crate) async fn read<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let _permit = self
            .readers
            .permits
            .acquire()
            .await
            .map_err(|_| StoreError::Backend("reader pool closed".into()))?;
        tally::read(tally::label::<F>());
        let pool = self.readers.clone();
        tokio::task::spawn_blocking(move || {
            let conn = pool
                .idle
                .lock()
                .pop()
                .expect("a permit guarantees an idle reader");
            let result = catch_unwind(AssertUnwindSafe(|| work(&conn)));
            pool.idle.lock().push(conn);
            result.unwrap_or_else(|_| Err(StoreError::Backend("a database read panicked".into())))
        })
        .await
        .map_err(|e| StoreError::Backend(format!("reader task failed: {e}")))?
    }
}

fn writer_loop(mut conn: Connection, mut rx: mpsc::Receiver<Msg>, observer: ObserverSlot) {
    let mut batch: Vec<Box<dyn Command>> = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.blocking_recv() {
        let mut next = Some(first);
        while let Some(msg) = next.take() {
            match msg {
                Msg::Exclusive(job) => {
                    // Keep order: commit what was queued before it, then run it alone.
                    commit_batch(&conn, &mut batch, &observer);
                    job(&mut conn);
                }
                Msg::Batched(cmd) => batch.push(cmd),
            }
            if batch.len() < MAX_BATCH {
                next = rx.try_recv().ok();
            }
        }
        commit_batch(&conn, &mut batch, &observer);
    }
}

fn commit_batch(conn: &Connection, batch: &mut Vec<Box<dyn Command>>, observer: &ObserverSlot) {
    if batch.is_empty() {
        return;
    }
    let observer = observer.read().clone();
    if let Some(observer) = &observer {
        let started = Instant::now();
        for cmd in batch.iter() {
            observer.command_waited(started.saturating_duration_since(cmd.queued_at()));
        }
        observer.batch_done(batch.len());
    }
    let outcome = run_batch(conn, batch);
    if outcome.is_err() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    for cmd in batch.drain(..) {
        cmd.deliver(outcome.clone());
    }
}

/// Why a batch was not committed; every command in it gets this answer.
#[derive(Debug, Clone)]
struct BatchFailure {
    message: String,
    /// The disk is full or the lock is busy: the caller may try again.
    transient: bool,
}

impl From<rusqlite::Error> for BatchFailure {
    fn from(e: rusqlite::Error) -> Self {
        BatchFailure {
            transient: super::is_transient(&e),
            message: e.to_string(),
        }
    }
}

fn run_batch(conn: &Connection, batch: &mut [Box<dyn Command>]) -> Result<(), BatchFailure> {
    let sql = |s: &str| conn.execute_batch(s).map_err(BatchFailure::from);
    sql("BEGIN IMMEDIATE")?;
    let tallied = tally::enabled();
    for cmd in batch.iter_mut() {
        sql("SAVEPOINT cmd")?;
        let started = tallied.then(Instant::now);
        let applied = cmd.apply(conn);
        if let Some(started) = started {
            tally::write_applied(cmd.label(), started.elapsed());
        }
        if !applied {
            if conn.is_autocommit() {
                // SQLite rolled the whole transaction back by itself, which it
                // does only when it cannot go on (disk full, I/O error, out of
                // memory): the commands before this one are undone too.
                return Err(BatchFailure {
                    message: "the database rolled the batch back (disk full?)".into(),
                    transient: true,
                });
            }
            sql("ROLLBACK TO cmd")?;
        }
        sql("RELEASE cmd")?;
    }
    let started = Instant::now();
    sql("COMMIT")?;
    tally::batch_committed(batch.len(), started.elapsed());
    Ok(())
}
