//! Token tests with Ed25519 keys generated on the spot: shared helpers here,
//! the cases in the submodules.

mod claims;
mod remote;
mod verify;

use std::time::{SystemTime, UNIX_EPOCH};

use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{EncodePrivateKey, KeypairBytes};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};

use super::*;

/// base64url of `{"alg":"none","typ":"JWT","kid":"test-key"}`.
pub(super) const ALG_NONE_HEADER: &str =
    "eyJhbGciOiJub25lIiwidHlwIjoiSldUIiwia2lkIjoidGVzdC1rZXkifQ";

struct TestKey {
    kid: &'static str,
    encoding: EncodingKey,
    jwk: Jwk,
    signing: SigningKey,
}

impl TestKey {
    fn generate(kid: &'static str) -> Self {
        let signing = SigningKey::from_bytes(&rand::random());
        // Without the public key: jsonwebtoken derives JWKs only from v1 PKCS#8.
        let pkcs8 = KeypairBytes {
            secret_key: signing.to_bytes(),
            public_key: None,
        };
        let pem = pkcs8.to_pkcs8_pem(LineEnding::LF).expect("encode PKCS#8");
        let encoding = EncodingKey::from_ed_pem(pem.as_bytes()).expect("load signing key");
        let mut jwk = Jwk::from_encoding_key(&encoding, Algorithm::EdDSA).expect("derive JWK");
        jwk.common.key_id = Some(kid.to_owned());
        Self {
            kid,
            encoding,
            jwk,
            signing,
        }
    }

    fn sign(&self, claims: &Claims) -> String {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.to_owned());
        encode(&header, claims, &self.encoding).expect("sign token")
    }
}

fn now() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    i64::try_from(secs).expect("timestamp fits i64")
}

fn claims(role: Role, store_id: Option<&str>) -> Claims {
    Claims {
        iss: ISSUER.to_owned(),
        aud: AUDIENCE.to_owned(),
        sub: "client-1".to_owned(),
        role,
        store_id: store_id.map(str::to_owned),
        iat: now(),
        exp: now() + 300,
        jti: "token-1".to_owned(),
    }
}

/// Claims of the sync worker, as most cases sign them.
fn worker_claims() -> Claims {
    claims(Role::SyncWorker, None)
}

/// [`worker_claims`] with one change made by `edit`.
fn worker_claims_with(edit: impl FnOnce(&mut Claims)) -> Claims {
    let mut claims = worker_claims();
    edit(&mut claims);
    claims
}

fn verifier_for(key: &TestKey) -> TokenVerifier {
    let keys = JwkSet {
        keys: vec![key.jwk.clone()],
    };
    TokenVerifier::from_jwks(keys, TokenScope::central())
}

async fn rejection(verifier: &TokenVerifier, token: &str) -> &'static str {
    match verifier.verify(token).await {
        Err(TokenError::Invalid(reason)) => reason,
        other => panic!("expected an invalid-token error, got {other:?}"),
    }
}

/// Why a verifier that trusts `key` alone rejects `token`.
async fn rejection_by(key: &TestKey, token: &str) -> &'static str {
    rejection(&verifier_for(key), token).await
}
