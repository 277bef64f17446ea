//! Access-token checks shared by central (verifying its own tokens) and the
//! stores (verifying the worker's tokens).
//!
//! Tokens are JWTs signed by central with Ed25519 (`EdDSA`); this module only
//! verifies them. Signing lives in central.

mod bearer;
mod keys;
mod openapi;
mod verifier;

#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::ApiError;

pub use bearer::Bearer;
pub use keys::jwk_for_public_key;
pub use openapi::BearerScheme;
pub use verifier::{TokenError, TokenVerifier};

/// The `iss` claim of every token central issues.
pub const ISSUER: &str = "inventory-central";
/// The `aud` claim of every token central issues.
pub const AUDIENCE: &str = "inventory-sync";

/// What a token's holder may do.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Pushes and pulls changes for any store.
    SyncWorker,
    /// Acts for its own store only (the token's `store_id`).
    Store,
    /// Central-side changes and client management.
    Admin,
}

impl Role {
    /// The role's wire name: `sync-worker`, `store` or `admin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SyncWorker => "sync-worker",
            Self::Store => "store",
            Self::Admin => "admin",
        }
    }
}

/// Returned when a string names no [`Role`].
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown role {0:?}; valid roles are \"sync-worker\", \"store\" and \"admin\"")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Self::SyncWorker, Self::Store, Self::Admin]
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
    /// Whether the holder may read or write `store_id`'s streams: sync workers
    /// and admins may touch any store, a store only its own.
    pub fn may_access_store(&self, store_id: &str) -> bool {
        match self.role {
            Role::SyncWorker | Role::Admin => true,
            Role::Store => self.store_id.as_deref() == Some(store_id),
        }
    }

    /// 403 `forbidden` unless the holder has one of the `allowed` roles.
    pub fn require_role(&self, allowed: &[Role]) -> Result<(), ApiError> {
        if allowed.contains(&self.role) {
            return Ok(());
        }
        let allowed: Vec<&str> = allowed.iter().map(|role| role.as_str()).collect();
        Err(ApiError::forbidden(format!(
            "role {} may not do this; it needs one of: {}",
            self.role,
            allowed.join(", ")
        )))
    }
}
