//! The command line: `serve`, `migrate`, `populate`,
//! `rebuild-projections`, `clients create | list | disable` (the store's own
//! tills and staff) and `keys generate`, the subcommands every ledger app
//! has (`service_infra::cli::LedgerCommand`). Every
//! option is also an environment variable and belongs to the subcommand that
//! uses it (`store-app migrate --database-url …`).

use anyhow::Context;
use service_infra::cli::{LedgerCommand, Populate};

use crate::config::{LocalClients, PopulateArgs, ServeConfig};
use crate::db::DEFAULT_MAX_CONNECTIONS;
use crate::ledger::Ledger;

/// What to do.
pub type Command = LedgerCommand<ServeConfig, PopulateArgs, LocalClients>;

impl Populate for PopulateArgs {
    async fn populate(self) -> anyhow::Result<()> {
        let items = match &self.catalogue {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                domain::catalogue::parse(&text)?
            }
            None => domain::catalogue::sample(),
        };
        let ledger = Ledger::new(self.database.pool(DEFAULT_MAX_CONNECTIONS)?);
        let rows: Vec<_> = items
            .into_iter()
            .map(|item| (item.sku, item.name, item.quantity))
            .collect();
        let new = ledger.register(&rows).await?;
        tracing::info!(
            registered = new,
            already_present = rows.len() - new,
            "catalogue loaded"
        );
        Ok(())
    }
}
