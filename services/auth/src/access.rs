//! What a caller may do with an actor. Every service asks [`Access`] before it touches an
//! actor: identifiers (ids or aliases) are resolved within the caller's tenant, an actor of
//! another tenant is absent (404), and an actor the caller may not act on at the level needed
//! is refused (403). A caller with a nonce has it redeemed here, for the one actor it opens.

use std::collections::HashMap;

use abaco::{
    AbacoError, Result,
    identity::{Caller, Role, WORLD},
    ids,
    pb::{self, PermissionLevel},
    records::Records,
    store::Table,
};

use crate::{aliases, levels, nonces, policy::RolePolicy, target::Target, throttle::Throttle};

/// An actor a caller may act on, and who the call acts as (a nonce's owner for a call made
/// with a nonce).
#[derive(Debug, Clone)]
pub struct Granted {
    /// The actor.
    pub actor: pb::Actor,
    /// The caller the call acts as.
    pub caller: Caller,
}

/// Authorization over the platform's records.
#[derive(Debug, Clone)]
pub struct Access {
    records: Records,
    policy: RolePolicy,
    throttle: Option<Throttle>,
}

impl Access {
    /// Authorization over `records`, with roles from `policy`; a limited user's nonces are
    /// counted against their rate in `throttle`.
    pub fn new(records: Records, policy: RolePolicy, throttle: Option<Throttle>) -> Self {
        Self {
            records,
            policy,
            throttle,
        }
    }

    /// The records underneath.
    pub fn records(&self) -> &Records {
        &self.records
    }

    /// `user` of `tenant` as a caller with the role the settings give them: for acting on a
    /// user's behalf when they are not the one calling (an actor's owner, whose actor's events
    /// are sent to the actor it links to).
    pub fn on_behalf_of(&self, tenant: &str, user: &str) -> Caller {
        Caller::user(tenant, user, self.policy.role(tenant, user, &[]))
    }

    /// The tenant an actor belongs to (records from before tenants belong to the default one).
    pub fn tenant_of<'a>(&'a self, actor: &'a pb::Actor) -> &'a str {
        if actor.tenant.is_empty() {
            self.policy.default_tenant()
        } else {
            &actor.tenant
        }
    }

    /// The actor id `identifier` stands for in `tenant`: an id as it is, an alias looked up.
    /// Whether the actor exists is not checked.
    pub async fn resolve(&self, tenant: &str, identifier: &str) -> Result<String> {
        if ids::looks_like_id(identifier) {
            return Ok(identifier.to_owned());
        }
        Ok(self.alias(tenant, identifier).await?.actor_id)
    }

    /// The alias `name` of `tenant`, or `NotFound` naming it as an actor identifier.
    pub async fn alias(&self, tenant: &str, name: &str) -> Result<pb::Alias> {
        if !aliases::could_be(name) {
            return Err(AbacoError::not_found("actor", name));
        }
        self.records
            .get(Table::Aliases, &aliases::key(tenant, name))
            .await?
            .ok_or_else(|| AbacoError::not_found("actor", name))
    }

    /// The actor `identifier` names, if `caller` may act on it at `need`. A caller with a
    /// nonce has it redeemed, and the answer's caller is the nonce's owner.
    pub async fn actor(
        &self,
        caller: &Caller,
        identifier: &str,
        need: PermissionLevel,
    ) -> Result<Granted> {
        if let Some(nonce_id) = &caller.nonce {
            return self.by_nonce(caller, nonce_id, identifier, need).await;
        }
        let actor_id = self.resolve(&caller.tenant, identifier).await?;
        let actor = self.records.actor(&actor_id).await?;
        self.check(caller, &actor, need).await?;
        Ok(Granted {
            actor,
            caller: caller.clone(),
        })
    }

    /// Refuses `caller` unless it may act on `actor` at `need`: another tenant's actor is
    /// absent (404), too low a level is 403.
    pub async fn check(
        &self,
        caller: &Caller,
        actor: &pb::Actor,
        need: PermissionLevel,
    ) -> Result<()> {
        if self.tenant_of(actor) != caller.tenant {
            return Err(AbacoError::not_found("actor", &actor.id));
        }
        if caller.via_nonce() {
            return Err(AbacoError::Forbidden(
                "a nonce only opens the routes of its own actor".into(),
            ));
        }
        let level = self.level(caller, actor).await?;
        if level < need {
            return Err(AbacoError::Forbidden(format!(
                "not authorized: you need {} access to actor {} and have {}",
                levels::name(need),
                actor.id,
                levels::name(level)
            )));
        }
        Ok(())
    }

    /// The level `caller` holds on `actor`: UPDATE for its owner and the tenant's admins, else
    /// the higher of the caller's own grant and everyone's (`ABACO_WORLD`).
    pub async fn level(&self, caller: &Caller, actor: &pb::Actor) -> Result<PermissionLevel> {
        if self.tenant_of(actor) != caller.tenant {
            return Ok(PermissionLevel::None);
        }
        if actor.owner == caller.user || caller.is_admin() {
            return Ok(PermissionLevel::Update);
        }
        let grants = self.grants(&Target::Actor(actor.id.clone())).await?;
        Ok(level_in(&grants, &caller.user))
    }

