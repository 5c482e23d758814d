//! Permission levels by their abaco names: `NONE < READ < EXECUTE < UPDATE`.

use abaco::pb::PermissionLevel;

/// Every level, lowest first.
pub const ALL: [PermissionLevel; 4] = [
    PermissionLevel::None,
    PermissionLevel::Read,
    PermissionLevel::Execute,
    PermissionLevel::Update,
];

/// The level's name as abaco writes it.
pub fn name(level: PermissionLevel) -> &'static str {
    match level {
        PermissionLevel::None => "NONE",
        PermissionLevel::Read => "READ",
        PermissionLevel::Execute => "EXECUTE",
        PermissionLevel::Update => "UPDATE",
    }
}

/// The level a name stands for, in any case.
pub fn parse(text: &str) -> Option<PermissionLevel> {
    ALL.into_iter()
        .find(|level| name(*level).eq_ignore_ascii_case(text.trim()))
}

/// The level a stored number stands for; unknown numbers are no permission at all.
pub fn of(value: i32) -> PermissionLevel {
    PermissionLevel::try_from(value).unwrap_or(PermissionLevel::None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_order_holds() {
        for level in ALL {
            assert_eq!(parse(name(level)), Some(level));
        }
        assert_eq!(parse("execute"), Some(PermissionLevel::Execute));
        assert_eq!(parse("WRITE"), None);
        assert!(PermissionLevel::Update > PermissionLevel::Execute);
        assert!(PermissionLevel::Execute > PermissionLevel::Read);
        assert_eq!(of(99), PermissionLevel::None);
    }
}
