//! The command line: `serve`, and the management commands that work on the same store.

use crate::accounts;
use crate::config::{ServeArgs, StoreArgs};
use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::sync::Arc;
use store::Store;

#[derive(Debug, Parser)]
#[command(name = "farmhand", version, about = "A self-hosted device farm that speaks the AWS Device Farm API")]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the API server.
    Serve(ServeArgs),
    /// Manage accounts.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Manage access keys.
    #[command(subcommand)]
    Key(KeyCommand),
}

#[derive(Debug, Subcommand)]
enum AccountCommand {
    /// Create an account with a first access key (printed once).
    Create {
        #[arg(long)]
        name: String,
        /// A fixed 12-digit account id; random by default.
        #[arg(long)]
        id: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List accounts.
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
enum KeyCommand {
    /// Create an access key for an account (the secret is printed once).
    Create {
        #[arg(long)]
        account: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Revoke an access key: requests signed with it are refused from now on.
    Revoke {
        access_key_id: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List an account's access keys (ids only).
    List {
        #[arg(long)]
        account: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

async fn open_store(args: &StoreArgs) -> Result<Arc<dyn Store>> {
    let config = args.resolve()?;
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating {}", config.data_dir.display()))?;
    Ok(store::open(&config.database_url).await?)
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Cli {
    pub async fn run(self) -> Result<()> {
        match self.command {
            Command::Serve(args) => crate::server::run(args.resolve()?).await,
            Command::Account(AccountCommand::Create { name, id, store }) => {
                let store = open_store(&store).await?;
                let (account, key) = accounts::create_account(store.as_ref(), &name, id, now_ms()).await?;
                println!("account {} ({})", account.id, account.name);
                println!("export AWS_ACCESS_KEY_ID={}", key.access_key_id);
                println!("export AWS_SECRET_ACCESS_KEY={}", key.secret_access_key);
                Ok(())
            }
            Command::Account(AccountCommand::List { store }) => {
                let store = open_store(&store).await?;
                println!("{:<14} {:<24} CREATED", "ID", "NAME");
                for a in store.accounts().await? {
                    let created = chrono::DateTime::from_timestamp_millis(a.created_ms).unwrap_or_default();
                    println!("{:<14} {:<24} {}", a.id, a.name, created.to_rfc3339());
                }
                Ok(())
            }
            Command::Key(KeyCommand::Create { account, store }) => {
                let store = open_store(&store).await?;
                anyhow::ensure!(store.account(&account).await?.is_some(), "no account {account}");
                let key = accounts::new_key(&account, now_ms());
                store.create_access_key(&key).await?;
                println!("export AWS_ACCESS_KEY_ID={}", key.access_key_id);
                println!("export AWS_SECRET_ACCESS_KEY={}", key.secret_access_key);
                Ok(())
            }
            Command::Key(KeyCommand::Revoke { access_key_id, store }) => {
                let store = open_store(&store).await?;
                anyhow::ensure!(
                    store.revoke_access_key(&access_key_id, now_ms()).await?,
                    "no active access key {access_key_id}"
                );
                println!("revoked {access_key_id}");
                Ok(())
            }
            Command::Key(KeyCommand::List { account, store }) => {
                let store = open_store(&store).await?;
                println!("{:<22} {:<8} CREATED", "ACCESS KEY ID", "STATUS");
                for k in store.access_keys(&account).await? {
                    let created = chrono::DateTime::from_timestamp_millis(k.created_ms).unwrap_or_default();
                    let status = if k.is_active() { "active" } else { "revoked" };
                    println!("{:<22} {:<8} {}", k.access_key_id, status, created.to_rfc3339());
                }
                Ok(())
            }
        }
    }
}
