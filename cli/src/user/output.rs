//! How answers are shown: a table of chosen fields for people, the API's result as JSON for
//! scripts. The one place user verbs write to stdout and stderr.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use serde_json::Value;

use super::{ClientArgs, VerbError};

/// A field as a table cell: strings bare, null empty, anything else as JSON.
fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
    }
}

/// `rows` (objects) as a table of `columns` (field, heading), or as JSON with `--json`.
pub(super) fn rows(args: &ClientArgs, result: &Value, rows: &[Value], columns: &[(&str, &str)]) {
    if args.json {
        return json(result);
    }
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_header(columns.iter().map(|(_, heading)| *heading));
    for row in rows {
        table.add_row(columns.iter().map(|(field, _)| cell(row.get(*field))));
    }
    println!("{table}");
}

/// One record as a two-column table of `fields` (all of them when empty), or as JSON.
pub(super) fn record(args: &ClientArgs, result: &Value, fields: &[&str]) {
    if args.json {
        return json(result);
    }
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED);
    match result.as_object() {
        Some(object) if fields.is_empty() => {
            for (field, value) in object.iter().filter(|(field, _)| *field != "_links") {
                table.add_row(vec![field.clone(), cell(Some(value))]);
            }
        }
        Some(object) => {
            for field in fields {
                table.add_row(vec![(*field).to_string(), cell(object.get(*field))]);
            }
        }
        None => {
            table.add_row(vec![cell(Some(result))]);
        }
    }
    println!("{table}");
}

/// A line for people (nothing with `--json`, where `result` is printed instead).
pub(super) fn said(args: &ClientArgs, result: &Value, line: &str) {
    if args.json {
        json(result);
    } else {
        println!("{line}");
    }
}

/// Text as it is (logs, a run's result).
pub(super) fn text(text: &str) {
    print!("{text}");
}

/// Raw bytes to stdout (a synchronous run's result).
pub(super) fn bytes(bytes: &[u8]) -> Result<(), VerbError> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(bytes)?;
    stdout.flush()?;
    Ok(())
}

fn json(result: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(result).unwrap_or_else(|_| result.to_string())
    );
}

/// The error, on stderr.
pub(super) fn complain(error: &VerbError) {
    eprintln!("abaco: {error}");
}
