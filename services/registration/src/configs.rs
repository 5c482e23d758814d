//! The `abaco.v1.Configs` gRPC service: actor configs. Where abaco lists every config of the
//! tenant, lets anyone name any actor, and shows secrets as ciphertext, here a caller sees
//! only the configs they may read, names only actors they may update, and never sees a
//! secret value again (answers carry a mask).

use std::sync::Arc;

use abaco::paging;
use abaco::{
    AbacoError, Result,
    identity::Caller,
    ids,
    pb::{self, PermissionLevel, configs_server},
    records::Records,
    store::Table,
    time,
};
use abaco_auth::{
    Access, Authenticator, Target,
    grpc::{Authenticated, serve},
};
use abaco_configs::{ConfigKey, MASK, MAX_VALUE_BYTES, check_name, record_key, reindex};
use tonic::{Request, Response, Status};

use crate::access::require;

/// Serves actor configs.
#[derive(Debug, Clone)]
pub struct ConfigsService {
    access: Access,
    key: Option<Arc<ConfigKey>>,
}

/// The config `name` of `tenant`, or `NotFound` naming it.
pub(crate) async fn load(records: &Records, tenant: &str, name: &str) -> Result<pb::ActorConfig> {
    records
        .get(Table::Configs, &record_key(tenant, name))
        .await?
        .ok_or_else(|| AbacoError::not_found("config", name))
}

impl ConfigsService {
    /// The service over `access`; secret values are sealed with `key` (without one, secret
    /// configs are refused).
    pub fn new(access: Access, key: Option<ConfigKey>) -> Self {
        Self {
            access,
            key: key.map(Arc::new),
        }
    }

    /// The gRPC server for this service, behind `auth`.
    pub fn into_server(
        self,
        auth: Authenticator,
    ) -> Authenticated<configs_server::ConfigsServer<Self>> {
        Authenticated::new(configs_server::ConfigsServer::new(self), auth)
    }

    fn records(&self) -> &Records {
        self.access.records()
    }

    /// The config `name`, once `caller` is known to hold `need` on it.
    async fn config(
        &self,
        caller: &Caller,
        name: &str,
        need: PermissionLevel,
    ) -> Result<pb::ActorConfig> {
        refuse_nonce(caller)?;
        let config = load(self.records(), &caller.tenant, name).await?;
        let held = self.access.config_level(caller, &config).await?;
        require(held, need, &format!("config {name}"))?;
        Ok(config)
    }

    async fn list(&self, caller: &Caller) -> Result<pb::ListConfigsResponse> {
        refuse_nonce(caller)?;
        let all: Vec<pb::ActorConfig> = self
            .records()
            .list(Table::Configs, &format!("{}/", caller.tenant))
            .await?;
        let mut configs = Vec::new();
        for config in all {
            if self.access.config_level(caller, &config).await? >= PermissionLevel::Read {
                configs.push(shown(config));
            }
        }
        Ok(pb::ListConfigsResponse {
            configs,
            ..Default::default()
        })
    }

    async fn create(
        &self,
        caller: &Caller,
        request: pb::PutConfigRequest,
    ) -> Result<pb::ActorConfig> {
        refuse_nonce(caller)?;
        check_name(&request.name).map_err(AbacoError::Invalid)?;
        let actor_ids = self.actors(caller, &request.actors).await?;
        let key = record_key(&caller.tenant, &request.name);
        let now = time::now();
        let config = pb::ActorConfig {
            tenant: caller.tenant.clone(),
            name: request.name.clone(),
            value: self.stored_value(&request, &key)?,
            is_secret: request.is_secret,
            actors: request.actors.clone(),
            actor_ids,
            owner: caller.user.clone(),
            create_time: now.clone(),
            last_update_time: now,
            generation: ids::new_id(),
        };
        self.records()
            .insert(Table::Configs, &key, &config)
            .await
            .map_err(|error| match error {
                AbacoError::Conflict(_) => AbacoError::Conflict(format!(
                    "Config {} already exists; please choose another name for your config",
                    request.name
                )),
                other => other,
            })?;
        reindex(self.records(), &key, &[], &config.actor_ids).await?;
        Ok(shown(config))
    }

