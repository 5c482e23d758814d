//! Group commit for a redb file: writes that arrive while a commit is under way wait for the
//! next one and share it, so N concurrent writers cost one durable commit instead of N.
//!
//! One thread owns the write side of the database. Each write is a closure run inside the
//! shared transaction; its answer is handed back only after the commit that holds it is
//! durable, so "it returned Ok" still means "it survives a crash". Writes in one transaction
//! run one after the other and see each other's effects, so a compare-and-set inside a batch
//! behaves as it would alone.

use std::sync::{Arc, Weak, mpsc};

use redb::{Database, Durability, WriteTransaction};
use tokio::sync::oneshot;

/// Writes taken into one transaction at most, so one commit's latency stays bounded.
const MAX_BATCH: usize = 512;

/// Why a write did not reach the disk, apart from what the write itself reported.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CommitError {
    /// The database was closed (every handle dropped) before the write ran.
    #[error("the database is closed")]
    Closed,
    /// redb could not begin or commit the shared transaction.
    #[error("{0}")]
    Storage(String),
}

/// The work of one write and the way back to its caller; given the shared transaction, or
/// the reason there is none.
type Job = Box<dyn FnOnce(Result<&WriteTransaction, &CommitError>) -> Finish + Send>;
/// Delivers one write's answer once the fate of its commit is known.
type Finish = Box<dyn FnOnce(Result<(), &CommitError>) + Send>;

/// The writer of one redb database. Cloning shares the writer.
#[derive(Debug, Clone)]
pub struct GroupCommit {
    jobs: mpsc::Sender<Job>,
}

impl GroupCommit {
    /// Starts the writer thread of `db`. It holds the database only weakly, so dropping the
    /// last other handle closes the file; the thread ends when every `GroupCommit` is gone.
    pub fn start(db: &Arc<Database>, name: &str) -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let db = Arc::downgrade(db);
        std::thread::Builder::new()
            .name(format!("{name}-commit"))
            .spawn(move || write_loop(&db, &queue))?;
        Ok(Self { jobs })
    }

    /// Runs `work` in the next shared write transaction and answers once that transaction is
    /// durable. An `Err` from `work` is returned as is (make sure it wrote nothing then); a
    /// failed commit is `Err(CommitError)` in the outer result.
    pub async fn write<T, E, F>(&self, work: F) -> Result<Result<T, E>, CommitError>
    where
        T: Send + 'static,
        E: Send + 'static,
        F: FnOnce(&WriteTransaction) -> Result<T, E> + Send + 'static,
    {
        let (answer, answered) = oneshot::channel();
        let job: Job = Box::new(move |txn| {
            let txn = match txn {
                Ok(txn) => txn,
                Err(error) => {
                    let error = error.clone();
                    return Box::new(move |_| {
                        let _ = answer.send(Err(error));
                    });
                }
            };
            let outcome = work(txn);
            Box::new(move |committed: Result<(), &CommitError>| {
                let reply = match committed {
                    // A write that failed on its own is answered as such whatever the commit did.
                    Ok(()) => Ok(outcome),
                    Err(_) if outcome.is_err() => Ok(outcome),
                    Err(error) => Err(error.clone()),
                };
                // The caller may have gone away (its request was cancelled): nothing to tell.
                let _ = answer.send(reply);
            })
        });
        self.jobs.send(job).map_err(|_| CommitError::Closed)?;
        answered.await.map_err(|_| CommitError::Closed)?
    }
}

fn write_loop(db: &Weak<Database>, queue: &mpsc::Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let Some(open) = db.upgrade() else {
            // Dropping the jobs drops their answer channels: each caller sees `Closed`.
            continue;
        };
        let (finishes, committed) = commit_batch(&open, batch);
        // Let go of the database before anyone hears back: a caller that then drops its
        // last handle must find the file closed, free to be opened again.
        drop(open);
        for finish in finishes {
            finish(committed.as_ref().map(|_| ()));
        }
    }
}

/// Runs the batch in one transaction; each write's way back, and how the commit went.
fn commit_batch(db: &Database, batch: Vec<Job>) -> (Vec<Finish>, Result<(), CommitError>) {
    match begin(db) {
        Ok(txn) => {
            let finishes = batch.into_iter().map(|job| job(Ok(&txn))).collect();
            let committed = txn
                .commit()
                .map_err(|e| CommitError::Storage(redb::Error::from(e).to_string()));
            (finishes, committed)
        }
        // The writes never ran; their callers learn why.
        Err(error) => (
            batch.into_iter().map(|job| job(Err(&error))).collect(),
            Err(error),
        ),
    }
}

fn begin(db: &Database) -> Result<WriteTransaction, CommitError> {
    let storage = |e: redb::Error| CommitError::Storage(e.to_string());
    let mut txn = db.begin_write().map_err(|e| storage(e.into()))?;
    // Immediate is redb's default; stated here because the crash guarantee depends on it.
    txn.set_durability(Durability::Immediate)
        .map_err(|e| storage(e.into()))?;
    Ok(txn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use redb::{ReadableDatabase, ReadableTable, TableDefinition};

    const T: TableDefinition<u64, u64> = TableDefinition::new("t");

    fn open() -> (tempfile::TempDir, Arc<Database>) {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(Database::create(dir.path().join("db.redb")).unwrap());
        (dir, db)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writes_all_land_and_see_each_other() {
        let (_dir, db) = open();
        let writer = GroupCommit::start(&db, "test").unwrap();
        // Every write increments one counter: lost updates would show as a smaller total.
        let tasks: Vec<_> = (0..200)
            .map(|_| {
                let writer = writer.clone();
                tokio::spawn(async move {
                    writer
                        .write(|txn| -> Result<u64, redb::Error> {
                            let mut t = txn.open_table(T)?;
                            let next = t.get(0)?.map_or(0, |v| v.value()) + 1;
                            t.insert(0, next)?;
                            Ok(next)
                        })
                        .await
                })
            })
            .collect();
        let mut seen = Vec::new();
        for task in tasks {
            seen.push(task.await.unwrap().unwrap().unwrap());
        }
        seen.sort_unstable();
        assert_eq!(seen, (1..=200).collect::<Vec<_>>());
        let read = db.begin_read().unwrap();
        assert_eq!(
            read.open_table(T).unwrap().get(0).unwrap().unwrap().value(),
            200
        );
    }

    #[tokio::test]
    async fn a_failed_write_is_answered_with_its_own_error_and_others_commit() {
        let (_dir, db) = open();
        let writer = GroupCommit::start(&db, "test").unwrap();
        let failing = writer.write(|_txn| -> Result<(), &'static str> { Err("refused") });
        let fine = writer.write(|txn| -> Result<(), redb::Error> {
            txn.open_table(T)?.insert(1, 1)?;
            Ok(())
        });
        let (failing, fine) = tokio::join!(failing, fine);
        assert_eq!(failing.unwrap(), Err("refused"));
        fine.unwrap().unwrap();
        let read = db.begin_read().unwrap();
        assert_eq!(
            read.open_table(T).unwrap().get(1).unwrap().unwrap().value(),
            1
        );
    }

    #[tokio::test]
    async fn dropping_the_database_closes_the_file_for_reopening() {
        let (dir, db) = open();
        let writer = GroupCommit::start(&db, "test").unwrap();
        drop(db);
        let result = writer
            .write(|_txn| -> Result<(), redb::Error> { Ok(()) })
            .await;
        assert!(matches!(result, Err(CommitError::Closed)), "{result:?}");
        // The writer holds no strong handle, so the file lock is free again.
        Database::create(dir.path().join("db.redb")).unwrap();
    }
}
