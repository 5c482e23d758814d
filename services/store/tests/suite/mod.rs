//! The conformance suite every [`Store`] backend must pass, so that the embedded and the Redis
//! backend behave as one. Each check uses its own keys (or its own table), so the checks can
//! share one store.

use std::{sync::Arc, time::Duration};

use abaco::store::{Expect, Page, Store, StoreError, Table, Versioned};
use bytes::Bytes;

/// Comfortably longer than the 1 s ttl the checks use, allowing for coarse expiry clocks.
const PAST_TTL: Duration = Duration::from_millis(1_400);
const TTL: Duration = Duration::from_secs(1);

/// Runs every check against `store`.
pub async fn run(store: Arc<dyn Store>) {
    every_table_is_usable(&store).await;
    versions_grow_by_one(&store).await;
    compare_and_set(&store).await;
    delete_and_rewrite(&store).await;
    guarded_inserts(&store).await;
    binary_values(&store).await;
    ttl_expiry(&store).await;
    scan_order_and_isolation(&store).await;
    delete_prefix(&store).await;
    pages(&store).await;
    concurrent_increments(&store).await;
    leases_go_back_only_from_their_holder(&store).await;
}

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn is_conflict<T: std::fmt::Debug>(result: Result<T, StoreError>) -> bool {
    matches!(result, Err(StoreError::Conflict))
}

async fn value(store: &Arc<dyn Store>, table: Table, key: &str) -> Option<Versioned> {
    store.get(table, key).await.unwrap()
}

async fn every_table_is_usable(store: &Arc<dyn Store>) {
    for table in Table::ALL {
        let key = "all/k";
        assert_eq!(
            store
                .put(table, key, b(table.name()), Expect::Absent, None)
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            value(store, table, key).await.unwrap().value,
            b(table.name())
        );
        assert!(store.delete(table, key).await.unwrap(), "{}", table.name());
    }
}

async fn versions_grow_by_one(store: &Arc<dyn Store>) {
    let t = Table::Actors;
    assert_eq!(value(store, t, "ver/a").await, None);
    assert_eq!(
        store
            .put(t, "ver/a", b("one"), Expect::Absent, None)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .put(t, "ver/a", b("two"), Expect::Any, None)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .put(t, "ver/a", b("three"), Expect::Version(2), None)
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        value(store, t, "ver/a").await,
        Some(Versioned {
            version: 3,
            value: b("three")
        })
    );
    // Any on a missing key starts at 1 as well.
    assert_eq!(
        store
            .put(t, "ver/b", b("x"), Expect::Any, None)
            .await
            .unwrap(),
        1
    );
}

async fn compare_and_set(store: &Arc<dyn Store>) {
    let t = Table::Executions;
    assert!(is_conflict(
        store
            .put(t, "cas/k", b("x"), Expect::Version(1), None)
            .await
    ));
    assert_eq!(
        value(store, t, "cas/k").await,
        None,
        "a failed put must not create the key"
    );

    store
        .put(t, "cas/k", b("v1"), Expect::Absent, None)
        .await
        .unwrap();
    assert!(is_conflict(
        store.put(t, "cas/k", b("x"), Expect::Absent, None).await
    ));
    assert!(is_conflict(
        store
            .put(t, "cas/k", b("x"), Expect::Version(0), None)
            .await
    ));
    assert!(is_conflict(
        store
            .put(t, "cas/k", b("x"), Expect::Version(2), None)
            .await
    ));
    assert_eq!(
        value(store, t, "cas/k").await,
        Some(Versioned {
            version: 1,
            value: b("v1")
        }),
        "conflicts must leave the value alone"
    );
    assert_eq!(
        store
            .put(t, "cas/k", b("v2"), Expect::Version(1), None)
            .await
            .unwrap(),
        2
    );
    assert!(is_conflict(
        store
            .put(t, "cas/k", b("x"), Expect::Version(1), None)
            .await
    ));
    assert_eq!(value(store, t, "cas/k").await.unwrap().value, b("v2"));
}

