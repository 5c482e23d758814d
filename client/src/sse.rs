//! A followed run's Server-Sent Events, parsed: output chunks, then its end (or an error).

use futures::StreamExt;

use crate::ClientError;

/// One event of a followed run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogEvent {
    /// Output of the run.
    Output(String),
    /// The run ended with this status.
    End(String),
    /// The platform could not go on following.
    Error(String),
}

/// The events of a followed run, in order.
pub struct LogStream {
    body: futures::stream::BoxStream<'static, reqwest::Result<Vec<u8>>>,
    buffer: String,
    base: String,
}

impl std::fmt::Debug for LogStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogStream")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl LogStream {
    pub(crate) fn new(response: reqwest::Response, base: String) -> Self {
        Self {
            body: response
                .bytes_stream()
                .map(|chunk| chunk.map(|bytes| bytes.to_vec()))
                .boxed(),
            buffer: String::new(),
            base,
        }
    }

    /// The next event; `None` once the stream has ended.
    pub async fn next(&mut self) -> Option<Result<LogEvent, ClientError>> {
        loop {
            // Events end with a blank line.
            if let Some(end) = self.buffer.find("\n\n") {
                let raw: String = self.buffer.drain(..end + 2).collect();
                if let Some(event) = parse_event(&raw) {
                    return Some(Ok(event));
                }
                continue;
            }
            match self.body.next().await? {
                Ok(chunk) => self
                    .buffer
                    .push_str(&String::from_utf8_lossy(&chunk).replace("\r\n", "\n")),
                Err(source) => {
                    return Some(Err(ClientError::Unreachable {
                        base: self.base.clone(),
                        source,
                    }));
                }
            }
        }
    }
}

/// One event from its lines; `None` for comments (keep-alives) and empty events.
fn parse_event(raw: &str) -> Option<LogEvent> {
    let mut kind = "message";
    let mut data: Vec<&str> = Vec::new();
    for line in raw.lines() {
        if let Some(value) = line.strip_prefix("event:") {
            kind = value.trim_start();
        } else if let Some(value) = line.strip_prefix("data:") {
            data.push(value.strip_prefix(' ').unwrap_or(value));
        }
    }
    if data.is_empty() && kind == "message" {
        return None;
    }
    let data = data.join("\n");
    Some(match kind {
        "end" => LogEvent::End(data),
        "error" => LogEvent::Error(data),
        _ => LogEvent::Output(data),
    })
}

#[cfg(test)]
mod tests {
    use super::{LogEvent, parse_event};

    #[test]
    fn events_are_read_as_the_gateway_writes_them() {
        assert_eq!(
            parse_event("data: line one\ndata: line two\n\n"),
            Some(LogEvent::Output("line one\nline two".into()))
        );
        assert_eq!(
            parse_event("event: end\ndata: COMPLETE\n\n"),
            Some(LogEvent::End("COMPLETE".into()))
        );
        assert_eq!(
            parse_event("event: error\ndata: gone\n\n"),
            Some(LogEvent::Error("gone".into()))
        );
        assert_eq!(parse_event(": keep-alive\n\n"), None);
    }
}
