//! Config names and values as abaco allows them.

/// What an answer shows instead of a secret value.
pub const MASK: &str = "********";

/// Longest value, in bytes: every config of an actor travels in one environment variable.
pub const MAX_VALUE_BYTES: usize = 16 * 1024;

/// Words that are routes under `/actors/configs`'s neighbours, as abaco reserves them.
const RESERVED: [&str; 7] = [
    "executions",
    "nonces",
    "logs",
    "messages",
    "adapters",
    "admin",
    "utilization",
];

/// Characters a name may not have (they mean something in a URL), as abaco forbids them.
const FORBIDDEN: [char; 19] = [
    ':', '/', '?', '#', '[', ']', '@', '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=', ' ',
];

/// Refuses a name abaco would refuse, with abaco's reason; plus empty and over-long ones.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 128 {
        return Err("a config name is 1 to 128 characters".into());
    }
    if RESERVED.contains(&name) {
        return Err(format!(
            "{name} is a reserved word. The following reserved words cannot be used for a config: {RESERVED:?}."
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| FORBIDDEN.contains(c) || c.is_control())
    {
        return Err(format!(
            "'{bad}' is a forbidden character. The following characters cannot be used for a config name: {}.",
            FORBIDDEN.iter().collect::<String>()
        ));
    }
    Ok(())
}

/// Key of a config's record.
pub fn record_key(tenant: &str, name: &str) -> String {
    format!("{tenant}/{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abacos_names_rules_hold() {
        assert!(check_name("db_url").is_ok());
        assert!(check_name("my-config.v2").is_ok());
        assert!(check_name("logs").unwrap_err().contains("reserved word"));
        assert!(check_name("a/b").unwrap_err().contains("'/'"));
        assert!(check_name("a b").unwrap_err().contains("forbidden"));
        assert!(check_name("").is_err());
    }
}
