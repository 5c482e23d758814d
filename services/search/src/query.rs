//! A query from abaco's search parameters, and the page of documents it selects.

use regex::Regex;
use serde_json::Value;

use crate::typed::{Typed, is_time_field};

/// Why a query was refused; each names the parameter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SearchError(pub String);

fn refuse<T>(text: impl Into<String>) -> Result<T, SearchError> {
    Err(SearchError(text.into()))
}

/// Operators, by the suffix that names them, longest first where one ends another.
const OPERATORS: [(&str, Op); 11] = [
    (".between", Op::Between),
    (".nlike", Op::NotLike),
    (".like", Op::Like),
    (".neq", Op::Ne),
    (".eq", Op::Eq),
    (".lte", Op::Le),
    (".lt", Op::Lt),
    (".gte", Op::Ge),
    (".gt", Op::Gt),
    (".nin", Op::NotIn),
    (".in", Op::In),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
    Between,
    Like,
    NotLike,
}

#[derive(Debug, Clone)]
enum Operand {
    One(Typed),
    Many(Vec<Typed>),
    Range(Typed, Typed),
    Pattern(Regex),
}

#[derive(Debug, Clone)]
struct Condition {
    path: Vec<String>,
    op: Op,
    operand: Operand,
}

/// A parsed query.
#[derive(Debug, Clone)]
pub struct Query {
    words: Vec<String>,
    phrase: Option<String>,
    conditions: Vec<Condition>,
    /// Documents passed over before the page.
    pub skip: usize,
    /// Most documents on the page.
    pub limit: usize,
}

/// The page a query selects, and how it was cut.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// What matched, after `skip`, at most `limit`.
    pub items: Vec<T>,
    /// Everything that matched.
    pub total: usize,
}

/// Most bytes of a `.like` pattern's compiled program.
const PATTERN_SIZE: usize = 1 << 20;

impl Query {
    /// The query `params` (in order, as given) make; `limit` defaults to 100 and may not
    /// exceed `max_limit`. Parameters that are not search terms (`x-nonce`, and those
    /// starting with `_abaco`) are ignored.
    pub fn parse(params: &[(String, String)], max_limit: usize) -> Result<Self, SearchError> {
        let mut query = Self {
            words: Vec::new(),
            phrase: None,
            conditions: Vec::new(),
            skip: 0,
            limit: 100.min(max_limit),
        };
        let mut seen = std::collections::HashSet::new();
        for (key, value) in params {
            // abaco takes the first of repeated parameters.
            if !seen.insert(key.as_str()) || key == "x-nonce" || key.starts_with("_abaco") {
                continue;
            }
            match key.as_str() {
                "search" => {
                    query.words = value.split_whitespace().map(str::to_lowercase).collect();
                }
                "exactsearch" => query.phrase = Some(value.to_lowercase()),
                "skip" => query.skip = count(key, value)?,
                "limit" => {
                    query.limit = count(key, value)?;
                    if query.limit > max_limit {
                        return refuse(format!("limit must be at most {max_limit}"));
                    }
                }
                _ => query.conditions.push(condition(key, value)?),
            }
        }
        Ok(query)
    }

    /// Whether the query only cuts a page (`skip`, `limit`) and matches every document.
    pub fn matches_all(&self) -> bool {
        self.words.is_empty() && self.phrase.is_none() && self.conditions.is_empty()
    }

    /// Whether `doc` is selected.
    pub fn matches(&self, doc: &Value) -> bool {
        if !self.words.is_empty() || self.phrase.is_some() {
            let mut text = String::new();
            collect_text(doc, &mut text);
            if !self.words.iter().all(|word| text.contains(word.as_str())) {
                return false;
            }
            if self
                .phrase
                .as_ref()
                .is_some_and(|p| !text.contains(p.as_str()))
            {
                return false;
            }
        }
        self.conditions.iter().all(|c| c.holds(doc))
    }

    /// The page of `items` (each with its document) this query selects, in their order.
    pub fn page<T>(&self, items: impl IntoIterator<Item = (T, Value)>) -> Page<T> {
        let mut total = 0;
        let mut page = Vec::new();
        for (item, doc) in items {
            if !self.matches(&doc) {
                continue;
            }
            if total >= self.skip && page.len() < self.limit {
                page.push(item);
            }
            total += 1;
        }
        Page { items: page, total }
    }
}

