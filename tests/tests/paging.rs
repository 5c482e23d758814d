//! Paging, on both backends. An actor's executions: pages in the order the messages were
//! accepted, followed by cursor to the end with none missed or repeated, the count of all of
//! them on every page, abaco's `skip`/`limit`, the platform's page size for a listing without
//! a limit, and clear refusals of cursors and parameters that cannot go together. The other
//! listings (actors, aliases, dead letters...) whole by default, as in abaco, and in pages by
//! `cursor`/`limit` with the next cursor in `X-Next-Cursor`.

#![allow(clippy::unwrap_used)]

use abaco_tests::{
    BackendKind, Platform, on_both_backends,
    steps::{register, send},
};
use serde_json::{Value, json};

async fn start(kind: BackendKind) -> Platform {
    Platform::start_with_settings(kind, &[("ABACO_LIST_PAGE_SIZE", "4")]).await
}

on_both_backends!(
    start = start;
    pages_follow_acceptance_order_to_the_end,
    short_listings_page_by_cursor_in_a_header
);

const SENT: usize = 7;

fn ids(page: &Value) -> Vec<String> {
    page["executions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn pages_follow_acceptance_order_to_the_end(platform: Platform) {
    let api = &platform.api;
    // An image no host has: the messages wait, and their executions stay as accepted.
    let actor = register(api, json!({"image": "abaco/not-built-yet"})).await;
    let mut sent = Vec::new();
    for i in 0..SENT {
        sent.push(send(api, &actor, "", "text/plain", format!("m{i}").into_bytes()).await);
    }
    let listing = format!("/actors/{actor}/executions");

    // Followed by cursor, three at a time: every execution once, oldest first.
    let mut seen = Vec::new();
    let mut query = "?cursor=&limit=3".to_string();
    let mut pages = 0;
    loop {
        let answer = api.get(&format!("{listing}{query}")).await.unwrap();
        let page = answer.ok();
        assert_eq!(page["totalExecutions"], SENT, "{}", answer.text);
        let got = ids(page);
        assert!(got.len() <= 3, "{}", answer.text);
        seen.extend(got);
        pages += 1;
        match page["nextCursor"].as_str() {
            Some(cursor) => query = format!("?cursor={cursor}&limit=3"),
            None => break,
        }
        assert!(pages < 10, "the cursor never ended: {}", answer.text);
    }
    assert_eq!(
        seen, sent,
        "pages in acceptance order, none missed or repeated"
    );
    assert_eq!(pages, 3);

    // Without a limit: the platform's page size (4 here), and a cursor to the rest.
    let first = api.get(&listing).await.unwrap();
    let first = first.ok();
    assert_eq!(ids(first), sent[..4]);
    let cursor = first["nextCursor"].as_str().unwrap();
    let rest = api
        .get(&format!("{listing}?cursor={cursor}"))
        .await
        .unwrap();
    assert_eq!(ids(rest.ok()), sent[4..]);
    assert_eq!(rest.ok()["nextCursor"], Value::Null);

    // abaco's skip and limit (a search without filters): the same order, with its metadata.
    let searched = api.get(&format!("{listing}?skip=2&limit=3")).await.unwrap();
    let result = searched.ok();
    assert_eq!(result["_metadata"]["totalCount"], SENT, "{}", searched.text);
    assert_eq!(ids(&json!({"executions": result["search"]})), sent[2..5]);

    // Refusals, each a 400 naming the problem.
    for (query, says) in [
        ("?cursor=not-a-cursor", "cursor"),
        ("?cursor=&status=COMPLETE", "status"),
        ("?cursor=&limit=0", "limit"),
        ("?cursor=&skip=-1", "skip"),
    ] {
        let answer = api.get(&format!("{listing}{query}")).await.unwrap();
        assert_eq!(answer.status, 400, "{query}: {}", answer.text);
        assert!(answer.text.contains(says), "{query}: {}", answer.text);
    }
    // A cursor of another actor's listing does not leak into this one.
    let other = register(api, json!({"image": "abaco/not-built-yet"})).await;
    let page = api
        .get(&format!("/actors/{other}/executions?cursor={cursor}"))
        .await
        .unwrap();
    assert!(ids(page.ok()).is_empty(), "{}", page.text);
}

/// Follows `path` (whose query already holds `cursor=`) through its pages of `limit`; the
/// ids of every page.
async fn pages_of(api: &abaco_tests::Api, path: &str, limit: usize) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut cursor = String::new();
    loop {
        let answer = api
            .get(&format!("{path}{cursor}&limit={limit}"))
            .await
            .unwrap();
        let ids: Vec<String> = answer
            .ok()
            .as_array()
            .unwrap()
            .iter()
            .map(|item| {
                item.get("id")
                    .or_else(|| item.get("alias"))
                    .and_then(Value::as_str)
                    .unwrap()
                    .to_owned()
            })
            .collect();
        pages.push(ids);
        match answer.headers.get("x-next-cursor") {
            Some(next) => cursor = next.to_str().unwrap().to_owned(),
            None => return pages,
        }
        assert!(pages.len() < 10, "the cursor never ended");
    }
}

async fn short_listings_page_by_cursor_in_a_header(platform: Platform) {
    let api = &platform.api;
    let mut actors = Vec::new();
    for _ in 0..3 {
        actors.push(register(api, json!({"image": "abaco/not-built-yet"})).await);
    }
    // Whole by default, in the order they were made, and no cursor.
    let all = api.get("/actors").await.unwrap();
    assert!(all.headers.get("x-next-cursor").is_none());
    let listed: Vec<&str> = all
        .ok()
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, actors);
    // Two at a time.
    let pages = pages_of(api, "/actors?cursor=", 2).await;
    assert_eq!(pages, [actors[..2].to_vec(), actors[2..].to_vec()]);

    for (n, actor) in actors.iter().enumerate() {
        let made = api
            .post(
                "/actors/aliases",
                &json!({"alias": format!("paged-{n}"), "actorId": actor}),
            )
            .await
            .unwrap();
        made.ok();
    }
    let pages = pages_of(api, "/actors/aliases?cursor=", 2).await;
    assert_eq!(
        pages,
        [vec!["paged-0", "paged-1"], vec!["paged-2"]],
        "aliases by name"
    );
    let refused = api.get("/actors/aliases?cursor=%25%25").await.unwrap();
    assert_eq!(refused.status, 400, "{}", refused.text);
}
