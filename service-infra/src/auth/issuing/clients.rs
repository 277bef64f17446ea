//! OAuth2 clients: who may obtain a token, with which role. Secrets are
//! random, shown once, and stored only as argon2 hashes. Central and every
//! store keep their own `clients` table of the same shape; each accepts only
//! its own roles ([`Role::CENTRAL`], [`Role::LOCAL`]).

use std::fmt::Write;
use std::sync::Arc;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::{DateTime, Utc};
use domain::StoreId;
use sqlx::PgPool;
use tokio::sync::Semaphore;

use crate::auth::{Role, role_names};
use crate::secret::Secret;

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
    #[error("role {role} is not one of this app's: {allowed}")]
    RoleNotHere { role: Role, allowed: String },
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

/// A client as `clients list` shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClientListing {
    pub client_id: String,
    pub role: String,
    pub store_id: Option<String>,
    pub created_at: DateTime<Utc>,
    /// When it was disabled; `None` while it may obtain tokens.
    pub disabled_at: Option<DateTime<Utc>>,
}

/// What saving a client does to an existing one with its id.
enum Existing {
    Replace,
    Keep,
}

/// The `clients` table.
#[derive(Clone)]
pub struct Clients {
    pool: PgPool,
    /// The roles this app's clients may have.
    roles: &'static [Role],
    /// Checked against when the client id is unknown, so the answer takes
    /// as long as for a known client with a wrong secret.
    dummy_hash: String,
    /// Argon2 checks running at once (each takes ~19 MiB and a core for a
    /// while); more requests wait their turn instead of exhausting memory.
    verifications: Arc<Semaphore>,
}

impl Clients {
    /// The clients stored in `pool`'s database, with one of `roles`.
    pub fn new(pool: PgPool, roles: &'static [Role]) -> Result<Self, ClientError> {
        let dummy_hash = hash_secret(&generate_secret())?;
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Ok(Self {
            pool,
            roles,
            dummy_hash,
            verifications: Arc::new(Semaphore::new(cores)),
        })
    }

    /// The enabled client whose id and secret match, or `None`.
    pub async fn authenticate(
        &self,
        client_id: &str,
        secret: &Secret,
    ) -> Result<Option<Client>, sqlx::Error> {
        let row: Option<ClientRow> = if valid_client_id(client_id) {
            sqlx::query_as(
                "SELECT secret_hash, role, store_id FROM clients
                  WHERE client_id = $1 AND disabled_at IS NULL",
            )
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
        // Argon2 is deliberately slow; keep it off the async workers, a few
        // at a time.
        let _turn = self.verifications.acquire().await;
        let matches = tokio::task::spawn_blocking(move || verify_secret(&hash, &secret))
            .await
            .unwrap_or(false);
        let Some(row) = row.filter(|_| matches) else {
            return Ok(None);
        };
        let role = row.role.parse::<Role>().ok();
        let store_id = row.store_id.map(|id| id.parse::<StoreId>());
        match (role, store_id) {
            (Some(role), _) if !self.roles.contains(&role) => {
                tracing::error!(client_id, %role, "client row has another app's role");
                Ok(None)
            }
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
    /// secret (enabling it again if it was disabled).
    pub async fn save(&self, client: &Client, secret: &Secret) -> Result<(), ClientError> {
        self.write(client, secret, Existing::Replace)
            .await
            .map(|_| ())
    }

    /// Creates the client unless one with its id exists (which is left as
    /// it is, disabled or not); returns whether it was created.
    pub async fn create_if_missing(
        &self,
        client: &Client,
        secret: &Secret,
    ) -> Result<bool, ClientError> {
        self.write(client, secret, Existing::Keep).await
    }

    async fn write(
        &self,
        client: &Client,
        secret: &Secret,
        existing: Existing,
    ) -> Result<bool, ClientError> {
        if !valid_client_id(&client.client_id) {
            return Err(ClientError::BadId);
        }
        if !self.roles.contains(&client.role) {
            return Err(ClientError::RoleNotHere {
                role: client.role,
                allowed: role_names(self.roles),
            });
        }
        match (client.role, &client.store_id) {
            (Role::Store, None) => return Err(ClientError::MissingStore),
            (role, Some(_)) if role != Role::Store => return Err(ClientError::UnexpectedStore),
            _ => {}
        }
        if !(16..=256).contains(&secret.expose().len()) {
            return Err(ClientError::BadSecret);
        }
        let hash = hash_secret(secret)?;
        let on_conflict = match existing {
            Existing::Replace => {
                "DO UPDATE SET secret_hash = EXCLUDED.secret_hash, role = EXCLUDED.role,
                    store_id = EXCLUDED.store_id, disabled_at = NULL, updated_at = now()"
            }
            Existing::Keep => "DO NOTHING",
        };
        let written = sqlx::query(&format!(
            "INSERT INTO clients (client_id, secret_hash, role, store_id) VALUES ($1, $2, $3, $4)
             ON CONFLICT (client_id) {on_conflict}"
        ))
        .bind(&client.client_id)
        .bind(hash)
        .bind(client.role.as_str())
        .bind(client.store_id.as_ref().map(StoreId::as_str))
        .execute(&self.pool)
        .await?;
        Ok(written.rows_affected() == 1)
    }

    /// Every client, by id.
    pub async fn list(&self) -> Result<Vec<ClientListing>, sqlx::Error> {
        sqlx::query_as(
            "SELECT client_id, role, store_id, created_at, disabled_at
               FROM clients ORDER BY client_id",
        )
        .fetch_all(&self.pool)
        .await
    }

    /// Disables a client: it gets no new token; a token it holds works until
    /// it expires. Returns whether the client exists.
    pub async fn disable(&self, client_id: &str) -> Result<bool, sqlx::Error> {
        let updated = sqlx::query(
            "UPDATE clients SET disabled_at = coalesce(disabled_at, now()), updated_at = now()
              WHERE client_id = $1",
        )
        .bind(client_id)
        .execute(&self.pool)
        .await?;
        Ok(updated.rows_affected() == 1)
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
