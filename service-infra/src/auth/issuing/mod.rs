//! Issuing access tokens, at central (to the sync worker, stores and
//! admins) and at every store (to its tills and staff): OAuth2 clients with
//! hashed secrets ([`clients`]), the Ed25519 key that signs and the key set
//! that publishes it ([`signing`]), the tokens ([`tokens`]), the token
//! endpoint with its brute-force limit ([`TokenService`]), and the
//! `clients` and `keys` subcommands ([`commands`]).

pub mod clients;
pub mod commands;
mod endpoint;
pub mod limiter;
pub mod signing;
pub mod tokens;

pub use endpoint::{TokenMetrics, TokenService, routes};
