//! A central-app ready for a benchmark to start: a signing key, the
//! schema, the generated catalogue registered for the given stores, and a
//! `sync-worker` client whose secret the benchmark uses (central_bench to
//! get a token, sync_bench to start the worker).

use std::path::Path;

use uuid::Uuid;

use crate::binary::Binary;

/// The client id of the benchmark's `sync-worker` client.
pub const WORKER_CLIENT_ID: &str = "bench-worker";

/// What `serve` and the worker need from the preparation.
#[derive(Debug)]
pub struct Prepared {
    /// The signing key, for `JWT_PRIVATE_KEY_FILE`.
    pub key_file: String,
    /// The secret of [`WORKER_CLIENT_ID`].
    pub worker_secret: String,
}

/// Runs `keys generate` (into `dir/key.pem`), `migrate`, `populate
/// --stores ... --catalogue ...` and `clients create` on the database
/// `env` names.
pub async fn prepare(
    central: &Binary,
    env: &[(&str, String)],
    dir: &Path,
    stores: &[String],
    catalogue: &str,
) -> anyhow::Result<Prepared> {
    let key_file = dir.join("key.pem").to_string_lossy().into_owned();
    central
        .run(&["keys", "generate", "--out", &key_file], env)
        .await?;
    central.run(&["migrate"], env).await?;
    central
        .run(
            &[
                "populate",
                "--stores",
                &stores.join(","),
                "--catalogue",
                catalogue,
            ],
            env,
        )
        .await?;
    let worker_secret = Uuid::new_v4().to_string();
    central
        .run(
            &[
                "clients",
                "create",
                "--id",
                WORKER_CLIENT_ID,
                "--role",
                "sync-worker",
                "--secret",
                &worker_secret,
            ],
            env,
        )
        .await?;
    Ok(Prepared {
        key_file,
        worker_secret,
    })
}
