//! Search, as abaco's `/actors/search/{type}` and list routes with query parameters have it:
//! each parameter `field[.op]=value` a condition, `search=` words and `exactsearch=` a phrase
//! that must appear, `skip` and `limit` for paging.
//!
//! The registration service reads the records a caller may see, turns each into a document
//! ([`document`]: the record with abaco's snake_case field names), and asks [`Query::page`]
//! for the page a query selects.

pub mod document;
mod query;
mod typed;

pub use query::{Page, Query, SearchError};
pub use typed::parse_time;
