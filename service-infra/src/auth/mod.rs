//! Access tokens: JWTs signed with Ed25519 (`EdDSA`). Central issues them
//! to the sync worker, stores and admins; each store issues its own to its
//! tills and staff (`iss` = the store id), so a store cut off from central
//! keeps authenticating them. [`issuing`] signs, [`TokenVerifier`] checks.

mod bearer;
pub mod issuing;
mod keys;
mod openapi;
mod verified;
mod verifier;

#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::ApiError;

pub use bearer::{Bearer, verify_bearer};
pub use keys::jwk_for_public_key;
pub use openapi::BearerScheme;
pub use verifier::{TokenError, TokenVerifier};

/// The `iss` claim of every token central issues.
pub const ISSUER: &str = "inventory-central";
/// The `aud` claim of every token central issues.
pub const AUDIENCE: &str = "inventory-sync";
/// The `aud` claim of every token a store issues to its own clients (its
/// `iss` is the store id).
pub const LOCAL_AUDIENCE: &str = "inventory-store-local";

/// Who issues a token (`iss`) and for whom (`aud`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenScope {
    pub issuer: String,
    pub audience: String,
}

impl TokenScope {
    /// Central's tokens.
    pub fn central() -> Self {
        Self {
            issuer: ISSUER.to_owned(),
            audience: AUDIENCE.to_owned(),
        }
    }

    /// The tokens store `store_id` issues to its tills and staff.
    pub fn store(store_id: &str) -> Self {
        Self {
            issuer: store_id.to_owned(),
            audience: LOCAL_AUDIENCE.to_owned(),
        }
    }
}

/// What a token's holder may do. The first three are central's clients,
/// the last three a store's own.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Pushes and pulls changes for any store.
    SyncWorker,
    /// Acts for its own store only (the token's `store_id`).
    Store,
    /// Central-side changes and client management.
    Admin,
    /// A till: stock reads and updates at its store.
    Pos,
    /// Store staff: what a till does, plus the sync trigger, the event log
    /// and the conflict inbox.
    Manager,
    /// Reads only.
    Viewer,
}

impl Role {
    /// Central's roles.
    pub const CENTRAL: [Role; 3] = [Self::SyncWorker, Self::Store, Self::Admin];
    /// A store's own roles.
    pub const LOCAL: [Role; 3] = [Self::Pos, Self::Manager, Self::Viewer];

    /// The role's wire name: `sync-worker`, `store`, `admin`, `pos`,
    /// `manager` or `viewer`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SyncWorker => "sync-worker",
            Self::Store => "store",
            Self::Admin => "admin",
            Self::Pos => "pos",
            Self::Manager => "manager",
            Self::Viewer => "viewer",
        }
    }
}

/// Returned when a string names no [`Role`].
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown role {0:?}; valid roles are {roles}", roles = role_names(&ALL_ROLES))]
pub struct UnknownRole(pub String);

const ALL_ROLES: [Role; 6] = [
    Role::SyncWorker,
    Role::Store,
    Role::Admin,
    Role::Pos,
    Role::Manager,
    Role::Viewer,
];

/// `"a", "b"` for error messages.
pub fn role_names(roles: &[Role]) -> String {
    let names: Vec<String> = roles
        .iter()
        .map(|role| format!("{:?}", role.as_str()))
        .collect();
    names.join(", ")
}

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ALL_ROLES
            .into_iter()
            .find(|role| role.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The claims of a verified access token.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Claims {
    /// Issuer, always [`ISSUER`].
    pub iss: String,
    /// Audience, always [`AUDIENCE`].
    pub aud: String,
    /// The client the token was issued to.
    pub sub: String,
    /// What the holder may do.
    pub role: Role,
    /// The store a [`Role::Store`] token is scoped to.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub store_id: Option<String>,
    /// Issued at, seconds since the Unix epoch.
    pub iat: i64,
    /// Expires at, seconds since the Unix epoch.
    pub exp: i64,
    /// Unique token id.
    pub jti: String,
}

impl Claims {
    /// Whether the holder may read or write `store_id`'s streams at central:
    /// sync workers and admins may touch any store, a store only its own, a
    /// store's local clients none (their tokens are not central's anyway).
    pub fn may_access_store(&self, store_id: &str) -> bool {
        match self.role {
            Role::SyncWorker | Role::Admin => true,
            Role::Store => self.store_id.as_deref() == Some(store_id),
            Role::Pos | Role::Manager | Role::Viewer => false,
        }
    }

    /// 403 `forbidden` unless the holder has one of the `allowed` roles.
    pub fn require_role(&self, allowed: &[Role]) -> Result<(), ApiError> {
        require_role(self.role, allowed)
    }
}

/// 403 `forbidden` unless `role` is one of `allowed`.
pub fn require_role(role: Role, allowed: &[Role]) -> Result<(), ApiError> {
    if allowed.contains(&role) {
        return Ok(());
    }
    let allowed: Vec<&str> = allowed.iter().map(|role| role.as_str()).collect();
    Err(ApiError::forbidden(format!(
        "role {role} may not do this; it needs one of: {}",
        allowed.join(", ")
    )))
}
