//! Docker image references: `[host[:port]/]path[:tag][@digest]`, checked the way the engine
//! would, so a bad reference is refused at registration rather than at the first run.

/// Why a reference is not valid, or `None` when it is.
pub fn problem(reference: &str) -> Option<String> {
    if reference.is_empty() {
        return Some("image must not be empty".into());
    }
    if reference.len() > 255 {
        return Some("image must be at most 255 characters".into());
    }
    let (rest, digest) = match reference.split_once('@') {
        Some((rest, digest)) => (rest, Some(digest)),
        None => (reference, None),
    };
    if let Some(digest) = digest
        && !valid_digest(digest)
    {
        return Some(format!("image {reference:?} has a malformed digest"));
    }
    // A tag follows the last ':' unless that ':' belongs to a registry port (a '/' after it).
    let (name, tag) = match rest.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name, Some(tag)),
        _ => (rest, None),
    };
    if let Some(tag) = tag
        && !valid_tag(tag)
    {
        return Some(format!("image {reference:?} has a malformed tag"));
    }
    let mut parts: Vec<&str> = name.split('/').collect();
    if parts.len() > 1 && looks_like_host(parts[0]) {
        let host = parts.remove(0);
        if !valid_host(host) {
            return Some(format!("image {reference:?} has a malformed registry host"));
        }
    }
    if parts.iter().all(|part| valid_path_component(part)) {
        None
    } else {
        Some(format!(
            "image {reference:?} is not a valid image reference (lower-case names, e.g. \"abaco/sample-echo:latest\")"
        ))
    }
}

fn looks_like_host(part: &str) -> bool {
    part.contains('.') || part.contains(':') || part == "localhost"
}

fn valid_host(host: &str) -> bool {
    let (name, port) = match host.split_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (host, None),
    };
    let name_ok = !name.is_empty()
        && name.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    name_ok && port_ok
}

/// `[a-z0-9]+` runs joined by `.`, `_`, `__` or `-`s.
fn valid_path_component(part: &str) -> bool {
    if part.is_empty() {
        return false;
    }
    let bytes = part.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut separator_run = String::new();
    for &b in bytes {
        if alnum(b) {
            if !separator_run.is_empty() {
                let ok = separator_run == "."
                    || separator_run == "_"
                    || separator_run == "__"
                    || separator_run.bytes().all(|s| s == b'-');
                if !ok {
                    return false;
                }
                separator_run.clear();
            }
        } else if b == b'.' || b == b'_' || b == b'-' {
            separator_run.push(char::from(b));
        } else {
            return false;
        }
    }
    true
}

fn valid_tag(tag: &str) -> bool {
    let bytes = tag.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 128
        && (bytes[0].is_ascii_alphanumeric() || bytes[0] == b'_')
        && bytes
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-')
}

fn valid_digest(digest: &str) -> bool {
    match digest.split_once(':') {
        Some((algorithm, hex)) => {
            !algorithm.is_empty()
                && algorithm
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                && hex.len() >= 32
                && hex.bytes().all(|b| b.is_ascii_hexdigit())
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::problem;

    #[test]
    fn accepts_what_docker_accepts() {
        for good in [
            "busybox",
            "abaco/sample-echo",
            "abaco/sample-echo:latest",
            "localhost:5000/team/app:1.2.3",
            "registry.example.org/a/b/c",
            "my_app__x.y-z",
            "app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            assert_eq!(problem(good), None, "{good}");
        }
    }

    #[test]
    fn refuses_what_docker_refuses() {
        for bad in [
            "",
            "Upper/Case",
            "has space",
            "trailing-",
            "a//b",
            "app:",
            "app:-tag",
            "app@sha256:xyz",
            "host:port/app",
            ":tag",
        ] {
            assert!(problem(bad).is_some(), "{bad:?} should be refused");
        }
    }
}
