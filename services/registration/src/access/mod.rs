//! The `abaco.v1.Access` gRPC service: sharing actors. Permissions (who may read, execute or
//! update an actor or an alias), aliases (names for actor ids), and nonces (capability tokens
//! for outside systems). A caller who came with a nonce may use none of it.

mod aliases;
mod nonces;
mod permissions;

use abaco::paging;
use abaco::{
    AbacoError, Result,
    identity::Caller,
    pb::{self, PermissionLevel, access_server},
};
use abaco_auth::{
    Access, Authenticator, Target,
    grpc::{Authenticated, serve},
    levels,
};
use tonic::{Request, Response, Status};

pub(crate) use aliases::forget_aliases_of;

/// Serves permissions, aliases and nonces.
#[derive(Debug, Clone)]
pub struct AccessService {
    access: Access,
}

impl AccessService {
    /// The service over `access`.
    pub fn new(access: Access) -> Self {
        Self { access }
    }

    /// The gRPC server for this service, behind `auth`.
    pub fn into_server(
        self,
        auth: Authenticator,
    ) -> Authenticated<access_server::AccessServer<Self>> {
        Authenticated::new(access_server::AccessServer::new(self), auth)
    }

    /// The object `target` names, once the caller is known to hold `need` on it: an actor (by
    /// id or alias) or an alias itself. For an alias's nonces abaco also asks the same level
    /// on the actor behind it (`with_actor`).
    async fn target(
        &self,
        caller: &Caller,
        target: Option<&pb::AccessTarget>,
        need: PermissionLevel,
        with_actor: bool,
    ) -> Result<Resolved> {
        refuse_nonce(caller)?;
        match target.and_then(|t| t.target.as_ref()) {
            Some(pb::access_target::Target::ActorId(identifier)) => {
                let actor = self.access.actor(caller, identifier, need).await?.actor;
                Ok(Resolved {
                    target: Target::Actor(actor.id.clone()),
                    owner: actor.owner.clone(),
                    held: self.access.level(caller, &actor).await?,
                })
            }
            Some(pb::access_target::Target::Alias(name)) => {
                let alias = self
                    .access
                    .alias(&caller.tenant, name)
                    .await
                    .map_err(|error| aliases::alias_not_found(error, name))?;
                let held = self.access.alias_level(caller, &alias).await?;
                require(held, need, &format!("alias {name}"))?;
                if with_actor {
                    self.access.actor(caller, &alias.actor_id, need).await?;
                }
                Ok(Resolved {
                    target: Target::of_alias(&alias),
                    owner: alias.owner,
                    held,
                })
            }
            Some(pb::access_target::Target::Config(name)) => {
                if with_actor {
                    return Err(AbacoError::invalid("an actor config has no nonces"));
                }
                let config =
                    crate::configs::load(self.access.records(), &caller.tenant, name).await?;
                let held = self.access.config_level(caller, &config).await?;
                require(held, need, &format!("config {name}"))?;
                Ok(Resolved {
                    target: Target::of_config(&config),
                    owner: config.owner,
                    held,
                })
            }
            None => Err(AbacoError::invalid(
                "name an actor id, an alias or a config",
            )),
        }
    }
}

/// What a call is about, once resolved and allowed.
#[derive(Debug, Clone)]
struct Resolved {
    target: Target,
    /// The owner of the actor or alias, who always holds UPDATE.
    owner: String,
    /// The level the caller holds on it.
    held: PermissionLevel,
}

/// Sharing is for users, never for a nonce's bearer.
fn refuse_nonce(caller: &Caller) -> Result<()> {
    if caller.via_nonce() {
        return Err(AbacoError::Forbidden(
            "a nonce cannot be used to manage permissions, aliases or nonces".into(),
        ));
    }
    Ok(())
}

/// Refuses a level below `need`, naming what it was needed on.
pub(crate) fn require(held: PermissionLevel, need: PermissionLevel, on: &str) -> Result<()> {
    if held < need {
        return Err(AbacoError::Forbidden(format!(
            "not authorized: you need {} access to {on} and have {}",
            levels::name(need),
            levels::name(held)
        )));
    }
    Ok(())
}

#[tonic::async_trait]
impl access_server::Access for AccessService {
    async fn get_permissions(
        &self,
        request: Request<pb::AccessTarget>,
    ) -> Result<Response<pb::Permissions>, Status> {
        serve(request, async |caller, target| {
            self.permissions(&caller, target).await
        })
        .await
    }

    async fn set_permission(
        &self,
        request: Request<pb::SetPermissionRequest>,
    ) -> Result<Response<pb::Permissions>, Status> {
        serve(request, async |caller, r| {
            self.set_permission(&caller, r).await
        })
        .await
    }

    async fn list_aliases(
        &self,
        request: Request<pb::ListAliasesRequest>,
    ) -> Result<Response<pb::ListAliasesResponse>, Status> {
        serve(request, async |caller, r| {
            let all = self.list_aliases(&caller).await?;
            let page = paging::cut(all.aliases, |a| a.alias.clone(), r.page.as_ref())?;
            Ok(pb::ListAliasesResponse {
                aliases: page.items,
                next_cursor: page.next_cursor,
            })
        })
        .await
    }

    async fn create_alias(
        &self,
        request: Request<pb::PutAliasRequest>,
    ) -> Result<Response<pb::Alias>, Status> {
        serve(request, async |caller, r| {
            self.create_alias(&caller, r).await
        })
        .await
    }

    async fn get_alias(
        &self,
        request: Request<pb::AliasRef>,
    ) -> Result<Response<pb::Alias>, Status> {
        serve(request, async |caller, r| {
            self.get_alias(&caller, &r.alias).await
        })
        .await
    }

    async fn update_alias(
        &self,
        request: Request<pb::PutAliasRequest>,
    ) -> Result<Response<pb::Alias>, Status> {
        serve(request, async |caller, r| {
            self.update_alias(&caller, r).await
        })
        .await
    }

    async fn delete_alias(
        &self,
        request: Request<pb::AliasRef>,
    ) -> Result<Response<pb::Alias>, Status> {
        serve(request, async |caller, r| {
            self.delete_alias(&caller, &r.alias).await
        })
        .await
    }

    async fn list_nonces(
        &self,
        request: Request<pb::AccessTarget>,
    ) -> Result<Response<pb::ListNoncesResponse>, Status> {
        serve(request, async |caller, target| {
            self.list_nonces(&caller, target).await
        })
        .await
    }

    async fn create_nonce(
        &self,
        request: Request<pb::CreateNonceRequest>,
    ) -> Result<Response<pb::Nonce>, Status> {
        serve(request, async |caller, r| {
            self.create_nonce(&caller, r).await
        })
        .await
    }

    async fn get_nonce(
        &self,
        request: Request<pb::NonceRef>,
    ) -> Result<Response<pb::Nonce>, Status> {
        serve(request, async |caller, r| self.get_nonce(&caller, r).await).await
    }

    async fn delete_nonce(
        &self,
        request: Request<pb::NonceRef>,
    ) -> Result<Response<pb::Nonce>, Status> {
        serve(request, async |caller, r| {
            self.delete_nonce(&caller, r).await
        })
        .await
    }
}