    /// The grants of `target` beyond its owner's.
    pub async fn grants(&self, target: &Target) -> Result<pb::PermissionSet> {
        Ok(self
            .records
            .get(Table::Permissions, &target.permissions_key())
            .await?
            .unwrap_or_default())
    }

    /// Every actor of the caller's tenant it may read: all of them for an admin.
    pub async fn readable_actors(&self, caller: &Caller) -> Result<Vec<pb::Actor>> {
        if caller.via_nonce() {
            return Err(AbacoError::Forbidden(
                "a nonce only opens the routes of its own actor".into(),
            ));
        }
        let actors: Vec<pb::Actor> = self.records.list(Table::Actors, "").await?;
        let mine = actors
            .into_iter()
            .filter(|actor| self.tenant_of(actor) == caller.tenant);
        if caller.is_admin() {
            return Ok(mine.collect());
        }
        // One scan of every grant rather than a read per actor.
        let grants: HashMap<String, pb::PermissionSet> = self
            .records
            .store()
            .scan(Table::Permissions, "")
            .await?
            .into_iter()
            .filter_map(|(key, found)| {
                prost::Message::decode(found.value.as_ref())
                    .ok()
                    .map(|set| (key, set))
            })
            .collect();
        Ok(mine
            .filter(|actor| {
                actor.owner == caller.user
                    || grants
                        .get(&actor.id)
                        .is_some_and(|set| level_in(set, &caller.user) >= PermissionLevel::Read)
            })
            .collect())
    }

    /// The level `caller` holds on an alias: UPDATE for its owner and the tenant's admins, else
    /// its grants.
    pub async fn alias_level(&self, caller: &Caller, alias: &pb::Alias) -> Result<PermissionLevel> {
        if alias.tenant != caller.tenant {
            return Ok(PermissionLevel::None);
        }
        if alias.owner == caller.user || caller.is_admin() {
            return Ok(PermissionLevel::Update);
        }
        let grants = self.grants(&Target::of_alias(alias)).await?;
        Ok(level_in(&grants, &caller.user))
    }

    /// The level `caller` holds on an actor config: UPDATE for its owner and the tenant's
    /// admins, else its grants (the higher of the caller's and everyone's).
    pub async fn config_level(
        &self,
        caller: &Caller,
        config: &pb::ActorConfig,
    ) -> Result<PermissionLevel> {
        if config.tenant != caller.tenant || caller.via_nonce() {
            return Ok(PermissionLevel::None);
        }
        if config.owner == caller.user || caller.is_admin() {
            return Ok(PermissionLevel::Update);
        }
        let grants = self.grants(&Target::of_config(config)).await?;
        Ok(level_in(&grants, &caller.user))
    }

    /// Redeems the caller's nonce for `identifier` and answers as its owner. A nonce made on
    /// an actor opens it by id only; one made on an alias, by that alias only (as in abaco).
    async fn by_nonce(
        &self,
        caller: &Caller,
        nonce_id: &str,
        identifier: &str,
        need: PermissionLevel,
    ) -> Result<Granted> {
        let target = if ids::looks_like_id(identifier) {
            Target::Actor(identifier.to_owned())
        } else {
            Target::of_alias(&self.alias(&caller.tenant, identifier).await?)
        };
        let nonce = self
            .records
            .get::<pb::Nonce>(Table::Nonces, &nonces::key(&target, nonce_id))
            .await?
            .ok_or_else(|| {
                AbacoError::Unauthenticated(format!(
                    "x-nonce is not a valid nonce of {}",
                    target.describe()
                ))
            })?;
        let actor_id = self.resolve(&nonce.tenant, identifier).await?;
        let actor = self.records.actor(&actor_id).await?;
        // The owner's own standing is checked too: a nonce never opens more than its owner
        // may still do (abaco lets a nonce outlive its owner's access).
        let owner = Caller::user(
            nonce.tenant.clone(),
            nonce.owner.clone(),
            self.policy.role(&nonce.tenant, &nonce.owner, &[]),
        );
        // A limited user's nonce is as limited as its owner.
        if let (Role::Limited, Some(throttle)) = (owner.role, &self.throttle) {
            throttle.check(&owner.tenant, &owner.user)?;
        }
        if self.level(&owner, &actor).await? < need {
            return Err(AbacoError::Forbidden(format!(
                "the nonce's owner no longer has {} access to actor {}",
                levels::name(need),
                actor.id
            )));
        }
        nonces::redeem(&self.records, &target, nonce_id, need).await?;
        Ok(Granted {
            actor,
            caller: Caller {
                tenant: nonce.tenant,
                user: nonce.owner,
                // What a nonce opens is bounded by its level: no role powers come with it.
                role: Role::Regular,
                nonce: Some(nonce_id.to_owned()),
            },
        })
    }
}

/// The level `user` holds in `grants`: its own, or everyone's if that is higher.
pub fn level_in(grants: &pb::PermissionSet, user: &str) -> PermissionLevel {
    let of = |name: &str| {
        grants
            .grants
            .get(name)
            .map_or(PermissionLevel::None, |level| levels::of(*level))
    };
    of(user).max(of(WORLD))
}
