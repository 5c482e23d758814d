//! Pages of the listings that hold few records each (actors, workers, aliases, configs, dead
//! letters): read whole from the store, cut here by a [`pb::PageRequest`], and followed by an
//! opaque cursor. Executions, which grow without bound, page in the store instead (see
//! [`crate::execution_index`]).

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use crate::{
    error::{AbacoError, Result},
    pb,
};

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cut<T> {
    /// The records of the page, in the listing's order.
    pub items: Vec<T>,
    /// Where the next page starts; empty on the last page.
    pub next_cursor: String,
}

/// The order of actor listings: as they were created (as abaco lists them).
pub fn actor_key(actor: &pb::Actor) -> String {
    format!("{}/{}", actor.create_time, actor.id)
}

/// The cursor that continues a listing after the record whose sort key is `key`.
pub fn cursor_after(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(key)
}

/// The sort key a cursor continues after; a clear error for anything that is not a cursor.
pub fn key_of(cursor: &str) -> Result<String> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| {
            AbacoError::Invalid(format!("cursor {cursor:?} is not one a listing handed out"))
        })
}

/// Cuts the page `page` asks for out of `items`, ordered by `key` (unique per record);
/// without a page, or with no limit, every record after the cursor and the skipped ones.
pub fn cut<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> String,
    page: Option<&pb::PageRequest>,
) -> Result<Cut<T>> {
    let default = pb::PageRequest::default();
    let page = page.unwrap_or(&default);
    let after = (!page.cursor.is_empty())
        .then(|| key_of(&page.cursor))
        .transpose()?;
    let mut keyed: Vec<(String, T)> = items.into_iter().map(|item| (key(&item), item)).collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    let skip = usize::try_from(page.skip).unwrap_or(usize::MAX);
    let limit = match usize::try_from(page.limit).unwrap_or(usize::MAX) {
        0 => usize::MAX,
        limit => limit,
    };
    let mut rest = keyed
        .into_iter()
        .filter(|(k, _)| after.as_ref().is_none_or(|after| k > after))
        .skip(skip)
        .peekable();
    let mut taken = Vec::new();
    let mut last = None;
    while taken.len() < limit {
        let Some((k, item)) = rest.next() else { break };
        taken.push(item);
        last = Some(k);
    }
    let next_cursor = match (rest.peek(), last) {
        (Some(_), Some(last)) => cursor_after(&last),
        _ => String::new(),
    };
    Ok(Cut {
        items: taken,
        next_cursor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(cursor: &str, skip: u64, limit: u64) -> pb::PageRequest {
        pb::PageRequest {
            cursor: cursor.into(),
            skip,
            limit,
        }
    }

    #[test]
    fn pages_follow_their_cursor_to_the_end() {
        let items: Vec<u32> = vec![5, 1, 4, 2, 3];
        let key = |n: &u32| format!("{n:03}");
        let first = cut(items.clone(), key, Some(&page("", 0, 2))).unwrap();
        assert_eq!(first.items, [1, 2]);
        let second = cut(items.clone(), key, Some(&page(&first.next_cursor, 0, 2))).unwrap();
        assert_eq!(second.items, [3, 4]);
        let last = cut(items.clone(), key, Some(&page(&second.next_cursor, 0, 2))).unwrap();
        assert_eq!((last.items, last.next_cursor), (vec![5], String::new()));
        let all = cut(items.clone(), key, None).unwrap();
        assert_eq!(
            (all.items, all.next_cursor),
            (vec![1, 2, 3, 4, 5], String::new())
        );
        let skipped = cut(items, key, Some(&page("", 3, 0))).unwrap();
        assert_eq!(skipped.items, [4, 5]);
    }

    #[test]
    fn a_page_ending_at_the_last_record_says_nothing_follows() {
        let exact = cut(vec![1, 2], |n: &i32| n.to_string(), Some(&page("", 0, 2))).unwrap();
        assert_eq!(exact.next_cursor, "");
    }

    #[test]
    fn foreign_cursors_are_refused() {
        assert!(cut(vec![1], |n: &i32| n.to_string(), Some(&page("%%%", 0, 1))).is_err());
        assert_eq!(key_of(&cursor_after("a/b c")).unwrap(), "a/b c");
    }
}