async fn delete_and_rewrite(store: &Arc<dyn Store>) {
    let t = Table::Workers;
    assert!(!store.delete(t, "del/k").await.unwrap());
    store
        .put(t, "del/k", b("a"), Expect::Any, None)
        .await
        .unwrap();
    store
        .put(t, "del/k", b("b"), Expect::Any, None)
        .await
        .unwrap();
    assert!(store.delete(t, "del/k").await.unwrap());
    assert!(!store.delete(t, "del/k").await.unwrap());
    assert_eq!(value(store, t, "del/k").await, None);
    assert!(store.scan(t, "del/").await.unwrap().is_empty());
    assert!(is_conflict(
        store
            .put(t, "del/k", b("c"), Expect::Version(2), None)
            .await
    ));
    assert_eq!(
        store
            .put(t, "del/k", b("c"), Expect::Absent, None)
            .await
            .unwrap(),
        1,
        "a write after delete starts again at 1"
    );
}

async fn guarded_inserts(store: &Arc<dyn Store>) {
    let (t, g) = (Table::Executions, Table::Actors);
    let also = [
        (
            Table::ExecutionOrder,
            "guarded/0000000000001/e1".to_string(),
        ),
        (Table::OpenExecutions, "guarded/e1".to_string()),
    ];
    // No guard: nothing is written.
    assert_eq!(
        store
            .insert_guarded(t, "guarded/e1", b("x"), (g, "guarded-a"), &also)
            .await
            .unwrap(),
        None
    );
    assert_eq!(value(store, t, "guarded/e1").await, None);
    assert!(store.scan(t, "guarded/").await.unwrap().is_empty());
    for (index, entry) in &also {
        assert_eq!(value(store, *index, entry).await, None, "{entry}");
    }
    // With a guard: written at version 1, and the guard's value comes back.
    let guard_version = store
        .put(g, "guarded-a", b("actor"), Expect::Absent, None)
        .await
        .unwrap();
    let guard = store
        .insert_guarded(t, "guarded/e1", b("x"), (g, "guarded-a"), &also)
        .await
        .unwrap();
    assert_eq!(
        guard,
        Some(Versioned {
            version: guard_version,
            value: b("actor")
        })
    );
    assert_eq!(
        value(store, t, "guarded/e1").await,
        Some(Versioned {
            version: 1,
            value: b("x")
        })
    );
    assert_eq!(store.scan(t, "guarded/").await.unwrap().len(), 1);
    // The index entries went in with it, empty.
    for (index, entry) in &also {
        assert_eq!(
            value(store, *index, entry).await,
            Some(Versioned {
                version: 1,
                value: Bytes::new()
            }),
            "{entry}"
        );
    }
    // Taken: a conflict, and the first value stays.
    assert!(is_conflict(
        store
            .insert_guarded(t, "guarded/e1", b("y"), (g, "guarded-a"), &[])
            .await
    ));
    assert_eq!(value(store, t, "guarded/e1").await.unwrap().value, b("x"));
    // The guard gone: refused again.
    store.delete(g, "guarded-a").await.unwrap();
    assert_eq!(
        store
            .insert_guarded(t, "guarded/e2", b("z"), (g, "guarded-a"), &[])
            .await
            .unwrap(),
        None
    );
    assert_eq!(value(store, t, "guarded/e2").await, None);
}

