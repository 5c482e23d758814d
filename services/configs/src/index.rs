//! The index of each actor's configs, kept beside the configs so that a run finds its
//! configs with one read (none, for most actors) instead of a scan of every config.

use abaco::{AbacoError, Result, pb, records::Records, store::Table};

/// Moves the config stored under `record_key` from the index of the actors in `before` to
/// that of the actors in `after`.
pub async fn reindex(
    records: &Records,
    record_key: &str,
    before: &[String],
    after: &[String],
) -> Result<()> {
    for actor_id in before.iter().filter(|id| !after.contains(id)) {
        let removed = records
            .update(
                Table::ConfigIndex,
                actor_id,
                |index: &mut pb::ConfigNames| {
                    let had = index.names.len();
                    index.names.retain(|name| name != record_key);
                    Ok(index.names.len() != had)
                },
            )
            .await;
        match removed {
            Ok(_) | Err(AbacoError::NotFound(_)) => {}
            Err(error) => return Err(error),
        }
    }
    for actor_id in after {
        records
            .upsert(
                Table::ConfigIndex,
                actor_id,
                |index: &mut pb::ConfigNames| {
                    if index.names.iter().any(|name| name == record_key) {
                        return Ok(false);
                    }
                    index.names.push(record_key.to_owned());
                    Ok(true)
                },
            )
            .await?;
    }
    Ok(())
}