fn count(key: &str, value: &str) -> Result<usize, SearchError> {
    value.trim().parse().or_else(|_| {
        refuse(format!(
            "{key} must be a whole number of at least 0, not {value:?}"
        ))
    })
}

/// `field[.op]=value` as a condition; the first segment of the field may be camelCase.
fn condition(key: &str, value: &str) -> Result<Condition, SearchError> {
    let (field, op) = OPERATORS
        .iter()
        .find_map(|(suffix, op)| key.strip_suffix(suffix).map(|field| (field, *op)))
        .unwrap_or((key, Op::Eq));
    if field.is_empty() {
        return refuse(format!("{key}: no field to search on"));
    }
    let mut path: Vec<String> = field.split('.').map(str::to_string).collect();
    path[0] = snake(&path[0]);
    let time = is_time_field(&path);
    let typed = |text: &str| {
        Typed::parse(text, time).ok_or_else(|| {
            SearchError(format!(
                "{key}: {text:?} is not an ISO 8601 time (e.g. 2020-05-01T14:45:41.591Z)"
            ))
        })
    };
    let operand = match op {
        Op::In | Op::NotIn => Operand::Many(
            list(value)
                .iter()
                .map(|item| typed(item))
                .collect::<Result<_, _>>()?,
        ),
        Op::Between => {
            let Some((low, high)) = value.split_once(',') else {
                return refuse(format!(
                    "{key}: between takes two values separated by a comma, e.g. io.between=20,40"
                ));
            };
            Operand::Range(typed(low)?, typed(high)?)
        }
        Op::Like | Op::NotLike => Operand::Pattern(
            regex::RegexBuilder::new(value)
                .size_limit(PATTERN_SIZE)
                .build()
                .map_err(|e| SearchError(format!("{key}: not a regular expression: {e}")))?,
        ),
        _ => Operand::One(typed(value)?),
    };
    Ok(Condition { path, op, operand })
}

/// The items of an `.in` list: a JSON list (single quotes allowed, as abaco takes them) or
/// comma-separated text.
fn list(value: &str) -> Vec<String> {
    let trimmed = value.trim();
    if trimmed.starts_with('[')
        && let Ok(Value::Array(items)) = serde_json::from_str(&trimmed.replace('\'', "\""))
    {
        return items
            .into_iter()
            .map(|item| match item {
                Value::String(text) => text,
                other => other.to_string(),
            })
            .collect();
    }
    value
        .split(',')
        .map(|item| item.trim().to_string())
        .collect()
}

/// `maxWorkers` -> `max_workers`; snake_case stays.
fn snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

impl Condition {
    fn holds(&self, doc: &Value) -> bool {
        use std::cmp::Ordering::{Equal, Greater, Less};
        let found = lookup(doc, &self.path);
        match (&self.operand, self.op) {
            (Operand::One(v), Op::Eq) => v.compare(found) == Some(Equal),
            (Operand::One(v), Op::Ne) => v.compare(found) != Some(Equal),
            (Operand::One(v), Op::Lt) => v.compare(found) == Some(Less),
            (Operand::One(v), Op::Le) => matches!(v.compare(found), Some(Less | Equal)),
            (Operand::One(v), Op::Gt) => v.compare(found) == Some(Greater),
            (Operand::One(v), Op::Ge) => matches!(v.compare(found), Some(Greater | Equal)),
            (Operand::Many(items), Op::In) => items.iter().any(|v| v.compare(found) == Some(Equal)),
            (Operand::Many(items), Op::NotIn) => {
                !items.iter().any(|v| v.compare(found) == Some(Equal))
            }
            (Operand::Range(low, high), Op::Between) => {
                matches!(low.compare(found), Some(Greater | Equal))
                    && matches!(high.compare(found), Some(Less | Equal))
            }
            (Operand::Pattern(pattern), Op::Like) => {
                text_of(found).is_some_and(|t| pattern.is_match(&t))
            }
            (Operand::Pattern(pattern), Op::NotLike) => {
                !text_of(found).is_some_and(|t| pattern.is_match(&t))
            }
            _ => false,
        }
    }
}

/// The value at `path` in `doc`.
fn lookup<'a>(doc: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(doc, |at, segment| at.get(segment))
}