/// Pages: key order, `after` exclusive, `skip`, the next key only when more may follow,
/// expired entries passed over but counted as keys, and batched reads.
async fn pages(store: &Arc<dyn Store>) {
    let t = Table::ExecutionOrder;
    for n in 0..7 {
        store
            .put(
                t,
                &format!("page/{n:02}"),
                b(&n.to_string()),
                Expect::Absent,
                None,
            )
            .await
            .unwrap();
    }
    // Neighbours on both sides must not leak in.
    store
        .put(t, "pagd/x", b("x"), Expect::Absent, None)
        .await
        .unwrap();
    store
        .put(t, "pagf/x", b("x"), Expect::Absent, None)
        .await
        .unwrap();
    let keys = |page: &Page| {
        page.entries
            .iter()
            .map(|(k, _)| k.clone())
            .collect::<Vec<_>>()
    };

    let first = store.scan_page(t, "page/", None, 0, 3).await.unwrap();
    assert_eq!(keys(&first), ["page/00", "page/01", "page/02"]);
    assert_eq!(first.entries[1].1.value, b("1"));
    assert_eq!(first.next.as_deref(), Some("page/02"));
    let second = store
        .scan_page(t, "page/", first.next.as_deref(), 0, 3)
        .await
        .unwrap();
    assert_eq!(keys(&second), ["page/03", "page/04", "page/05"]);
    let last = store
        .scan_page(t, "page/", second.next.as_deref(), 0, 3)
        .await
        .unwrap();
    assert_eq!(keys(&last), ["page/06"]);
    assert_eq!(last.next, None, "nothing follows the last page");
    // Exactly a page left: no next either.
    let exact = store
        .scan_page(t, "page/", Some("page/03"), 0, 3)
        .await
        .unwrap();
    assert_eq!(keys(&exact), ["page/04", "page/05", "page/06"]);
    assert_eq!(exact.next, None);
    let skipped = store.scan_page(t, "page/", None, 5, 10).await.unwrap();
    assert_eq!(keys(&skipped), ["page/05", "page/06"]);
    assert!(
        store
            .scan_page(t, "page/", None, 9, 10)
            .await
            .unwrap()
            .entries
            .is_empty()
    );
    assert_eq!(store.count_prefix(t, "page/").await.unwrap(), 7);

    // An expired entry is not shown, yet the page still says where to go on.
    store
        .put(t, "page/03", b("3"), Expect::Any, Some(TTL))
        .await
        .unwrap();
    tokio::time::sleep(PAST_TTL).await;
    let around = store
        .scan_page(t, "page/", Some("page/02"), 0, 1)
        .await
        .unwrap();
    assert!(around.entries.is_empty());
    assert_eq!(around.next.as_deref(), Some("page/03"));
    let on = store
        .scan_page(t, "page/", around.next.as_deref(), 0, 1)
        .await
        .unwrap();
    assert_eq!(keys(&on), ["page/04"]);

    let many = store
        .get_many(
            t,
            &[
                "page/01".into(),
                "page/03".into(),
                "nope".into(),
                "page/06".into(),
            ],
        )
        .await
        .unwrap();
    let values: Vec<Option<Bytes>> = many.into_iter().map(|v| v.map(|v| v.value)).collect();
    assert_eq!(values, [Some(b("1")), None, None, Some(b("6"))]);
    assert!(store.get_many(t, &[]).await.unwrap().is_empty());
    store.delete_prefix(t, "pag").await.unwrap();
}

async fn binary_values(store: &Arc<dyn Store>) {
    let t = Table::Results;
    let raw = Bytes::from_static(&[0, 255, 1, 254, b'\n', 0x80, 0]);
    store
        .put(t, "bin/raw", raw.clone(), Expect::Any, None)
        .await
        .unwrap();
    store
        .put(t, "bin/empty", Bytes::new(), Expect::Any, None)
        .await
        .unwrap();
    store
        .put(t, "bin/ünï", b("ok"), Expect::Any, None)
        .await
        .unwrap();
    assert_eq!(value(store, t, "bin/raw").await.unwrap().value, raw);
    assert_eq!(
        value(store, t, "bin/empty").await,
        Some(Versioned {
            version: 1,
            value: Bytes::new()
        }),
        "an empty value is present, not absent"
    );
    let scanned = store.scan(t, "bin/").await.unwrap();
    let keys: Vec<&str> = scanned.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["bin/empty", "bin/raw", "bin/ünï"]);
    assert_eq!(scanned[1].1.value, raw);
    assert_eq!(scanned[0].1.value, Bytes::new());
}

