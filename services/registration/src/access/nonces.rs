//! Nonces of an actor or an alias. Creating or deleting one needs UPDATE on it (and, for an
//! alias, on its actor). A nonce is a credential, so only those who hold UPDATE see all of
//! them; anyone else with READ sees only the ones they made themselves, while they held UPDATE
//! (abaco showed every nonce, UPDATE ones included, to anyone who could read the actor).

use abaco::{
    AbacoError, Result,
    identity::Caller,
    pb::{self, PermissionLevel},
    store::Table,
    time,
};
use abaco_auth::{Target, levels, nonces};

use super::{AccessService, Resolved};

impl AccessService {
    pub(super) async fn list_nonces(
        &self,
        caller: &Caller,
        target: pb::AccessTarget,
    ) -> Result<pb::ListNoncesResponse> {
        let resolved = self
            .target(caller, Some(&target), PermissionLevel::Read, true)
            .await?;
        let all: Vec<pb::Nonce> = self
            .access
            .records()
            .list(Table::Nonces, &resolved.target.nonce_prefix())
            .await?;
        Ok(pb::ListNoncesResponse {
            nonces: all
                .into_iter()
                .filter(|nonce| visible(caller, &resolved, nonce))
                .collect(),
        })
    }

    pub(super) async fn create_nonce(
        &self,
        caller: &Caller,
        request: pb::CreateNonceRequest,
    ) -> Result<pb::Nonce> {
        let resolved = self
            .target(
                caller,
                request.target.as_ref(),
                PermissionLevel::Update,
                true,
            )
            .await?;
        let level = match request.level {
            None => PermissionLevel::Execute,
            Some(value) => PermissionLevel::try_from(value)
                .map_err(|_| AbacoError::invalid("level must be READ, EXECUTE or UPDATE"))?,
        };
        let highest = match resolved.target {
            Target::Actor(_) => PermissionLevel::Update,
            // As in abaco: what an alias opens is at most EXECUTE.
            Target::Alias { .. } => PermissionLevel::Execute,
            Target::Config { .. } => {
                return Err(AbacoError::invalid("an actor config has no nonces"));
            }
        };
        if level == PermissionLevel::None || level > highest {
            return Err(AbacoError::invalid(format!(
                "level must be READ, EXECUTE{} for a nonce of {}",
                if highest == PermissionLevel::Update {
                    " or UPDATE"
                } else {
                    ""
                },
                resolved.target.describe()
            )));
        }
        let max_uses = request.max_uses.unwrap_or(-1);
        if max_uses == 0 || max_uses < -1 {
            return Err(AbacoError::invalid(
                "maxUses must be a positive integer, or -1 for unlimited uses",
            ));
        }
        if request.description.len() > 4096 {
            return Err(AbacoError::invalid(
                "description must be at most 4096 characters",
            ));
        }
        let (actor_id, alias) = match &resolved.target {
            Target::Actor(id) => (id.clone(), String::new()),
            Target::Alias { name, .. } => (String::new(), name.clone()),
            Target::Config { .. } => {
                return Err(AbacoError::invalid("an actor config has no nonces"));
            }
        };
        let nonce = pb::Nonce {
            id: nonces::new_id(&caller.tenant),
            actor_id,
            alias,
            owner: caller.user.clone(),
            tenant: caller.tenant.clone(),
            level: level.into(),
            max_uses,
            remaining_uses: max_uses,
            current_uses: 0,
            description: request.description,
            create_time: time::now(),
            last_use_time: String::new(),
        };
        self.access
            .records()
            .insert(
                Table::Nonces,
                &nonces::key(&resolved.target, &nonce.id),
                &nonce,
            )
            .await?;
        tracing::info!(
            target = %resolved.target.describe(),
            level = levels::name(level),
            "nonce created"
        );
        Ok(nonce)
    }

    pub(super) async fn get_nonce(
        &self,
        caller: &Caller,
        request: pb::NonceRef,
    ) -> Result<pb::Nonce> {
        let resolved = self
            .target(caller, request.target.as_ref(), PermissionLevel::Read, true)
            .await?;
        self.stored(&resolved, &request.nonce_id)
            .await?
            .filter(|nonce| visible(caller, &resolved, nonce))
            .ok_or_else(|| AbacoError::not_found("nonce", &request.nonce_id))
    }

    pub(super) async fn delete_nonce(
        &self,
        caller: &Caller,
        request: pb::NonceRef,
    ) -> Result<pb::Nonce> {
        let resolved = self
            .target(
                caller,
                request.target.as_ref(),
                PermissionLevel::Update,
                true,
            )
            .await?;
        let nonce = self
            .stored(&resolved, &request.nonce_id)
            .await?
            .ok_or_else(|| AbacoError::not_found("nonce", &request.nonce_id))?;
        self.access
            .records()
            .delete(Table::Nonces, &nonces::key(&resolved.target, &nonce.id))
            .await?;
        Ok(nonce)
    }

    async fn stored(&self, resolved: &Resolved, nonce_id: &str) -> Result<Option<pb::Nonce>> {
        if nonces::tenant_of(nonce_id).is_none() {
            return Ok(None);
        }
        self.access
            .records()
            .get(Table::Nonces, &nonces::key(&resolved.target, nonce_id))
            .await
    }
}

/// Whether `caller` may see `nonce`: its maker, or anyone holding UPDATE on its target.
fn visible(caller: &Caller, resolved: &Resolved, nonce: &pb::Nonce) -> bool {
    resolved.held >= PermissionLevel::Update || nonce.owner == caller.user
}
