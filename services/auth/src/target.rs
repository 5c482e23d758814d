//! What permissions and nonces are about: an actor, or an alias as an object of its own.

use abaco::pb;

/// The object of a permission or a nonce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// An actor, by id.
    Actor(String),
    /// An alias, by tenant and name.
    Alias {
        /// The alias's tenant.
        tenant: String,
        /// The alias.
        name: String,
        /// Which making of that name (see [`pb::Alias::generation`]).
        generation: String,
    },
}

impl Target {
    /// The alias `alias` as a target.
    pub fn of_alias(alias: &pb::Alias) -> Self {
        Self::Alias {
            tenant: alias.tenant.clone(),
            name: alias.alias.clone(),
            generation: alias.generation.clone(),
        }
    }

    /// Key of the target's grants in the permissions table. Actor ids start with a digit, so
    /// the `@` of an alias's key can never clash with one.
    pub fn permissions_key(&self) -> String {
        match self {
            Self::Actor(id) => id.clone(),
            Self::Alias {
                tenant,
                name,
                generation,
            } => format!("@{tenant}/{name}/{generation}"),
        }
    }

    /// Prefix of the target's nonces in the nonces table.
    pub fn nonce_prefix(&self) -> String {
        format!("{}/", self.permissions_key())
    }

    /// The target as an error message names it.
    pub fn describe(&self) -> String {
        match self {
            Self::Actor(id) => format!("actor {id}"),
            Self::Alias { name, .. } => format!("alias {name}"),
        }
    }
}
