//! Who is calling. There is no authentication yet: the gateway forwards the user it was told
//! (or its configured default) in the `x-abaco-user` metadata entry, and services trust it.

/// The gRPC metadata key that carries the caller's user name.
pub const USER_METADATA: &str = "x-abaco-user";

/// The user a call acts as when it names none.
pub const ANONYMOUS: &str = "anonymous";

/// The calling user of a gRPC request.
pub fn caller<T>(request: &tonic::Request<T>) -> String {
    request
        .metadata()
        .get(USER_METADATA)
        .and_then(|value| value.to_str().ok())
        .filter(|user| is_valid_user(user))
        .unwrap_or(ANONYMOUS)
        .to_string()
}

/// Whether `user` is an acceptable user name: 1 to 64 of `A-Za-z0-9_.@-`.
pub fn is_valid_user(user: &str) -> bool {
    (1..=64).contains(&user.len())
        && user
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.@-".contains(&b))
}
