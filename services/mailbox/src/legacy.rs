//! Moving the messages of a mailbox file of its own (where `abaco up` kept them before they
//! moved into the store's file) into the file the mailboxes live in now.

use std::path::Path;

use abaco::mailbox::MailboxError;
use abaco_store::GroupCommit;
use redb::{Database, ReadableDatabase, ReadableTable};

use crate::file::{DELIVERED, MESSAGES};

/// One message row: (actor id, sequence), its body, whether it was handed out before.
type Row = ((String, u64), Vec<u8>, bool);

fn failed(what: &str, error: impl std::fmt::Display) -> MailboxError {
    MailboxError::Backend(format!(
        "moving the messages of the old mailbox file: {what}: {error}"
    ))
}

/// Copies every message of the file at `legacy` in through `writer` (keys kept, so a copy
/// repeated after a crash lands on the same rows), then removes the file.
pub async fn move_into(writer: &GroupCommit, legacy: &Path) -> Result<(), MailboxError> {
    let path = legacy.to_owned();
    let rows = tokio::task::spawn_blocking(move || read_all(&path))
        .await
        .map_err(|e| failed("read", e))??;
    let count = rows.len();
    writer
        .write(move |txn| -> Result<(), redb::Error> {
            let mut messages = txn.open_table(MESSAGES)?;
            let mut delivered = txn.open_table(DELIVERED)?;
            for ((actor, seq), body, seen) in &rows {
                messages.insert((actor.as_str(), *seq), body.as_slice())?;
                if *seen {
                    delivered.insert((actor.as_str(), *seq), ())?;
                }
            }
            Ok(())
        })
        .await
        .map_err(|e| failed("write", e))?
        .map_err(|e| failed("write", e))?;
    // Only once the copy is durable: until then the old file is the one that holds them.
    tokio::fs::remove_file(legacy)
        .await
        .map_err(|e| failed("remove", e))?;
    tracing::info!(
        messages = count,
        file = %legacy.display(),
        "moved the waiting messages of the old mailbox file into the store's file"
    );
    Ok(())
}

fn read_all(path: &Path) -> Result<Vec<Row>, MailboxError> {
    let db = Database::open(path).map_err(|e| failed("open", e))?;
    let txn = db.begin_read().map_err(|e| failed("read", e))?;
    let messages = match txn.open_table(MESSAGES) {
        Ok(table) => table,
        // A file made but never written to has no tables: nothing to move.
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
        Err(e) => return Err(failed("read", e)),
    };
    let delivered = txn.open_table(DELIVERED).ok();
    let mut rows = Vec::new();
    for row in messages.iter().map_err(|e| failed("read", e))? {
        let (key, body) = row.map_err(|e| failed("read", e))?;
        let (actor, seq) = key.value();
        let seen = match &delivered {
            Some(table) => table
                .get((actor, seq))
                .map_err(|e| failed("read", e))?
                .is_some(),
            None => false,
        };
        rows.push(((actor.to_owned(), seq), body.value().to_vec(), seen));
    }
    Ok(rows)
}
