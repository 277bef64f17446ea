//! Who calls the local API: [`LocalClient`], from a token this store issued
//! (`POST /auth/token` with a `pos`, `manager` or `viewer` client), and what
//! each role may do. With `LOCAL_AUTH=off` every call is let through as a
//! nameless manager.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use service_infra::ApiError;
use service_infra::auth::{Role, require_role, verify_bearer};

use crate::config::LocalAuth;
use crate::state::AppState;

/// Stock reads and sync status: every local role.
pub const READ: &[Role] = &[Role::Pos, Role::Manager, Role::Viewer];
/// Stock updates: tills and managers.
pub const WRITE: &[Role] = &[Role::Pos, Role::Manager];
/// The sync trigger, the event log and the conflict inbox: managers.
pub const MANAGE: &[Role] = &[Role::Manager];

/// The caller of a local API request.
#[derive(Debug, Clone)]
pub struct LocalClient {
    /// The token's `sub`; `None` with `LOCAL_AUTH=off`.
    pub client_id: Option<String>,
    pub role: Role,
}

impl LocalClient {
    /// 403 `forbidden` unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        require_role(self.role, roles)
    }
}

impl FromRequestParts<AppState> for LocalClient {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if state.local_auth == LocalAuth::Off {
            return Ok(Self {
                client_id: None,
                role: Role::Manager,
            });
        }
        let claims = verify_bearer(&parts.headers, &state.local_verifier).await?;
        if !Role::LOCAL.contains(&claims.role) {
            return Err(ApiError::unauthorized(
                "invalid bearer token: not a token for this store's local API",
            ));
        }
        Ok(Self {
            client_id: Some(claims.sub),
            role: claims.role,
        })
    }
}
