//! Aliases: names for actor ids, unique within a tenant. Creating one needs UPDATE on the
//! actor; its creator owns it. Deleting an alias (or its actor) takes its permissions and
//! nonces with it, so a name created again never revives old credentials (as abaco's did).

use abaco::{
    AbacoError, Result,
    identity::Caller,
    ids,
    pb::{self, PermissionLevel},
    store::Table,
    time,
};
use abaco_auth::{Access, Target, aliases};

use super::{AccessService, refuse_nonce, require};

impl AccessService {
    pub(super) async fn list_aliases(&self, caller: &Caller) -> Result<pb::ListAliasesResponse> {
        refuse_nonce(caller)?;
        let all: Vec<pb::Alias> = self
            .access
            .records()
            .list(Table::Aliases, &format!("{}/", caller.tenant))
            .await?;
        let mut readable = Vec::with_capacity(all.len());
        for alias in all {
            if self.access.alias_level(caller, &alias).await? >= PermissionLevel::Read {
                readable.push(alias);
            }
        }
        Ok(pb::ListAliasesResponse {
            aliases: readable,
            ..Default::default()
        })
    }

    pub(super) async fn create_alias(
        &self,
        caller: &Caller,
        request: pb::PutAliasRequest,
    ) -> Result<pb::Alias> {
        refuse_nonce(caller)?;
        aliases::check_name(&request.alias)?;
        let actor = self.target_actor(caller, &request.actor_id).await?;
        let alias = pb::Alias {
            alias: request.alias,
            actor_id: actor.id,
            owner: caller.user.clone(),
            tenant: caller.tenant.clone(),
            create_time: time::now(),
            generation: ids::new_id(),
        };
        self.access
            .records()
            .insert(
                Table::Aliases,
                &aliases::key(&alias.tenant, &alias.alias),
                &alias,
            )
            .await
            .map_err(|error| match error {
                AbacoError::Conflict(_) => {
                    AbacoError::Conflict(format!("alias {} already exists", alias.alias))
                }
                other => other,
            })?;
        Ok(alias)
    }

    pub(super) async fn get_alias(&self, caller: &Caller, name: &str) -> Result<pb::Alias> {
        self.readable_alias(caller, name, PermissionLevel::Read)
            .await
    }

    pub(super) async fn update_alias(
        &self,
        caller: &Caller,
        request: pb::PutAliasRequest,
    ) -> Result<pb::Alias> {
        let alias = self
            .readable_alias(caller, &request.alias, PermissionLevel::Update)
            .await?;
        let actor = self.target_actor(caller, &request.actor_id).await?;
        self.access
            .records()
            .update(
                Table::Aliases,
                &aliases::key(&alias.tenant, &alias.alias),
                |stored: &mut pb::Alias| {
                    stored.actor_id.clone_from(&actor.id);
                    Ok(true)
                },
            )
            .await
    }

    pub(super) async fn delete_alias(&self, caller: &Caller, name: &str) -> Result<pb::Alias> {
        let alias = self
            .readable_alias(caller, name, PermissionLevel::Update)
            .await?;
        forget(&self.access, &alias).await?;
        Ok(alias)
    }

    /// The alias `name`, if the caller holds `need` on it.
    async fn readable_alias(
        &self,
        caller: &Caller,
        name: &str,
        need: PermissionLevel,
    ) -> Result<pb::Alias> {
        refuse_nonce(caller)?;
        let alias = self
            .access
            .alias(&caller.tenant, name)
            .await
            .map_err(|error| alias_not_found(error, name))?;
        require(
            self.access.alias_level(caller, &alias).await?,
            need,
            &format!("alias {name}"),
        )?;
        Ok(alias)
    }

    /// The actor an alias is to stand for: named by its id, and the caller holding UPDATE.
    async fn target_actor(&self, caller: &Caller, actor_id: &str) -> Result<pb::Actor> {
        if !ids::looks_like_id(actor_id) {
            return Err(AbacoError::invalid(
                "actorId must be an actor id (an alias cannot stand for another alias)",
            ));
        }
        Ok(self
            .access
            .actor(caller, actor_id, PermissionLevel::Update)
            .await?
            .actor)
    }
}

/// A missing alias said as one (the lookup says "actor", as actor routes need); other
/// failures as they are.
pub(super) fn alias_not_found(error: AbacoError, name: &str) -> AbacoError {
    match error {
        AbacoError::NotFound(_) => AbacoError::not_found("alias", name),
        other => other,
    }
}

/// Removes an alias with its permissions and nonces.
async fn forget(access: &Access, alias: &pb::Alias) -> Result<()> {
    let target = Target::of_alias(alias);
    let records = access.records();
    // The name goes first, so nothing can be granted on it meanwhile; what is kept under its
    // generation is then only cleaned up (a grant that raced in is unreachable anyway).
    records
        .delete(Table::Aliases, &aliases::key(&alias.tenant, &alias.alias))
        .await?;
    records
        .store()
        .delete_prefix(Table::Nonces, &target.nonce_prefix())
        .await?;
    records
        .delete(Table::Permissions, &target.permissions_key())
        .await?;
    Ok(())
}

/// Removes every alias that stands for `actor`, as the actor is deleted.
pub(crate) async fn forget_aliases_of(access: &Access, actor: &pb::Actor) -> Result<()> {
    let tenant = access.tenant_of(actor).to_owned();
    let all: Vec<pb::Alias> = access
        .records()
        .list(Table::Aliases, &format!("{tenant}/"))
        .await?;
    for alias in all.iter().filter(|alias| alias.actor_id == actor.id) {
        forget(access, alias).await?;
    }
    Ok(())
}
