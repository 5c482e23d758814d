//! What permissions and nonces are about: an actor, an alias as an object of its own, or an
//! actor config (permissions only).

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
    /// An actor config, by tenant and name.
    Config {
        /// The config's tenant.
        tenant: String,
        /// Its name.
        name: String,
        /// Which making of that name (see [`pb::ActorConfig::generation`]).
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

    /// The config `config` as a target.
    pub fn of_config(config: &pb::ActorConfig) -> Self {
        Self::Config {
            tenant: config.tenant.clone(),
            name: config.name.clone(),
            generation: config.generation.clone(),
        }
    }

    /// Key of the target's grants in the permissions table. Actor ids start with a digit, so
    /// the `@` of an alias's key and the `%` of a config's can never clash with one.
    pub fn permissions_key(&self) -> String {
        match self {
            Self::Actor(id) => id.clone(),
            Self::Alias {
                tenant,
                name,
                generation,
            } => format!("@{tenant}/{name}/{generation}"),
            Self::Config {
                tenant,
                name,
                generation,
            } => format!("%{tenant}/{name}/{generation}"),
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
            Self::Config { name, .. } => format!("config {name}"),
        }
    }
}
