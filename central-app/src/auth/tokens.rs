//! Issuing access tokens: EdDSA-signed JWTs with central's issuer and
//! audience, the client's role and, for a store, its store id.

use std::time::Duration;

use jsonwebtoken::{Algorithm, Header, encode};
use service_infra::auth::{AUDIENCE, Claims, ISSUER, TokenVerifier};

use super::clients::Client;
use super::keys::SigningKeys;

/// A freshly issued token.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub access_token: String,
    /// Seconds until it expires.
    pub expires_in: u64,
}

/// Signs access tokens with central's key.
#[derive(Clone)]
pub struct TokenIssuer {
    keys: SigningKeys,
    ttl: Duration,
}

impl TokenIssuer {
    /// An issuer whose tokens live for `ttl`.
    pub fn new(keys: SigningKeys, ttl: Duration) -> Self {
        Self { keys, ttl }
    }

    /// A verifier for the tokens this issuer signs.
    pub fn verifier(&self) -> TokenVerifier {
        TokenVerifier::from_jwks(self.keys.jwks().clone())
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
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
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
