//! Permissions of an actor or an alias: the owner's UPDATE plus the grants. Setting a user to
//! NONE takes the grant away (abaco kept a NONE entry that still showed and could shadow
//! `ABACO_WORLD`); the owner's UPDATE cannot be changed, so nobody can lock an owner out.

use abaco::{
    AbacoError, Result,
    identity::{Caller, WORLD, is_valid_user},
    pb::{self, PermissionLevel},
    store::Table,
};
use abaco_auth::Target;

use super::{AccessService, Resolved};

impl AccessService {
    pub(super) async fn permissions(
        &self,
        caller: &Caller,
        target: pb::AccessTarget,
    ) -> Result<pb::Permissions> {
        let resolved = self
            .target(caller, Some(&target), PermissionLevel::Read, false)
            .await?;
        let grants = self.access.grants(&resolved.target).await?;
        Ok(shown(target, &resolved, grants))
    }

    pub(super) async fn set_permission(
        &self,
        caller: &Caller,
        request: pb::SetPermissionRequest,
    ) -> Result<pb::Permissions> {
        let target = request.target.unwrap_or_default();
        let resolved = self
            .target(caller, Some(&target), PermissionLevel::Update, false)
            .await?;
        let user = request.user.trim();
        if user != WORLD && !is_valid_user(user) {
            return Err(AbacoError::invalid(
                "user must be a user name (1-64 of A-Za-z0-9_.@-) or ABACO_WORLD",
            ));
        }
        if user == resolved.owner {
            return Err(AbacoError::invalid(format!(
                "{user} owns {} and always holds UPDATE",
                resolved.target.describe()
            )));
        }
        let level = PermissionLevel::try_from(request.level)
            .map_err(|_| AbacoError::invalid("level must be NONE, READ, EXECUTE or UPDATE"))?;
        let grants = self
            .access
            .records()
            .upsert(
                Table::Permissions,
                &resolved.target.permissions_key(),
                |set: &mut pb::PermissionSet| {
                    if level == PermissionLevel::None {
                        return Ok(set.grants.remove(user).is_some());
                    }
                    Ok(set.grants.insert(user.to_owned(), level.into()) != Some(level.into()))
                },
            )
            .await?;
        Ok(shown(target, &resolved, grants))
    }
}

/// The grants as shown: every grant, and the owner at UPDATE.
fn shown(
    target: pb::AccessTarget,
    resolved: &Resolved,
    grants: pb::PermissionSet,
) -> pb::Permissions {
    let mut permissions = grants.grants;
    permissions.insert(resolved.owner.clone(), PermissionLevel::Update.into());
    let target = match &resolved.target {
        // An alias in an actor route is shown as the actor it stands for.
        Target::Actor(id) => pb::AccessTarget {
            target: Some(pb::access_target::Target::ActorId(id.clone())),
        },
        Target::Alias { .. } | Target::Config { .. } => target,
    };
    pb::Permissions {
        target: Some(target),
        permissions,
    }
}
