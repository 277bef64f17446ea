//! An issuer's Ed25519 signing key: loading it from a PKCS#8 PEM file,
//! generating a new one, and the JWK set that publishes its public half.

use std::io::Write;
use std::path::Path;

use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, KeypairBytes};
use jsonwebtoken::EncodingKey;
use jsonwebtoken::jwk::{JwkSet, ThumbprintHash};

/// Why a signing key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read key file {path}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("key file {0} is not an Ed25519 private key in PKCS#8 PEM form")]
    NotEd25519(String),
    #[error("cannot encode the key: {0}")]
    Encode(String),
}

/// The key that signs access tokens, its key id and the published key set.
#[derive(Clone)]
pub struct SigningKeys {
    encoding: EncodingKey,
    kid: String,
    jwks: JwkSet,
}

impl SigningKeys {
    /// Loads the key from a PEM file (PKCS#8 v1 or v2).
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let shown = path.display().to_string();
        let pem = std::fs::read_to_string(path).map_err(|source| KeyError::Read {
            path: shown.clone(),
            source,
        })?;
        let signing = SigningKey::from_pkcs8_pem(&pem).map_err(|_| KeyError::NotEd25519(shown))?;
        Self::from_signing_key(&signing)
    }

    /// Signing material for `signing`; the key id is the RFC 7638 thumbprint
    /// of its public JWK, so it changes exactly when the key does.
    pub fn from_signing_key(signing: &SigningKey) -> Result<Self, KeyError> {
        let encode = |err: &dyn std::fmt::Display| KeyError::Encode(err.to_string());
        let der = signing.to_pkcs8_der().map_err(|e| encode(&e))?;
        let public_pem = signing
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| encode(&e))?;
        let mut jwk = crate::auth::jwk_for_public_key(&public_pem, "").map_err(|e| encode(&e))?;
        let kid = jwk
            .thumbprint(ThumbprintHash::SHA256)
            .map_err(|e| encode(&e))?;
        jwk.common.key_id = Some(kid.clone());
        Ok(Self {
            encoding: EncodingKey::from_ed_der(der.as_bytes()),
            kid,
            jwks: JwkSet { keys: vec![jwk] },
        })
    }

    /// The key id put in every token header.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key set served at `/.well-known/jwks.json`.
    pub fn jwks(&self) -> &JwkSet {
        &self.jwks
    }

    /// The key that signs tokens.
    pub fn encoding_key(&self) -> &EncodingKey {
        &self.encoding
    }
}

/// Generates a new key and writes it to `path` as PKCS#8 v1 PEM (readable
/// by jsonwebtoken and OpenSSL alike), owner-only. Refuses to overwrite an
/// existing file unless `force`. Returns the new key's id.
pub fn generate(path: &Path, force: bool) -> anyhow::Result<String> {
    let signing = SigningKey::from_bytes(&rand::random());
    let pem = KeypairBytes {
        secret_key: signing.to_bytes(),
        public_key: None,
    }
    .to_pkcs8_pem(LineEnding::LF)
    .map_err(|err| anyhow::anyhow!("cannot encode the key: {err}"))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .map_err(|err| anyhow::anyhow!("cannot create {}: {err}", path.display()))?;
    file.write_all(pem.as_bytes())?;
    Ok(SigningKeys::from_signing_key(&signing)?.kid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_loads_with_the_same_key_id() {
        let path = std::env::temp_dir().join(format!("key-{}.pem", uuid::Uuid::new_v4()));
        let kid = generate(&path, false).expect("generate");
        let keys = SigningKeys::load(&path).expect("load");
        assert_eq!(keys.kid(), kid);
        assert_eq!(keys.jwks().keys.len(), 1);
        assert!(generate(&path, false).is_err(), "overwrote an existing key");
        std::fs::remove_file(path).expect("cleanup");
    }
}
