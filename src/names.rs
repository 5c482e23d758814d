//! Names the platform hands to the shell of a container, and how much each can carry.

/// Most bytes Linux takes for one environment string (`NAME=value` and its NUL): 32 pages
/// (MAX_ARG_STRLEN). A longer one makes the container fail to start.
pub const MAX_ENV_STRING: usize = 131_072;

/// Most bytes of a value the variable `name` can carry.
pub const fn max_env_value(name: &str) -> usize {
    MAX_ENV_STRING - name.len() - "=".len() - 1
}

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
    fn env_values_fit_the_kernel_limit() {
        assert_eq!(super::max_env_value("MSG"), 131_067);
    }

    #[test]
    fn env_names() {
        assert!(is_env_name("_abaco_x1"));
        assert!(is_env_name("PATH"));
        assert!(!is_env_name("1X"));
        assert!(!is_env_name("a-b"));
        assert!(!is_env_name(""));
    }
}
