//! Paging of list routes: `cursor`, `skip` and `limit` in the query, and the cursor of the
//! next page in the `X-Next-Cursor` header (or, for executions, in the body as `nextCursor`).

use abaco::pb;
use axum::response::{IntoResponse, Response};
use http::{HeaderName, HeaderValue};

use super::search;
use crate::{envelope::Reply, error::ApiError};

/// The response header that carries the next page's cursor.
pub(crate) const NEXT_CURSOR: HeaderName = HeaderName::from_static("x-next-cursor");

/// What the query of a route that lists, and searches when given parameters, asks for.
pub(super) enum Wants {
    /// The listing: whole (`None`), or the page a cursor names.
    Listing(Option<pb::PageRequest>),
    /// A search, as in abaco: any parameter but a cursor, a nonce or the platform's own.
    Search,
}

/// What `params` ask of a route that lists and searches.
pub(super) fn wants(params: &[(String, String)]) -> Result<Wants, ApiError> {
    if params.iter().any(|(key, _)| key == "cursor") {
        Ok(Wants::Listing(Some(cursor_page(params)?)))
    } else if search::is_search(params) {
        Ok(Wants::Search)
    } else {
        Ok(Wants::Listing(None))
    }
}

/// The page the query asks for; other parameters are left to the route.
pub(super) fn page_of(params: &[(String, String)]) -> Result<pb::PageRequest, ApiError> {
    let mut page = pb::PageRequest::default();
    for (key, value) in params {
        let number = || {
            value.parse::<u64>().map_err(|_| {
                ApiError::bad_request(format!("{key} must be a whole number, not {value:?}"))
            })
        };
        match key.as_str() {
            "cursor" => page.cursor.clone_from(value),
            "skip" => page.skip = number()?,
            "limit" => {
                page.limit = number()?;
                if page.limit == 0 {
                    return Err(ApiError::bad_request("limit must be at least 1"));
                }
            }
            _ => {}
        }
    }
    Ok(page)
}

/// The page of a route where a cursor continues a listing and anything else would search:
/// nothing but the page may come with a cursor.
fn cursor_page(params: &[(String, String)]) -> Result<pb::PageRequest, ApiError> {
    if let Some((other, _)) = params.iter().find(|(key, _)| {
        !matches!(key.as_str(), "cursor" | "skip" | "limit" | "x-nonce")
            && !key.starts_with("_abaco")
    }) {
        return Err(ApiError::bad_request(format!(
            "{other} cannot come with a cursor: a cursor continues a listing; search with skip and limit instead"
        )));
    }
    page_of(params)
}

/// `reply`, with the next page's cursor in its header when there is a next page.
pub(super) fn with_next(reply: Reply, next_cursor: &str) -> Response {
    let mut response = reply.into_response();
    if let Ok(value) = HeaderValue::from_str(next_cursor)
        && !next_cursor.is_empty()
    {
        response.headers_mut().insert(NEXT_CURSOR, value);
    }
    response
}
