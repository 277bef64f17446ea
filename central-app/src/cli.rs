//! The command line: `serve`, `migrate`, `populate`,
//! `rebuild-projections`, `clients create | list | disable` and `keys
//! generate`, the subcommands every ledger app has
//! (`service_infra::cli::LedgerCommand`). Every option is also an environment variable and belongs to
//! the subcommand that uses it.

use service_infra::cli::{LedgerCommand, Populate};

use crate::catalogue;
use crate::config::{ClientStore, PopulateArgs, ServeConfig};
use crate::db::DEFAULT_MAX_CONNECTIONS;
use crate::ledger::Ledger;

/// What to do.
pub type Command = LedgerCommand<ServeConfig, PopulateArgs, ClientStore>;

impl Populate for PopulateArgs {
    async fn populate(self) -> anyhow::Result<()> {
        let items = match &self.catalogue {
            Some(path) => catalogue::from_csv(path)?,
            None => catalogue::sample(),
        };
        let ledger = Ledger::new(self.database.pool(DEFAULT_MAX_CONNECTIONS)?);
        for store_id in &self.stores {
            let new = ledger.register(store_id, &items).await?;
            println!(
                "{store_id}: {new} new of {} catalogue items registered",
                items.len()
            );
        }
        Ok(())
    }
}
