//! The embedded backend against the conformance suite, plus durability across a clean close
//! and across `kill -9`.
#![allow(clippy::unwrap_used)]

mod suite;

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    sync::Arc,
};

use abaco::store::{Expect, Store, Table, Versioned};
use abaco_store::RedbStore;
use bytes::Bytes;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redb_conformance() {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(&dir.path().join("nested/dirs/store.redb")).unwrap();
    suite::run(Arc::new(store)).await;
}

#[tokio::test]
async fn redb_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    {
        let store = RedbStore::open(&path).unwrap();
        store
            .put(
                Table::Actors,
                "a1",
                Bytes::from_static(b"v1"),
                Expect::Absent,
                None,
            )
            .await
            .unwrap();
        store
            .put(
                Table::Actors,
                "a1",
                Bytes::from_static(b"v2"),
                Expect::Version(1),
                None,
            )
            .await
            .unwrap();
        store
            .put(
                Table::Executions,
                "a1/e1",
                Bytes::from_static(b"run"),
                Expect::Any,
                None,
            )
            .await
            .unwrap();
    }
    let store = RedbStore::open(&path).unwrap();
    assert_eq!(
        store.get(Table::Actors, "a1").await.unwrap(),
        Some(Versioned {
            version: 2,
            value: Bytes::from_static(b"v2")
        })
    );
    assert_eq!(store.scan(Table::Executions, "a1/").await.unwrap().len(), 1);
    // The version keeps counting from where it was.
    assert_eq!(
        store
            .put(
                Table::Actors,
                "a1",
                Bytes::from_static(b"v3"),
                Expect::Version(2),
                None
            )
            .await
            .unwrap(),
        3
    );
}

#[tokio::test]
async fn open_from_settings_uses_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let settings = abaco::settings::Settings {
        data_dir: dir.path().join("data"),
        ..Default::default()
    };
    let store = abaco_store::open(&settings).await.unwrap();
    store
        .put(
            Table::State,
            "s",
            Bytes::from_static(b"x"),
            Expect::Any,
            None,
        )
        .await
        .unwrap();
    assert!(dir.path().join("data/store.redb").is_file());
}

const KILL_CHILD_ENV: &str = "ABACO_STORE_KILL_CHILD_PATH";
const KILL_CHILD_WRITES: usize = 10_000;

/// Writes keys forever and reports each one that was acknowledged, for
/// [`redb_acknowledged_writes_survive_kill`]. Does nothing when run on its own.
#[tokio::test]
#[ignore = "helper process of redb_acknowledged_writes_survive_kill"]
async fn redb_kill_child() {
    let Ok(path) = std::env::var(KILL_CHILD_ENV) else {
        return;
    };
    let store = RedbStore::open(std::path::Path::new(&path)).unwrap();
    for n in 0..KILL_CHILD_WRITES {
        let key = format!("k/{n:05}");
        store
            .put(
                Table::Logs,
                &key,
                Bytes::from(key.clone()),
                Expect::Absent,
                None,
            )
            .await
            .unwrap();
        #[allow(clippy::print_stdout)]
        {
            println!("ack {key}");
        }
    }
}

#[test]
fn redb_acknowledged_writes_survive_kill() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "redb_kill_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(KILL_CHILD_ENV, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut acked = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        if let Some(key) = line.unwrap().strip_prefix("ack ") {
            acked.push(key.to_owned());
            if acked.len() == 200 {
                break;
            }
        }
    }
    // SIGKILL, while the child is still writing.
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(acked.len(), 200, "the child stopped early");

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = RedbStore::open(&path).unwrap();
        for key in &acked {
            let found = store.get(Table::Logs, key).await.unwrap();
            assert_eq!(
                found.map(|v| v.value),
                Some(Bytes::from(key.clone())),
                "{key} was lost"
            );
        }
    });
}
