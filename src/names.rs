//! Names the platform hands to the shell of a container.

/// `[A-Za-z_][A-Za-z0-9_]*`: what a shell accepts as an environment variable name.
pub fn is_env_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::is_env_name;

    #[test]
    fn env_names() {
        assert!(is_env_name("_abaco_x1"));
        assert!(is_env_name("PATH"));
        assert!(!is_env_name("1X"));
        assert!(!is_env_name("a-b"));
        assert!(!is_env_name(""));
    }
}
