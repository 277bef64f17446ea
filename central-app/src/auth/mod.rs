//! Central as token issuer: OAuth2 clients with hashed secrets
//! ([`clients`]), the Ed25519 key that signs tokens and the key set that
//! publishes it ([`keys`]), and the tokens themselves ([`tokens`]).
//! Verification is shared with the stores in `service_infra::auth`.

pub mod clients;
pub mod keys;
pub mod tokens;