    async fn update(
        &self,
        caller: &Caller,
        request: pb::PutConfigRequest,
    ) -> Result<pb::ActorConfig> {
        let current = self
            .config(caller, &request.name, PermissionLevel::Update)
            .await?;
        let actor_ids = self.actors(caller, &request.actors).await?;
        let key = record_key(&caller.tenant, &request.name);
        let value = self.stored_value(&request, &key)?;
        let updated = self
            .records()
            .update(Table::Configs, &key, |config: &mut pb::ActorConfig| {
                if config.generation != current.generation {
                    return Err(AbacoError::Conflict(format!(
                        "config {} was deleted and made again meanwhile",
                        request.name
                    )));
                }
                config.value.clone_from(&value);
                config.is_secret = request.is_secret;
                config.actors.clone_from(&request.actors);
                config.actor_ids.clone_from(&actor_ids);
                config.last_update_time = time::now();
                Ok(true)
            })
            .await?;
        reindex(self.records(), &key, &current.actor_ids, &updated.actor_ids).await?;
        Ok(shown(updated))
    }

    async fn delete(&self, caller: &Caller, name: &str) -> Result<pb::ActorConfig> {
        let config = self.config(caller, name, PermissionLevel::Update).await?;
        let key = record_key(&caller.tenant, name);
        reindex(self.records(), &key, &config.actor_ids, &[]).await?;
        self.records().delete(Table::Configs, &key).await?;
        self.records()
            .delete(
                Table::Permissions,
                &Target::of_config(&config).permissions_key(),
            )
            .await?;
        Ok(shown(config))
    }

    /// The ids of the actors `list` names (ids or aliases, comma-separated), each one the
    /// caller may update: a config changes what its runs get.
    async fn actors(&self, caller: &Caller, list: &str) -> Result<Vec<String>> {
        let mut ids: Vec<String> = Vec::new();
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let actor = self
                .access
                .actor(caller, name, PermissionLevel::Update)
                .await
                .map_err(|error| match error {
                    AbacoError::NotFound(_) => {
                        AbacoError::NotFound(format!("No actor or alias found with id: {name}."))
                    }
                    other => other,
                })?
                .actor;
            if !ids.contains(&actor.id) {
                ids.push(actor.id);
            }
        }
        Ok(ids)
    }

    /// The value as stored: sealed when secret.
    fn stored_value(&self, request: &pb::PutConfigRequest, key: &str) -> Result<String> {
        if request.value.len() > MAX_VALUE_BYTES {
            return Err(AbacoError::invalid(format!(
                "value must be at most {MAX_VALUE_BYTES} bytes (every config of an actor travels in one environment variable)"
            )));
        }
        if !request.is_secret {
            return Ok(request.value.clone());
        }
        let sealer = self.key.as_ref().ok_or_else(|| {
            AbacoError::invalid(
                "isSecret: secret configs need the configs_key setting, which this platform lacks",
            )
        })?;
        Ok(sealer.seal(&request.value, key))
    }
}

/// A config as answers show it: a secret's value masked.
fn shown(mut config: pb::ActorConfig) -> pb::ActorConfig {
    if config.is_secret {
        config.value = MASK.to_owned();
    }
    config
}

fn refuse_nonce(caller: &Caller) -> Result<()> {
    if caller.via_nonce() {
        return Err(AbacoError::Forbidden(
            "a nonce cannot be used to manage actor configs".into(),
        ));
    }
    Ok(())
}

#[tonic::async_trait]
impl configs_server::Configs for ConfigsService {
    async fn list_configs(
        &self,
        request: Request<pb::ListConfigsRequest>,
    ) -> Result<Response<pb::ListConfigsResponse>, Status> {
        serve(request, async |caller, r| {
            let all = self.list(&caller).await?;
            let page = paging::cut(all.configs, |c| c.name.clone(), r.page.as_ref())?;
            Ok(pb::ListConfigsResponse {
                configs: page.items,
                next_cursor: page.next_cursor,
            })
        })
        .await
    }

    async fn create_config(
        &self,
        request: Request<pb::PutConfigRequest>,
    ) -> Result<Response<pb::ActorConfig>, Status> {
        serve(request, async |caller, r| self.create(&caller, r).await).await
    }

    async fn get_config(
        &self,
        request: Request<pb::ConfigRef>,
    ) -> Result<Response<pb::ActorConfig>, Status> {
        serve(request, async |caller, r| {
            self.config(&caller, &r.name, PermissionLevel::Read)
                .await
                .map(shown)
        })
        .await
    }

    async fn update_config(
        &self,
        request: Request<pb::PutConfigRequest>,
    ) -> Result<Response<pb::ActorConfig>, Status> {
        serve(request, async |caller, r| self.update(&caller, r).await).await
    }

    async fn delete_config(
        &self,
        request: Request<pb::ConfigRef>,
    ) -> Result<Response<pb::ActorConfig>, Status> {
        serve(request, async |caller, r| {
            self.delete(&caller, &r.name).await
        })
        .await
    }
}
