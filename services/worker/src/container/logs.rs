//! A container's output, capped so that a chatty actor cannot fill the store.

/// Collects log bytes up to a cap and remembers whether anything was cut.
#[derive(Debug)]
pub struct CappedLog {
    cap: usize,
    bytes: Vec<u8>,
    truncated: bool,
}

impl CappedLog {
    /// An empty log that keeps at most `cap` bytes.
    pub fn new(cap: usize) -> Self {
        Self {
            cap,
            bytes: Vec::new(),
            truncated: false,
        }
    }

    /// Adds a chunk; answers false once the cap is reached, so the caller can stop reading.
    pub fn push(&mut self, chunk: &[u8]) -> bool {
        let room = self.cap.saturating_sub(self.bytes.len());
        if chunk.len() > room {
            self.bytes.extend_from_slice(&chunk[..room]);
            self.truncated = true;
            return false;
        }
        self.bytes.extend_from_slice(chunk);
        true
    }

    /// The text, with a notice line at the end when it was cut. Invalid UTF-8 (a binary
    /// dump, or a character split by the cap) is replaced rather than refused.
    pub fn finish(self) -> String {
        let mut text = String::from_utf8_lossy(&self.bytes).into_owned();
        if self.truncated {
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(&format!("[abaco: log truncated at {} bytes]\n", self.cap));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn under_the_cap_nothing_is_added() {
        let mut log = CappedLog::new(10);
        assert!(log.push(b"hello\n"));
        assert_eq!(log.finish(), "hello\n");
    }

    #[test]
    fn over_the_cap_the_text_is_cut_with_a_notice() {
        let mut log = CappedLog::new(8);
        assert!(log.push(b"12345"));
        assert!(!log.push(b"67890"));
        assert_eq!(
            log.finish(),
            "12345678\n[abaco: log truncated at 8 bytes]\n"
        );
    }

    #[test]
    fn a_split_character_does_not_fail() {
        let mut log = CappedLog::new(1);
        log.push("é".as_bytes());
        assert!(
            log.finish()
                .ends_with("[abaco: log truncated at 1 bytes]\n")
        );
    }
}
