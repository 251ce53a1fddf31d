//! The command line: `serve`, and the management commands that work on the same store.

use crate::output::{print_json, rfc3339, Format};
use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use serde_json::json;
use server::accounts;
use server::config::{ServeArgs, StoreArgs};
use std::process::ExitCode;
use std::sync::Arc;
use store::Store;

#[derive(Debug, Parser)]
#[command(name = "farmhand", version, about = "A self-hosted device farm that speaks the AWS Device Farm API")]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

impl Cli {
    /// How this command logs: the services (`serve`, `agent`) as configured, the others as text.
    pub fn log_format(&self) -> server::config::LogFormat {
        match &self.command {
            Command::Serve(args) => args.log_format(),
            Command::Agent(args) => args.log_format(),
            _ => server::config::LogFormat::default(),
        }
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the API server.
    Serve(Box<ServeArgs>),
    /// Run a device host: connect to a server and run the jobs of this machine's devices.
    Agent(host::agent::AgentArgs),
    /// Manage accounts.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Manage access keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Print a job's test-spec output (`--follow`: as it is written, until the job ends).
    /// Uses AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and AWS_ENDPOINT_URL_DEVICE_FARM.
    Logs {
        /// The job: arn:aws:devicefarm:REGION:ACCOUNT:job:PROJECT_ID/RUN_ID/NNNNN.
        job_arn: String,
        /// Keep printing as the job writes, until it ends.
        #[arg(long, short)]
        follow: bool,
        /// The Device Farm endpoint; default AWS_ENDPOINT_URL_DEVICE_FARM, then AWS_ENDPOINT_URL.
        #[arg(long)]
        endpoint_url: Option<String>,
    },
    /// Follow runs through the Device Farm API (credentials and endpoint as for `logs`).
    #[command(subcommand)]
    Runs(RunsCommand),
    /// List the devices the caller's account sees (ListDevices); credentials and endpoint as for `logs`.
    Devices(crate::device_list::DevicesArgs),
    /// Billing reports from the durable ledger.
    #[command(subcommand)]
    Billing(BillingCommand),
    /// Manage the tokens device hosts (`farmhand agent`) connect with.
    #[command(subcommand)]
    AgentToken(AgentTokenCommand),
    /// Mint a dashboard sign-in token for an account (printed once; paste it into the
    /// sign-in page's token field), valid on every replica sharing the store; or, with
    /// `--revoke`, sign the account out of the dashboard everywhere.
    UiToken {
        /// The account the token signs in as.
        #[arg(long)]
        account: String,
        /// How long the token and the session it opens last, in hours (at most 168).
        #[arg(long, default_value_t = 12.0)]
        hours: f64,
        /// Instead of minting: end every dashboard session of the account open now, the
        /// tokens' and the access keys' alike.
        #[arg(long, conflicts_with = "hours")]
        revoke: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
enum RunsCommand {
    /// Watch a run until it completes: its jobs' status, result and progress, then exit with
    /// a status from the run's result.
    #[command(after_help = crate::watch::EXIT_STATUS_HELP)]
    Watch(crate::watch::WatchArgs),
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
        /// table, or json: an array of {tokenId, host, status, created}.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        output: Format,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Revoke a token: the host can no longer connect with it.
    Revoke {
        /// The token's id, as `agent-token list` shows it.
        token_id: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
enum BillingCommand {
    /// Device minutes billed per job, with totals, as a table, CSV or JSON.
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
        /// How to print the report.
        #[arg(long, value_enum, default_value_t = server::billing::Format::Table)]
        output: server::billing::Format,
        /// The same as `--output csv`.
        #[arg(long, conflicts_with = "output")]
        csv: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
enum AccountCommand {
    /// Create an account with a first access key (printed once).
    Create {
        /// The account's name, shown by `account list`.
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
        /// table, or json: an array of {id, name, created}.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        output: Format,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Change an account's settings and limits (shown by GetAccountSettings).
    Update {
        /// The account's 12-digit id.
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
    /// Unmetered remote access device slots per platform (unmetered remote access sessions
    /// at once), e.g. `--unmetered-remote-access-devices ANDROID=0`.
    #[arg(long, value_parser = parse_platform_count)]
    unmetered_remote_access_devices: Vec<(String, i32)>,
    /// Most slots of an offering the account may hold (its maxSlots), e.g.
    /// `--max-slots OFFERING_ID=4`; PurchaseOffering and RenewOffering beyond it are refused.
    #[arg(long, value_parser = parse_offering_count)]
    max_slots: Vec<(String, i32)>,
    /// Metered device minutes the account may use in total (its trialMinutes).
    #[arg(long, conflicts_with = "no_trial_minutes")]
    trial_minutes: Option<f64>,
    /// Removes the metered-minutes quota.
    #[arg(long)]
    no_trial_minutes: bool,
    /// The longest jobTimeoutMinutes a project or run of the account may ask for.
    #[arg(long)]
    max_job_timeout_minutes: Option<i32>,
    /// The job timeout of a project or run that names none.
    #[arg(long)]
    default_job_timeout_minutes: Option<i32>,
    /// Projects the account may have.
    #[arg(long)]
    max_projects: Option<i32>,
    /// Uploads a project may have.
    #[arg(long)]
    max_uploads_per_project: Option<i32>,
    /// Device pools a project may have.
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

fn parse_offering_count(text: &str) -> Result<(String, i32), String> {
    let (offering, count) = text.rsplit_once('=').ok_or("expected OFFERING_ID=COUNT")?;
    Ok((offering.to_owned(), count.parse().map_err(|e| format!("{e}"))?))
}

impl SettingsArgs {
    fn apply(&self, s: &mut domain::account::AccountSettings) {
        for (offering, n) in &self.max_slots {
            s.max_slots.insert(offering.clone(), *n);
        }
        if let Some(n) = self.max_concurrent_jobs {
            s.max_concurrent_jobs = n;
        }
        for (platform, n) in &self.unmetered_devices {
            s.unmetered_devices.insert(platform.clone(), *n);
        }
        for (platform, n) in &self.unmetered_remote_access_devices {
            s.unmetered_remote_access_devices.insert(platform.clone(), *n);
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
        /// The account's 12-digit id.
        #[arg(long)]
        account: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Revoke an access key: requests signed with it are refused from now on.
    Revoke {
        /// The key's id (AKIA…).
        access_key_id: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List an account's access keys (ids only).
    List {
        /// The account's 12-digit id.
        #[arg(long)]
        account: String,
        /// table, or json: an array of {accessKeyId, status, created}.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        output: Format,
        #[command(flatten)]
        store: StoreArgs,
    },
}

async fn open_store(args: &StoreArgs) -> Result<Arc<dyn Store>> {
    let config = args.resolve()?;
    std::fs::create_dir_all(&config.data_dir).with_context(|| format!("creating {}", config.data_dir.display()))?;
    Ok(store::open(&config.database_url).await?)
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Cli {
    pub async fn run(self) -> Result<ExitCode> {
        self.command.run().await
    }
}

impl Command {
    /// Runs the command; its exit status is success unless the command has its own
    /// (`runs watch`) or fails.
    async fn run(self) -> Result<ExitCode> {
        let done = match self {
            Command::Runs(RunsCommand::Watch(args)) => return crate::watch::run(args).await,
            Command::Serve(args) => server::run(args.resolve()?).await,
            Command::Agent(args) => host::agent::run(args).await,
            Command::Account(AccountCommand::Create { name, id, store }) => {
                let store = open_store(&store).await?;
                let (account, key) = accounts::create_account(store.as_ref(), &name, id, now_ms()).await?;
                println!("account {} ({})", account.id, account.name);
                println!("export AWS_ACCESS_KEY_ID={}", key.access_key_id);
                println!("export AWS_SECRET_ACCESS_KEY={}", key.secret_access_key);
                Ok(())
            }
            Command::Account(AccountCommand::List { output, store }) => {
                let accounts = open_store(&store).await?.accounts().await?;
                if output == Format::Json {
                    let rows: Vec<_> = accounts
                        .iter()
                        .map(|a| json!({ "id": a.id, "name": a.name, "created": rfc3339(a.created_ms) }))
                        .collect();
                    return print_json(&json!(rows)).map(|()| ExitCode::SUCCESS);
                }
                println!("{:<14} {:<24} CREATED", "ID", "NAME");
                for a in accounts {
                    println!("{:<14} {:<24} {}", a.id, a.name, rfc3339(a.created_ms));
                }
                Ok(())
            }
            Command::Devices(args) => crate::device_list::run(args).await,
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
            Command::Billing(BillingCommand::Report { account, since, until, output, csv, store }) => {
                let store = open_store(&store).await?;
                let query = store::LedgerQuery {
                    account_id: account,
                    since_ms: since.as_deref().map(server::billing::parse_instant).transpose()?,
                    until_ms: until.as_deref().map(server::billing::parse_instant).transpose()?,
                };
                let entries = store.billing_entries(&query).await?;
                let format = if csv { server::billing::Format::Csv } else { output };
                server::billing::write(&mut std::io::stdout().lock(), format, &entries)
            }
            Command::UiToken { account, revoke: true, store, .. } => {
                let store = open_store(&store).await?;
                let mut found = store.account(&account).await?.with_context(|| format!("no account {account}"))?;
                found.settings.dashboard_sessions_not_before_ms = Some(now_ms());
                store.update_account_settings(&account, &found.settings).await?;
                println!("every dashboard session of account {account} is signed out");
                Ok(())
            }
            Command::UiToken { account, hours, store, .. } => {
                anyhow::ensure!(hours > 0.0 && hours <= 168.0, "--hours must be more than 0 and at most 168 (a week)");
                let store = open_store(&store).await?;
                anyhow::ensure!(store.account(&account).await?.is_some(), "no account {account}");
                let key = server::ui::session::SessionKey::load(store.as_ref()).await?;
                let session = server::ui::session::new_session(&account, None, now_ms(), (hours * 3_600_000.0) as i64);
                println!("{}", key.seal(&session));
                Ok(())
            }
            Command::AgentToken(AgentTokenCommand::Create { host, store }) => {
                let store = open_store(&store).await?;
                let (token, text) = server::agent_tokens::mint(&host, now_ms())?;
                store.create_agent_token(&token).await?;
                println!("token {} for host {host}", token.token_id);
                println!("export FARMHAND_AGENT_TOKEN={text}");
                Ok(())
            }
            Command::AgentToken(AgentTokenCommand::List { output, store }) => {
                let tokens = open_store(&store).await?.agent_tokens().await?;
                let status = |t: &domain::host::AgentToken| if t.revoked_ms.is_none() { "active" } else { "revoked" };
                if output == Format::Json {
                    let rows: Vec<_> = tokens
                        .iter()
                        .map(|t| json!({ "tokenId": t.token_id, "host": t.host, "status": status(t), "created": rfc3339(t.created_ms) }))
                        .collect();
                    return print_json(&json!(rows)).map(|()| ExitCode::SUCCESS);
                }
                println!("{:<18} {:<24} {:<8} CREATED", "TOKEN ID", "HOST", "STATUS");
                for t in &tokens {
                    println!("{:<18} {:<24} {:<8} {}", t.token_id, t.host, status(t), rfc3339(t.created_ms));
                }
                Ok(())
            }
            Command::AgentToken(AgentTokenCommand::Revoke { token_id, store }) => {
                let store = open_store(&store).await?;
                anyhow::ensure!(
                    store.revoke_agent_token(&token_id, now_ms()).await?,
                    "no active agent token {token_id}"
                );
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
            Command::Key(KeyCommand::List { account, output, store }) => {
                let keys = open_store(&store).await?.access_keys(&account).await?;
                let status = |k: &domain::account::AccessKey| if k.is_active() { "active" } else { "revoked" };
                if output == Format::Json {
                    let rows: Vec<_> = keys
                        .iter()
                        .map(|k| json!({ "accessKeyId": k.access_key_id, "status": status(k), "created": rfc3339(k.created_ms) }))
                        .collect();
                    return print_json(&json!(rows)).map(|()| ExitCode::SUCCESS);
                }
                println!("{:<22} {:<8} CREATED", "ACCESS KEY ID", "STATUS");
                for k in &keys {
                    println!("{:<22} {:<8} {}", k.access_key_id, status(k), rfc3339(k.created_ms));
                }
                Ok(())
            }
        };
        done.map(|()| ExitCode::SUCCESS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Every command below `cmd`, with the words that reach it (`["runs", "watch"]`).
    fn walk(cmd: &clap::Command, path: Vec<String>, out: &mut Vec<(Vec<String>, clap::Command)>) {
        for sub in cmd.get_subcommands() {
            let mut words = path.clone();
            words.push(sub.get_name().to_string());
            out.push((words.clone(), sub.clone()));
            walk(sub, words, out);
        }
    }

    #[test]
    fn every_command_and_argument_explains_itself() {
        let root = Cli::command();
        root.clone().debug_assert();
        let mut commands = Vec::new();
        walk(&root, Vec::new(), &mut commands);
        assert!(commands.iter().any(|(words, _)| words == &["runs", "watch"]), "runs watch exists");
        assert!(commands.len() > 15, "the whole tree was walked: {}", commands.len());
        let mut unexplained = Vec::new();
        for (words, cmd) in &commands {
            let name = words.join(" ");
            if cmd.get_about().is_none_or(|a| a.to_string().trim().is_empty()) {
                unexplained.push(format!("`farmhand {name}`"));
            }
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if id != "help" && id != "version" && arg.get_help().is_none() && arg.get_long_help().is_none() {
                    unexplained.push(format!("`farmhand {name}` {id}"));
                }
            }
            let mut argv = vec!["farmhand".to_string()];
            argv.extend(words.iter().cloned());
            argv.push("--help".into());
            let shown = root.clone().try_get_matches_from(&argv).expect_err("--help stops parsing");
            assert_eq!(shown.kind(), clap::error::ErrorKind::DisplayHelp, "`farmhand {name} --help`");
            assert!(shown.to_string().contains("Usage:"), "`farmhand {name} --help` shows usage");
        }
        assert!(unexplained.is_empty(), "without help text: {unexplained:#?}");
    }

    #[test]
    fn the_watch_help_documents_the_exit_status() {
        let shown =
            Cli::command().try_get_matches_from(["farmhand", "runs", "watch", "--help"]).expect_err("help").to_string();
        for line in
            ["0  PASSED", "3  FAILED", "4  ERRORED", "5  STOPPED", "6  WARNED", "7  SKIPPED", "1  the run could not"]
        {
            assert!(shown.contains(line), "{line:?} missing from\n{shown}");
        }
        assert!(shown.contains("the last line is the completed run"), "{shown}");
    }

    #[test]
    fn csv_is_an_alias_that_does_not_mix_with_output() {
        let parsed = Cli::try_parse_from(["farmhand", "billing", "report", "--csv"]);
        assert!(parsed.is_ok());
        let both =
            Cli::try_parse_from(["farmhand", "billing", "report", "--csv", "--output", "json"]).expect_err("conflict");
        assert_eq!(both.kind(), clap::error::ErrorKind::ArgumentConflict);
    }
}
