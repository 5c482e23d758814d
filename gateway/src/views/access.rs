//! Permissions, aliases and nonces as abaco shows them.

use abaco::pb;
use abaco_auth::levels;
use serde_json::{Map, Value};

use super::{View, links, time};

impl View {
    /// Permissions: user name (as written, never case-converted) -> level name.
    pub(crate) fn permissions(&self, p: &pb::Permissions) -> Value {
        let map: Map<String, Value> = p
            .permissions
            .iter()
            .map(|(user, level)| {
                (
                    user.clone(),
                    Value::String(levels::name(levels::of(*level)).to_owned()),
                )
            })
            .collect();
        Value::Object(map)
    }

    fn alias_url(&self, alias: &str) -> String {
        format!("{}/actors/aliases/{alias}", self.base)
    }

    /// An alias with its `_links`.
    pub(crate) fn alias(&self, a: &pb::Alias) -> Value {
        self.obj()
            .put("alias", a.alias.as_str())
            .put("actorId", a.actor_id.as_str())
            .put("owner", a.owner.as_str())
            .put("createTime", time(&a.create_time))
            .put(
                "_links",
                links([
                    ("actor", self.actor_url(&a.actor_id)),
                    ("owner", self.caller.profile_link(&a.owner)),
                    ("self", self.alias_url(&a.alias)),
                ]),
            )
            .done()
    }

    pub(crate) fn aliases(&self, aliases: &[pb::Alias]) -> Value {
        Value::Array(aliases.iter().map(|a| self.alias(a)).collect())
    }

    /// A nonce with its `_links`. It names its actor, or its alias; the other is null.
    pub(crate) fn nonce(&self, n: &pb::Nonce) -> Value {
        let or_null = |text: &str| {
            if text.is_empty() {
                Value::Null
            } else {
                Value::String(text.to_owned())
            }
        };
        let owner_url = self.caller.profile_link(&n.owner);
        let nonce_links = if n.alias.is_empty() {
            let actor = self.actor_url(&n.actor_id);
            links([
                ("actor", actor.clone()),
                ("owner", owner_url),
                ("self", format!("{actor}/nonces/{}", n.id)),
            ])
        } else {
            let alias = self.alias_url(&n.alias);
            links([
                ("alias", alias.clone()),
                ("owner", owner_url),
                ("self", format!("{alias}/nonces/{}", n.id)),
            ])
        };
        self.obj()
            .put("id", n.id.as_str())
            .put("actorId", or_null(&n.actor_id))
            .put("alias", or_null(&n.alias))
            .put("owner", n.owner.as_str())
            .put("level", levels::name(levels::of(n.level)))
            .put("maxUses", n.max_uses)
            .put("remainingUses", n.remaining_uses)
            .put("currentUses", n.current_uses)
            .put("description", n.description.as_str())
            .put("createTime", time(&n.create_time))
            .put("lastUseTime", time(&n.last_use_time))
            .put("_links", nonce_links)
            .done()
    }

    /// An actor config with its `_links`; a secret's value is the service's mask.
    pub(crate) fn config(&self, c: &pb::ActorConfig) -> Value {
        self.obj()
            .put("name", c.name.as_str())
            .put("value", c.value.as_str())
            .put("isSecret", c.is_secret)
            .put("actors", c.actors.as_str())
            .put("owner", c.owner.as_str())
            .put("createTime", time(&c.create_time))
            .put("lastUpdateTime", time(&c.last_update_time))
            .put(
                "_links",
                links([
                    ("owner", self.caller.profile_link(&c.owner)),
                    ("self", format!("{}/actors/configs/{}", self.base, c.name)),
                ]),
            )
            .done()
    }

    pub(crate) fn configs(&self, configs: &[pb::ActorConfig]) -> Value {
        Value::Array(configs.iter().map(|c| self.config(c)).collect())
    }

    pub(crate) fn nonces(&self, nonces: &[pb::Nonce]) -> Value {
        Value::Array(nonces.iter().map(|n| self.nonce(n)).collect())
    }
}
