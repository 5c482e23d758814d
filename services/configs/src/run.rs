//! The configs of one run.

use std::collections::BTreeMap;

use abaco::{Result, pb, records::Records, store::Table};

use crate::ConfigKey;

/// The configs that apply to `actor_id`, by name, secrets opened with `key`. A secret that
/// does not open (no key, or another one) is left out, with a warning.
pub async fn configs_of(
    records: &Records,
    key: Option<&ConfigKey>,
    actor_id: &str,
) -> Result<BTreeMap<String, String>> {
    let mut configs = BTreeMap::new();
    let Some(index) = records
        .get::<pb::ConfigNames>(Table::ConfigIndex, actor_id)
        .await?
    else {
        return Ok(configs);
    };
    for record_key in index.names {
        let Some(config) = records
            .get::<pb::ActorConfig>(Table::Configs, &record_key)
            .await?
        else {
            continue;
        };
        // The index may lag a config that no longer names this actor.
        if !config.actor_ids.iter().any(|id| id == actor_id) {
            continue;
        }
        let value = if config.is_secret {
            match key.map(|key| key.open(&config.value, &record_key)) {
                Some(Ok(plain)) => plain,
                Some(Err(error)) => {
                    tracing::warn!(actor = actor_id, config = %config.name, %error, "secret config left out of the run");
                    continue;
                }
                None => {
                    tracing::warn!(actor = actor_id, config = %config.name, "secret config left out of the run: no configs_key here");
                    continue;
                }
            }
        } else {
            config.value
        };
        configs.insert(config.name, value);
    }
    Ok(configs)
}
