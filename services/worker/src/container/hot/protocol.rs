//! abaco's hot protocol, version 1: what a worker writes to a hot container's stdin for each
//! message, and how the container says it is done with it on stdout.
//!
//! - In: one line per message, a JSON object `{"execution_id": ..., "env": {...}, "binary":
//!   ...}`: `env` is the environment a fresh container of that message would get (`MSG` and
//!   the `_abaco_*` variables), `binary` the message's bytes in base64 for binary messages
//!   (absent otherwise).
//! - Out: the line `{"_abaco_done": <exit code>}`, a line of its own on stdout, ends the
//!   message. Every other line on stdout, and everything on stderr, is that message's log.

use std::collections::BTreeMap;

use base64::Engine;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// The key of the line that ends a message.
pub const DONE_KEY: &str = "_abaco_done";

/// One message as the hot container reads it.
#[derive(Debug, Serialize)]
struct Request<'a> {
    execution_id: &'a str,
    env: BTreeMap<&'a str, &'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    binary: Option<String>,
}

/// The stdin line of one message, newline included.
pub fn request_line(
    execution_id: &str,
    env: &[(String, String)],
    binary: Option<&Bytes>,
) -> Vec<u8> {
    let request = Request {
        execution_id,
        // A later duplicate wins, as it does in a container's environment.
        env: env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect(),
        binary: binary.map(|bytes| base64::engine::general_purpose::STANDARD.encode(bytes)),
    };
    // A map of strings and a string always serialize.
    let mut line = serde_json::to_vec(&request).unwrap_or_default();
    line.push(b'\n');
    line
}

#[derive(Debug, Deserialize)]
struct Done {
    #[serde(rename = "_abaco_done")]
    exit_code: i64,
}

/// The exit code a stdout line reports, when it is the done line.
pub fn done_code(line: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(line).ok()?.trim();
    if !text.starts_with('{') || !text.contains(DONE_KEY) {
        return None;
    }
    serde_json::from_str::<Done>(text)
        .ok()
        .map(|done| done.exit_code)
}

/// Cuts a byte stream into lines, keeping the newline with each.
#[derive(Debug, Default)]
pub struct Lines {
    partial: Vec<u8>,
}

impl Lines {
    /// The whole lines `chunk` completes.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<Vec<u8>> {
        let mut lines = Vec::new();
        for piece in chunk.split_inclusive(|b| *b == b'\n') {
            self.partial.extend_from_slice(piece);
            if piece.ends_with(b"\n") {
                lines.push(std::mem::take(&mut self.partial));
            }
        }
        lines
    }

    /// What is left without a newline.
    pub fn rest(self) -> Vec<u8> {
        self.partial
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_one_json_line_with_the_environment() {
        let env = vec![
            ("MSG".to_string(), "two\nlines \"quoted\"".to_string()),
            ("A".to_string(), "first".to_string()),
            ("A".to_string(), "second".to_string()),
        ];
        let line = request_line("0exec", &env, None);
        assert_eq!(line.iter().filter(|b| **b == b'\n').count(), 1);
        let value: serde_json::Value = serde_json::from_slice(&line).expect("json");
        assert_eq!(value["execution_id"], "0exec");
        assert_eq!(value["env"]["MSG"], "two\nlines \"quoted\"");
        assert_eq!(value["env"]["A"], "second");
        assert!(value.get("binary").is_none());
    }

    #[test]
    fn binary_messages_travel_in_base64() {
        let line = request_line("0exec", &[], Some(&Bytes::from_static(&[0, 255, 10])));
        let value: serde_json::Value = serde_json::from_slice(&line).expect("json");
        assert_eq!(value["binary"], "AP8K");
    }

    #[test]
    fn only_the_done_line_is_done() {
        assert_eq!(done_code(b"{\"_abaco_done\": 0}\n"), Some(0));
        assert_eq!(done_code(b"  {\"_abaco_done\":-3}\r\n"), Some(-3));
        assert_eq!(done_code(b"{\"_abaco_done\": \"zero\"}\n"), None);
        assert_eq!(done_code(b"said {\"_abaco_done\": 0}\n"), None);
        assert_eq!(done_code(b"hello\n"), None);
        assert_eq!(done_code(&[0xff, b'{']), None);
    }

    #[test]
    fn lines_are_cut_across_chunks() {
        let mut lines = Lines::default();
        assert!(lines.push(b"hel").is_empty());
        assert_eq!(lines.push(b"lo\nwor"), vec![b"hello\n".to_vec()]);
        assert_eq!(
            lines.push(b"ld\n\nend"),
            vec![b"world\n".to_vec(), b"\n".to_vec()]
        );
        assert_eq!(lines.rest(), b"end".to_vec());
    }
}
