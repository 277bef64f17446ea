//! The `clients` and `keys` subcommands, the same at central and a store:
//! `clients create | list | disable` and `keys generate`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use domain::StoreId;

use super::clients::{Client, Clients, generate_secret};
use crate::auth::Role;
use crate::db::DatabaseSettings;
use crate::secret::Secret;

/// Connections a one-shot client command uses.
const POOL_SIZE: u32 = 2;

/// `clients` subcommands; `C` is what an app's clients carry beyond id,
/// role and secret, and which roles they may have.
#[derive(Debug, Subcommand)]
pub enum ClientsCommand<C: ClientScope> {
    /// Create a client, or replace an existing one's role and secret (and
    /// enable it again).
    Create(CreateClientArgs<C>),
    /// List the clients: id, role, store, created, disabled.
    List(ListClientsArgs),
    /// Disable a client: it gets no new token; a token it already holds
    /// works until it expires (the token lifetime).
    Disable(DisableClientArgs),
}

/// What an app's clients carry beyond id, role and secret.
pub trait ClientScope: Args {
    /// The roles this app's clients may have.
    const ROLES: &'static [Role];
    /// The store a client acts for (central's `store` clients).
    fn store_id(&self) -> Option<StoreId>;
}

/// Options of `clients create`.
#[derive(Debug, Args)]
pub struct CreateClientArgs<C: ClientScope> {
    #[command(flatten)]
    pub database: DatabaseSettings,
    /// Client id, e.g. `sync-worker` at central or `pos-01` at a store.
    #[arg(long, env = "CLIENT_ID")]
    pub id: String,
    /// Central's roles: `sync-worker`, `store`, `admin`; a store's: `pos`
    /// (stock reads and updates), `manager` (also the sync trigger, the
    /// event log and the conflict inbox), `viewer` (reads only).
    #[arg(long, env = "CLIENT_ROLE")]
    pub role: Role,
    #[command(flatten)]
    pub scope: C,
    /// The secret to set; a random one is generated and printed once when
    /// absent.
    #[arg(long, env = "CLIENT_SECRET", hide_env_values = true)]
    pub secret: Option<Secret>,
    /// Leave an existing client with this id as it is (role, secret, and
    /// disabled or not) instead of replacing it: for start-up scripts.
    #[arg(long, env = "CLIENT_IF_MISSING")]
    pub if_missing: bool,
}

/// Options of `clients list`.
#[derive(Debug, Args)]
pub struct ListClientsArgs {
    #[command(flatten)]
    pub database: DatabaseSettings,
}

/// Options of `clients disable`.
#[derive(Debug, Args)]
pub struct DisableClientArgs {
    #[command(flatten)]
    pub database: DatabaseSettings,
    /// The client to disable.
    #[arg(long, env = "CLIENT_ID")]
    pub id: String,
}

impl<C: ClientScope> ClientsCommand<C> {
    /// Runs the subcommand.
    pub async fn execute(self) -> anyhow::Result<()> {
        match self {
            Self::Create(args) => {
                let clients = Clients::new(args.database.pool(POOL_SIZE)?, C::ROLES)?;
                let client = Client {
                    client_id: args.id,
                    role: args.role,
                    store_id: args.scope.store_id(),
                };
                let generated = args.secret.is_none();
                let secret = args.secret.unwrap_or_else(generate_secret);
                let saved = if args.if_missing {
                    clients.create_if_missing(&client, &secret).await?
                } else {
                    clients.save(&client, &secret).await?;
                    true
                };
                if !saved {
                    println!("client {} exists; left as it is", client.client_id);
                    return Ok(());
                }
                println!(
                    "client {} saved with role {}",
                    client.client_id, client.role
                );
                if generated {
                    // Shown once: only its hash is stored.
                    println!("client_secret: {}", secret.expose());
                }
            }
            Self::List(args) => {
                let clients = Clients::new(args.database.pool(POOL_SIZE)?, C::ROLES)?;
                println!("client_id\trole\tstore_id\tcreated_at\tdisabled_at");
                for client in clients.list().await? {
                    println!(
                        "{}\t{}\t{}\t{}\t{}",
                        client.client_id,
                        client.role,
                        client.store_id.as_deref().unwrap_or("-"),
                        client.created_at.to_rfc3339(),
                        client
                            .disabled_at
                            .map_or_else(|| "-".to_owned(), |at| at.to_rfc3339()),
                    );
                }
            }
            Self::Disable(args) => {
                let clients = Clients::new(args.database.pool(POOL_SIZE)?, C::ROLES)?;
                if !clients.disable(&args.id).await? {
                    anyhow::bail!("no client {}", args.id);
                }
                println!(
                    "client {} disabled: it gets no new token; tokens it holds work until they expire",
                    args.id
                );
            }
        }
        Ok(())
    }
}

/// `keys` subcommands.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Generate an Ed25519 signing key (PKCS#8 PEM, owner-only file).
    Generate(GenerateKeyArgs),
}

/// Options of `keys generate`.
#[derive(Debug, Args)]
pub struct GenerateKeyArgs {
    /// Where to write the key.
    #[arg(long)]
    pub out: PathBuf,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
}

impl KeysCommand {
    /// Runs the subcommand.
    pub fn execute(self) -> anyhow::Result<()> {
        match self {
            Self::Generate(args) => {
                let kid = super::signing::generate(&args.out, args.force)?;
                println!(
                    "wrote Ed25519 signing key {} (kid {kid})",
                    args.out.display()
                );
            }
        }
        Ok(())
    }
}
