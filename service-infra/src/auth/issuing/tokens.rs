//! Issuing access tokens: EdDSA-signed JWTs with the issuer's `iss` and
//! `aud` ([`TokenScope`]), the client's role and, for a store client at
//! central, its store id.

use std::time::Duration;

use jsonwebtoken::{Algorithm, Header, encode};

use crate::auth::{Claims, TokenScope, TokenVerifier};

use super::clients::Client;
use super::signing::SigningKeys;

/// A freshly issued token.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub access_token: String,
    /// Seconds until it expires.
    pub expires_in: u64,
}

/// Signs access tokens with an app's own key.
#[derive(Clone)]
pub struct TokenIssuer {
    keys: SigningKeys,
    ttl: Duration,
    scope: TokenScope,
}

impl TokenIssuer {
    /// An issuer of tokens for `scope` that live for `ttl`.
    pub fn new(keys: SigningKeys, ttl: Duration, scope: TokenScope) -> Self {
        Self { keys, ttl, scope }
    }

    /// A verifier for the tokens this issuer signs.
    pub fn verifier(&self) -> TokenVerifier {
        TokenVerifier::from_jwks(self.keys.jwks().clone(), self.scope.clone())
    }

    /// Who issues the tokens, and for whom.
    pub fn scope(&self) -> &TokenScope {
        &self.scope
    }

    /// The published key set.
    pub fn keys(&self) -> &SigningKeys {
        &self.keys
    }

    /// A token for `client`, valid from now for the configured lifetime.
    pub fn issue(&self, client: &Client) -> Result<IssuedToken, jsonwebtoken::errors::Error> {
        let now = chrono::Utc::now().timestamp();
        let ttl = i64::try_from(self.ttl.as_secs()).unwrap_or(i64::MAX / 2);
        let claims = Claims {
            iss: self.scope.issuer.clone(),
            aud: self.scope.audience.clone(),
            sub: client.client_id.clone(),
            role: client.role,
            store_id: client.store_id.as_ref().map(ToString::to_string),
            iat: now,
            exp: now.saturating_add(ttl),
            jti: uuid::Uuid::new_v4().to_string(),
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.keys.kid().to_owned());
        Ok(IssuedToken {
            access_token: encode(&header, &claims, self.keys.encoding_key())?,
            expires_in: self.ttl.as_secs(),
        })
    }
}
