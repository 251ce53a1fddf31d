//! The command line: `serve`, and the management commands that work on the same store.

use crate::accounts;
use crate::config::{ServeArgs, StoreArgs};
use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use std::sync::Arc;
use store::Store;

#[derive(Debug, Parser)]
#[command(name = "farmhand", version, about = "A self-hosted device farm that speaks the AWS Device Farm API")]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

impl Cli {
    /// How this command logs: `serve` as configured, the others as text.
    pub fn log_format(&self) -> crate::config::LogFormat {
        match &self.command {
            Command::Serve(args) => args.log_format(),
            _ => crate::config::LogFormat::default(),
        }
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the API server.
    Serve(Box<ServeArgs>),
    /// Run a device host: connect to a server and run the jobs of this machine's devices.
    Agent(crate::agent::AgentArgs),
    /// Manage accounts.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Manage access keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Print a job's test-spec output (`--follow`: as it is written, until the job ends).
    /// Uses AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and AWS_ENDPOINT_URL_DEVICE_FARM.
    Logs {
        job_arn: String,
        #[arg(long, short)]
        follow: bool,
        #[arg(long)]
        endpoint_url: Option<String>,
    },
    /// Billing reports from the durable ledger.
    #[command(subcommand)]
    Billing(BillingCommand),
    /// Manage the tokens device hosts (`farmhand agent`) connect with.
    #[command(subcommand)]
    AgentToken(AgentTokenCommand),
}

#[derive(Debug, Subcommand)]
enum AgentTokenCommand {
    /// Create a token for a host (the token is printed once).
    Create {
        /// The host's name: its devices and jobs are listed under it.
        #[arg(long)]
        host: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List the tokens (ids and hosts only).
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Revoke a token: the host can no longer connect with it.
    Revoke {
        token_id: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
enum BillingCommand {
    /// Device minutes billed per job, with totals, as a table or CSV.
    Report {
        /// Only this account (default: every account).
        #[arg(long)]
        account: Option<String>,
        /// Jobs settled at or after this instant (RFC 3339, or a date YYYY-MM-DD).
        #[arg(long)]
        since: Option<String>,
        /// Jobs settled before this instant.
        #[arg(long)]
        until: Option<String>,
        #[arg(long)]
        csv: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
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
    /// Change an account's settings and limits (shown by GetAccountSettings).
    Update {
        id: String,
        #[command(flatten)]
        settings: SettingsArgs,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Args)]
struct SettingsArgs {
    /// Jobs of the account that run at once (metered); more wait in PENDING_CONCURRENCY.
    #[arg(long)]
    max_concurrent_jobs: Option<i32>,
    /// Unmetered device slots per platform, e.g. `--unmetered-devices ANDROID=2`.
    #[arg(long, value_parser = parse_platform_count)]
    unmetered_devices: Vec<(String, i32)>,
    /// Metered device minutes the account may use in total (its trialMinutes).
    #[arg(long, conflicts_with = "no_trial_minutes")]
    trial_minutes: Option<f64>,
    /// Removes the metered-minutes quota.
    #[arg(long)]
    no_trial_minutes: bool,
    #[arg(long)]
    max_job_timeout_minutes: Option<i32>,
    #[arg(long)]
    default_job_timeout_minutes: Option<i32>,
    #[arg(long)]
    max_projects: Option<i32>,
    #[arg(long)]
    max_uploads_per_project: Option<i32>,
    #[arg(long)]
    max_device_pools_per_project: Option<i32>,
}

fn parse_platform_count(text: &str) -> Result<(String, i32), String> {
    let (platform, count) = text.split_once('=').ok_or("expected PLATFORM=COUNT")?;
    let platform = platform.to_ascii_uppercase();
    if platform != "ANDROID" && platform != "IOS" {
        return Err(format!("unknown platform {platform}; expected ANDROID or IOS"));
    }
    Ok((platform, count.parse().map_err(|e| format!("{e}"))?))
}

impl SettingsArgs {
    fn apply(&self, s: &mut domain::account::AccountSettings) {
        if let Some(n) = self.max_concurrent_jobs {
            s.max_concurrent_jobs = n;
        }
        for (platform, n) in &self.unmetered_devices {
            s.unmetered_devices.insert(platform.clone(), *n);
        }
        if let Some(m) = self.trial_minutes {
            s.trial_minutes_total = Some(m);
        }
        if self.no_trial_minutes {
            s.trial_minutes_total = None;
        }
        if let Some(n) = self.max_job_timeout_minutes {
            s.max_job_timeout_minutes = n;
        }
        if let Some(n) = self.default_job_timeout_minutes {
            s.default_job_timeout_minutes = n;
        }
        if let Some(n) = self.max_projects {
            s.limits.max_projects = n;
        }
        if let Some(n) = self.max_uploads_per_project {
            s.limits.max_uploads_per_project = n;
        }
        if let Some(n) = self.max_device_pools_per_project {
            s.limits.max_device_pools_per_project = n;
        }
    }
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
            Command::Agent(args) => crate::agent::run(args).await,
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
            Command::Logs { job_arn, follow, endpoint_url } => {
                crate::logs::run(crate::logs::LogsArgs { job_arn, follow, endpoint_url }).await
            }
            Command::Account(AccountCommand::Update { id, settings, store }) => {
                let store = open_store(&store).await?;
                let mut account = store.account(&id).await?.with_context(|| format!("no account {id}"))?;
                settings.apply(&mut account.settings);
                account.settings.validate()?;
                store.update_account_settings(&id, &account.settings).await?;
                println!("{}", serde_json::to_string_pretty(&account.settings)?);
                Ok(())
            }
            Command::Billing(BillingCommand::Report { account, since, until, csv, store }) => {
                let store = open_store(&store).await?;
                let query = store::LedgerQuery {
                    account_id: account,
                    since_ms: since.as_deref().map(crate::billing::parse_instant).transpose()?,
                    until_ms: until.as_deref().map(crate::billing::parse_instant).transpose()?,
                };
                let entries = store.billing_entries(&query).await?;
                let mut out = std::io::stdout().lock();
                if csv {
                    crate::billing::write_csv(&mut out, &entries)?;
                } else {
                    crate::billing::write_table(&mut out, &entries)?;
                }
                Ok(())
            }
            Command::AgentToken(AgentTokenCommand::Create { host, store }) => {
                let store = open_store(&store).await?;
                let (token, text) = crate::agent_tokens::mint(&host, now_ms())?;
                store.create_agent_token(&token).await?;
                println!("token {} for host {host}", token.token_id);
                println!("export FARMHAND_AGENT_TOKEN={text}");
                Ok(())
            }
            Command::AgentToken(AgentTokenCommand::List { store }) => {
                let store = open_store(&store).await?;
                println!("{:<18} {:<24} {:<8} CREATED", "TOKEN ID", "HOST", "STATUS");
                for t in store.agent_tokens().await? {
                    let created = chrono::DateTime::from_timestamp_millis(t.created_ms).unwrap_or_default();
                    let status = if t.revoked_ms.is_none() { "active" } else { "revoked" };
                    println!("{:<18} {:<24} {:<8} {}", t.token_id, t.host, status, created.to_rfc3339());
                }
                Ok(())
            }
            Command::AgentToken(AgentTokenCommand::Revoke { token_id, store }) => {
                let store = open_store(&store).await?;
                anyhow::ensure!(store.revoke_agent_token(&token_id, now_ms()).await?, "no active agent token {token_id}");
                println!("revoked {token_id}");
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