async fn ttl_expiry(store: &Arc<dyn Store>) {
    let t = Table::State;
    store
        .put(t, "ttl/short", b("gone soon"), Expect::Absent, Some(TTL))
        .await
        .unwrap();
    store
        .put(t, "ttl/kept", b("k1"), Expect::Absent, Some(TTL))
        .await
        .unwrap();
    // A put without ttl clears the earlier one.
    assert_eq!(
        store
            .put(t, "ttl/kept", b("k2"), Expect::Version(1), None)
            .await
            .unwrap(),
        2
    );
    store
        .put(t, "ttl/later", b("l1"), Expect::Absent, None)
        .await
        .unwrap();
    // A put with ttl makes a lasting value expire.
    store
        .put(t, "ttl/later", b("l2"), Expect::Any, Some(TTL))
        .await
        .unwrap();
    store
        .put(t, "ttl/gone", b("g"), Expect::Absent, Some(TTL))
        .await
        .unwrap();

    assert_eq!(
        value(store, t, "ttl/short").await.unwrap().value,
        b("gone soon")
    );
    assert_eq!(store.scan(t, "ttl/").await.unwrap().len(), 4);

    tokio::time::sleep(PAST_TTL).await;

    assert_eq!(
        value(store, t, "ttl/short").await,
        None,
        "expired values are absent"
    );
    assert_eq!(value(store, t, "ttl/later").await, None);
    assert_eq!(
        value(store, t, "ttl/kept").await,
        Some(Versioned {
            version: 2,
            value: b("k2")
        })
    );
    let live = store.scan(t, "ttl/").await.unwrap();
    assert_eq!(
        live.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        ["ttl/kept"],
        "scan skips expired values"
    );
    assert!(
        !store.delete(t, "ttl/gone").await.unwrap(),
        "an expired value did not exist"
    );
    assert!(is_conflict(
        store
            .put(t, "ttl/short", b("x"), Expect::Version(1), None)
            .await
    ));
    assert_eq!(
        store
            .put(t, "ttl/short", b("back"), Expect::Absent, None)
            .await
            .unwrap(),
        1,
        "an expired key counts as absent and starts again at 1"
    );
    assert_eq!(
        value(store, t, "ttl/short").await,
        Some(Versioned {
            version: 1,
            value: b("back")
        })
    );
}