fn text_of(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::Null => None,
        Value::String(text) => Some(text.clone()),
        other => Some(other.to_string()),
    }
}

/// Every string and number in `doc`, lower case, one per line.
fn collect_text(doc: &Value, out: &mut String) {
    match doc {
        Value::String(text) => {
            out.push_str(&text.to_lowercase());
            out.push('\n');
        }
        Value::Number(n) => {
            out.push_str(&n.to_string());
            out.push('\n');
        }
        Value::Array(items) => items.iter().for_each(|item| collect_text(item, out)),
        Value::Object(fields) => fields.values().for_each(|value| collect_text(value, out)),
        Value::Null | Value::Bool(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn query(pairs: &[(&str, &str)]) -> Result<Query, SearchError> {
        let params: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Query::parse(&params, 1000)
    }

    fn selects(pairs: &[(&str, &str)], doc: &Value) -> bool {
        query(pairs).unwrap().matches(doc)
    }

    #[test]
    fn every_operator_of_abaco() {
        let doc = json!({
            "status": "COMPLETE", "exit_code": 3, "runtime": 1500, "stateless": true,
            "image": "abaco/sample-echo", "link": null,
            "start_time": "2026-12-01T10:00:00.000Z",
            "final_state": {"ExitCode": 3, "OOMKilled": false},
        });
        assert!(selects(&[("status", "COMPLETE")], &doc));
        assert!(selects(&[("status.eq", "COMPLETE")], &doc));
        assert!(selects(&[("status.neq", "ERROR")], &doc));
        assert!(selects(&[("exitCode", "3")], &doc), "camelCase and numbers");
        assert!(selects(
            &[("runtime.gt", "1000"), ("runtime.lte", "1500")],
            &doc
        ));
        assert!(!selects(&[("runtime.lt", "1500")], &doc));
        assert!(selects(&[("runtime.between", "1000,2000")], &doc));
        assert!(selects(&[("status.in", "['ERROR', 'COMPLETE']")], &doc));
        assert!(selects(&[("status.nin", "ERROR,RUNNING")], &doc));
        assert!(selects(&[("image.like", "^abaco/.*echo$")], &doc));
        assert!(selects(&[("image.nlike", "hog")], &doc));
        assert!(selects(&[("stateless", "TRUE")], &doc));
        assert!(selects(&[("link", "None")], &doc));
        assert!(selects(&[("missing", "none")], &doc));
        assert!(selects(&[("final_state.ExitCode", "3")], &doc), "nested");
        assert!(selects(&[("start_time.gte", "2026-12-01")], &doc), "times");
        assert!(!selects(&[("start_time.lt", "2026-12-01T10")], &doc));
        assert!(selects(
            &[("start_time.between", "2026-11,2026-12-02")],
            &doc
        ));
    }

    #[test]
    fn words_and_phrases_must_appear() {
        let doc = json!({"name": "Nightly Build", "description": "runs the tests"});
        assert!(selects(&[("search", "nightly tests")], &doc));
        assert!(!selects(&[("search", "nightly deploy")], &doc));
        assert!(selects(&[("exactsearch", "the tests")], &doc));
        assert!(!selects(&[("exactsearch", "tests the")], &doc));
    }

    #[test]
    fn pages_count_everything_that_matched() {
        let items = (0..10).map(|n| (n, json!({"n": n, "even": n % 2 == 0})));
        let q = query(&[("even", "true"), ("skip", "1"), ("limit", "2")]).unwrap();
        let page = q.page(items);
        assert_eq!(page.items, vec![2, 4]);
        assert_eq!(page.total, 5);
    }

    #[test]
    fn bad_parameters_are_refused_by_name() {
        let error = |pairs: &[(&str, &str)]| query(pairs).unwrap_err().0;
        assert!(error(&[("limit", "-1")]).contains("limit"));
        assert!(error(&[("skip", "x")]).contains("skip"));
        assert!(error(&[("limit", "5000")]).contains("at most 1000"));
        assert!(error(&[("io.between", "20")]).contains("comma"));
        assert!(error(&[("start_time.gt", "soon")]).contains("ISO 8601"));
        assert!(error(&[("name.like", "(")]).contains("regular expression"));
        assert!(query(&[("x-nonce", "abc"), ("_abaco_x", "1")]).is_ok());
    }
}
