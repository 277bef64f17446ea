//! Turning central's published key set into verification keys, and the JWK
//! central publishes for its public key.

use std::collections::HashMap;

use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm, PublicKeyUse,
};
use jsonwebtoken::{Algorithm, DecodingKey};

/// The Ed25519 signing keys of `jwks` by key id; anything else is skipped,
/// so an HMAC or RSA key published by mistake can never verify a token.
pub(super) fn usable_keys(jwks: &JwkSet) -> HashMap<String, DecodingKey> {
    let mut keys = HashMap::new();
    for jwk in &jwks.keys {
        let Some(kid) = &jwk.common.key_id else {
            tracing::warn!("ignoring a JWK without a key id");
            continue;
        };
        match decoding_key(jwk) {
            Ok(key) => {
                keys.insert(kid.clone(), key);
            }
            Err(reason) => tracing::warn!(kid = %kid, reason, "ignoring JWK"),
        }
    }
    if keys.is_empty() {
        tracing::warn!("key set holds no usable Ed25519 keys; every token will be rejected");
    }
    keys
}

fn decoding_key(jwk: &Jwk) -> Result<DecodingKey, &'static str> {
    let AlgorithmParameters::OctetKeyPair(params) = &jwk.algorithm else {
        return Err("not an octet key pair");
    };
    if params.curve != EllipticCurve::Ed25519 {
        return Err("not an Ed25519 key");
    }
    if jwk
        .common
        .key_algorithm
        .is_some_and(|alg| alg != KeyAlgorithm::EdDSA)
    {
        return Err("not meant for EdDSA");
    }
    if jwk
        .common
        .public_key_use
        .as_ref()
        .is_some_and(|usage| *usage != PublicKeyUse::Signature)
    {
        return Err("not a signature key");
    }
    DecodingKey::from_jwk(jwk).map_err(|_| "invalid key material")
}

/// The JWK central publishes for an Ed25519 public key in PEM (SPKI) form:
/// `kty` `OKP`, `crv` `Ed25519`, `alg` `EdDSA`, `use` `sig`, `kid` = `kid`.
pub fn jwk_for_public_key(
    public_key_pem: &str,
    kid: &str,
) -> Result<Jwk, jsonwebtoken::errors::Error> {
    let key = DecodingKey::from_ed_pem(public_key_pem.as_bytes())?;
    let mut jwk = Jwk::from_decoding_key(&key, Some(Algorithm::EdDSA))?;
    jwk.common.key_id = Some(kid.to_owned());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    Ok(jwk)
}
