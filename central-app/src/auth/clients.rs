//! OAuth2 clients: who may obtain a token, with which role. Secrets are
//! random, shown once, and stored only as argon2 hashes.

use std::fmt::Write;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use domain::StoreId;
use service_infra::auth::Role;
use sqlx::PgPool;

use crate::config::Secret;

/// A registered client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub client_id: String,
    pub role: Role,
    /// The store a `store` client acts for; `None` for other roles.
    pub store_id: Option<StoreId>,
}

/// Why a client could not be created.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("client id must be 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' or '-'")]
    BadId,
    #[error("a store client needs --store-id")]
    MissingStore,
    #[error("only store clients have a store id")]
    UnexpectedStore,
    #[error("secret must have 16 to 256 characters")]
    BadSecret,
    #[error("cannot hash the secret: {0}")]
    Hash(String),
    #[error("database error")]
    Database(#[from] sqlx::Error),
}

/// Whether `id` is an acceptable client id.
pub fn valid_client_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// A new random secret: 32 random bytes as hex.
pub fn generate_secret() -> Secret {
    let bytes: [u8; 32] = rand::random();
    let mut text = String::with_capacity(64);
    for byte in bytes {
        // Writing to a String cannot fail.
        let _ = write!(text, "{byte:02x}");
    }
    Secret::new(text)
}

/// The argon2id PHC hash of a secret, with a random salt.
pub fn hash_secret(secret: &Secret) -> Result<String, ClientError> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
        .map_err(|err| ClientError::Hash(err.to_string()))?;
    Argon2::default()
        .hash_password(secret.expose().as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|err| ClientError::Hash(err.to_string()))
}

fn verify_secret(hash: &str, secret: &Secret) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(secret.expose().as_bytes(), &parsed)
            .is_ok()
    })
}

#[derive(sqlx::FromRow)]
struct ClientRow {
    secret_hash: String,
    role: String,
    store_id: Option<String>,
}

/// The `clients` table.
#[derive(Clone)]
pub struct Clients {
    pool: PgPool,
    /// Checked against when the client id is unknown, so the answer takes
    /// as long as for a known client with a wrong secret.
    dummy_hash: String,
}

impl Clients {
    /// The clients stored in `pool`'s database.
    pub fn new(pool: PgPool) -> Result<Self, ClientError> {
        let dummy_hash = hash_secret(&generate_secret())?;
        Ok(Self { pool, dummy_hash })
    }

    /// The client whose id and secret match, or `None`.
    pub async fn authenticate(
        &self,
        client_id: &str,
        secret: &Secret,
    ) -> Result<Option<Client>, sqlx::Error> {
        let row: Option<ClientRow> = if valid_client_id(client_id) {
            sqlx::query_as("SELECT secret_hash, role, store_id FROM clients WHERE client_id = $1")
                .bind(client_id)
                .fetch_optional(&self.pool)
                .await?
        } else {
            None
        };
        let hash = row
            .as_ref()
            .map_or_else(|| self.dummy_hash.clone(), |row| row.secret_hash.clone());
        let secret = secret.clone();
        // Argon2 is deliberately slow; keep it off the async workers.
        let matches = tokio::task::spawn_blocking(move || verify_secret(&hash, &secret))
            .await
            .unwrap_or(false);
        let Some(row) = row.filter(|_| matches) else {
            return Ok(None);
        };
        let role = row.role.parse::<Role>().ok();
        let store_id = row.store_id.map(|id| id.parse::<StoreId>());
        match (role, store_id) {
            (Some(role), None) => Ok(Some(Client {
                client_id: client_id.to_owned(),
                role,
                store_id: None,
            })),
            (Some(role), Some(Ok(store_id))) => Ok(Some(Client {
                client_id: client_id.to_owned(),
                role,
                store_id: Some(store_id),
            })),
            _ => {
                tracing::error!(client_id, "client row has an invalid role or store id");
                Ok(None)
            }
        }
    }

    /// Creates the client, or replaces an existing one's role, store and
    /// secret.
    pub async fn save(&self, client: &Client, secret: &Secret) -> Result<(), ClientError> {
        if !valid_client_id(&client.client_id) {
            return Err(ClientError::BadId);
        }
        match (client.role, &client.store_id) {
            (Role::Store, None) => return Err(ClientError::MissingStore),
            (Role::SyncWorker | Role::Admin, Some(_)) => return Err(ClientError::UnexpectedStore),
            _ => {}
        }
        if !(16..=256).contains(&secret.expose().len()) {
            return Err(ClientError::BadSecret);
        }
        let hash = hash_secret(secret)?;
        sqlx::query(
            "INSERT INTO clients (client_id, secret_hash, role, store_id) VALUES ($1, $2, $3, $4)
             ON CONFLICT (client_id) DO UPDATE
                SET secret_hash = EXCLUDED.secret_hash, role = EXCLUDED.role,
                    store_id = EXCLUDED.store_id, updated_at = now()",
        )
        .bind(&client.client_id)
        .bind(hash)
        .bind(client.role.as_str())
        .bind(client.store_id.as_ref().map(StoreId::as_str))
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hashed_secret_verifies_and_others_do_not() {
        let secret = generate_secret();
        let hash = hash_secret(&secret).expect("hash");
        assert!(!hash.contains(secret.expose()));
        assert!(verify_secret(&hash, &secret));
        assert!(!verify_secret(&hash, &Secret::new("wrong-secret-000")));
    }

    #[test]
    fn client_ids_are_restricted() {
        assert!(valid_client_id("sync-worker.1"));
        assert!(!valid_client_id(""));
        assert!(!valid_client_id("a b"));
        assert!(!valid_client_id(&"a".repeat(65)));
    }
}