async fn scan_order_and_isolation(store: &Arc<dyn Store>) {
    // This check owns the whole Spawners table, so it can scan with an empty prefix.
    let t = Table::Spawners;
    let keys = ["a/2", "b/1", "a/10", "ab/1", "a", "a/1", "a/1/x", "A/1"];
    for (n, key) in keys.iter().enumerate() {
        store
            .put(t, key, b(&format!("{n}")), Expect::Absent, None)
            .await
            .unwrap();
    }
    // Same key in another table must not show up here.
    store
        .put(Table::Logs, "a/3", b("other table"), Expect::Any, None)
        .await
        .unwrap();

    let scan = |prefix: &'static str| {
        let store = Arc::clone(store);
        async move {
            store
                .scan(t, prefix)
                .await
                .unwrap()
                .into_iter()
                .map(|(k, _)| k)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(scan("a/").await, ["a/1", "a/1/x", "a/10", "a/2"]);
    assert_eq!(
        scan("a").await,
        ["a", "a/1", "a/1/x", "a/10", "a/2", "ab/1"]
    );
    assert_eq!(scan("ab").await, ["ab/1"]);
    assert_eq!(scan("a/1").await, ["a/1", "a/1/x", "a/10"]);
    assert_eq!(
        scan("").await,
        ["A/1", "a", "a/1", "a/1/x", "a/10", "a/2", "ab/1", "b/1"]
    );
    assert!(scan("c").await.is_empty());
    assert!(scan("a/3").await.is_empty());

    let found = store.scan(t, "a/2").await.unwrap();
    assert_eq!(
        found,
        [(
            "a/2".to_owned(),
            Versioned {
                version: 1,
                value: b("0")
            }
        )]
    );
    assert_eq!(store.scan(Table::Logs, "a/").await.unwrap().len(), 1);
}

async fn delete_prefix(store: &Arc<dyn Store>) {
    let t = Table::Logs;
    for key in ["dp/x/1", "dp/x/2", "dp/x/3", "dp/xy/1", "dp/y/1"] {
        store.put(t, key, b(key), Expect::Any, None).await.unwrap();
    }
    store
        .put(t, "dp/x/expired", b("e"), Expect::Any, Some(TTL))
        .await
        .unwrap();
    tokio::time::sleep(PAST_TTL).await;

    assert_eq!(
        store.delete_prefix(t, "dp/x/").await.unwrap(),
        3,
        "only live entries count"
    );
    assert_eq!(store.delete_prefix(t, "dp/x/").await.unwrap(), 0);
    let left: Vec<String> = store
        .scan(t, "dp/")
        .await
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(left, ["dp/xy/1", "dp/y/1"]);
    assert_eq!(value(store, t, "dp/x/1").await, None);
    assert_eq!(
        store
            .put(t, "dp/x/1", b("again"), Expect::Absent, None)
            .await
            .unwrap(),
        1,
        "keys removed by prefix start again at 1"
    );
    assert_eq!(store.delete_prefix(t, "nothing/").await.unwrap(), 0);
}

async fn concurrent_increments(store: &Arc<dyn Store>) {
    const TASKS: u64 = 20;
    let t = Table::State;
    store
        .put(t, "race/counter", b("0"), Expect::Absent, None)
        .await
        .unwrap();

    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..TASKS {
        let store = Arc::clone(store);
        tasks.spawn(async move {
            let mut conflicts = 0u32;
            loop {
                let current = store.get(t, "race/counter").await.unwrap().unwrap();
                let n: u64 = std::str::from_utf8(&current.value)
                    .unwrap()
                    .parse()
                    .unwrap();
                let next = b(&(n + 1).to_string());
                match store
                    .put(
                        t,
                        "race/counter",
                        next,
                        Expect::Version(current.version),
                        None,
                    )
                    .await
                {
                    Ok(_) => return conflicts,
                    Err(StoreError::Conflict) => {
                        conflicts += 1;
                        assert!(conflicts < 10_000, "livelock");
                        tokio::task::yield_now().await;
                    }
                    Err(e) => panic!("increment failed: {e}"),
                }
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    assert_eq!(
        value(store, t, "race/counter").await,
        Some(Versioned {
            version: TASKS + 1,
            value: b(&TASKS.to_string())
        }),
        "every increment must land exactly once"
    );
}

/// A lease whose ttl ran out, and which another then took, is not the first holder's to give
/// back: giving it back leaves the new holder's in place.
async fn leases_go_back_only_from_their_holder(store: &Arc<dyn Store>) {
    let records = abaco::records::Records::new(Arc::clone(store));
    let key = "fence/spawn";
    let first = records
        .try_lease(key, TTL)
        .await
        .unwrap()
        .expect("a free lease");
    assert!(records.try_lease(key, TTL).await.unwrap().is_none(), "held");
    tokio::time::sleep(PAST_TTL).await;
    let second = records
        .try_lease(key, TTL * 30)
        .await
        .unwrap()
        .expect("ran out");
    assert!(
        !records.release_lease(first).await.unwrap(),
        "no longer the first's"
    );
    assert!(
        records.try_lease(key, TTL).await.unwrap().is_none(),
        "the second holder keeps it"
    );
    assert!(records.release_lease(second).await.unwrap());
    let third = records.try_lease(key, TTL).await.unwrap();
    assert!(third.is_some(), "given back by its holder, it is free");

    store
        .put(Table::Leases, "fence/raw", b("mine"), Expect::Any, None)
        .await
        .unwrap();
    assert!(
        !store
            .delete_if_value(Table::Leases, "fence/raw", b"theirs", &[])
            .await
            .unwrap()
    );
    assert!(value(store, Table::Leases, "fence/raw").await.is_some());
    assert!(
        store
            .delete_if_value(Table::Leases, "fence/raw", b"mine", &[])
            .await
            .unwrap()
    );
    assert!(value(store, Table::Leases, "fence/raw").await.is_none());
    assert!(
        !store
            .delete_if_value(Table::Leases, "fence/raw", b"mine", &[])
            .await
            .unwrap()
    );

    // What belongs to a record goes with it, and only when the record does.
    let belongings = [
        (Table::Logs, "owned/r".to_string()),
        (Table::ExecutionOrder, "owned/1/r".to_string()),
    ];
    store
        .put(Table::Results, "owned/r", b("v1"), Expect::Absent, None)
        .await
        .unwrap();
    for (table, key) in &belongings {
        store
            .put(*table, key, b("x"), Expect::Absent, None)
            .await
            .unwrap();
    }
    assert!(
        !store
            .delete_if_value(Table::Results, "owned/r", b"v0", &belongings)
            .await
            .unwrap()
    );
    for (table, key) in &belongings {
        assert!(value(store, *table, key).await.is_some(), "{key} kept");
    }
    assert!(
        store
            .delete_if_value(Table::Results, "owned/r", b"v1", &belongings)
            .await
            .unwrap()
    );
    for (table, key) in &belongings {
        assert!(value(store, *table, key).await.is_none(), "{key} went");
        assert!(store.scan(*table, "owned/").await.unwrap().is_empty());
    }
}
