//! Accounts and access keys: the default account a fresh server creates, and the
//! `farmhand account …` / `farmhand key …` commands. Randomness comes from the OS here;
//! the domain only shapes it.

use anyhow::{bail, Context, Result};
use domain::account::{self, AccessKey, Account, AccountSettings, ACCESS_KEY_RANDOM_BYTES};
use rand::RngCore;
use store::{Store, StoreError};

/// Where replicas starting together on an empty database agree on the default account's
/// id: the first to store it wins, so they create one account between them, not one each.
const DEFAULT_ACCOUNT_ID: &str = "default-account-id";

pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    hex::encode(buf)
}

pub fn new_key(account_id: &str, now_ms: i64) -> AccessKey {
    let mut random = [0u8; ACCESS_KEY_RANDOM_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut random);
    AccessKey::generate(account_id, now_ms, &random)
}

pub async fn create_account(
    store: &dyn Store,
    name: &str,
    id: Option<String>,
    now_ms: i64,
) -> Result<(Account, AccessKey)> {
    let id = match id {
        Some(id) => {
            account::validate_account_id(&id)?;
            id
        }
        None => {
            let mut random = [0u8; 8];
            rand::rngs::OsRng.fill_bytes(&mut random);
            Account::new_id(random)
        }
    };
    if store.account(&id).await?.is_some() {
        bail!("account {id} already exists");
    }
    let account =
        Account { id: id.clone(), name: name.to_string(), created_ms: now_ms, settings: AccountSettings::default() };
    store.create_account(&account).await?;
    let key = new_key(&id, now_ms);
    store.create_access_key(&key).await?;
    Ok((account, key))
}

pub enum DefaultAccount {
    /// Made by this start: the key's secret may be shown, once.
    Created {
        key: AccessKey,
    },
    Existing {
        account_id: String,
        configured_key: Option<String>,
    },
}

/// Makes sure there is an account to sign in with. A configured root key is created under
/// the default account if the store does not know it yet (CI sets it, so its scripts never
/// need to read the server's output).
pub async fn ensure_default_account(
    store: &dyn Store,
    root_key: Option<(String, String)>,
    now_ms: i64,
) -> Result<DefaultAccount> {
    let existing = store.accounts().await?.into_iter().next();
    let account = match existing {
        Some(a) => a,
        None => {
            let mut random = [0u8; 8];
            rand::rngs::OsRng.fill_bytes(&mut random);
            let id = store.secret_or_init(DEFAULT_ACCOUNT_ID, Account::new_id(random)).await?;
            let account =
                Account { id, name: "default".into(), created_ms: now_ms, settings: AccountSettings::default() };
            match store.create_account(&account).await {
                Ok(()) => {
                    let generated = new_key(&account.id, now_ms);
                    store.create_access_key(&generated).await?;
                    if root_key.is_none() {
                        return Ok(DefaultAccount::Created { key: generated });
                    }
                    // The configured key replaces the generated one, which nobody has seen.
                    store.revoke_access_key(&generated.access_key_id, now_ms).await?;
                    account
                }
                // Another replica created it a moment ago; its start prints the key.
                Err(StoreError::AlreadyExists) => account,
                Err(e) => return Err(e.into()),
            }
        }
    };
    let Some((key_id, secret)) = root_key else {
        return Ok(DefaultAccount::Existing { account_id: account.id, configured_key: None });
    };
    account::validate_access_key_id(&key_id).context(
        "FARMHAND_ROOT_ACCESS_KEY_ID must look like an AWS access key id (AKIA + 16 upper-case letters or digits)",
    )?;
    if store.access_key(&key_id).await?.is_none() {
        let key = AccessKey {
            access_key_id: key_id.clone(),
            secret_access_key: secret.clone(),
            account_id: account.id.clone(),
            created_ms: now_ms,
            revoked_ms: None,
        };
        match store.create_access_key(&key).await {
            // AlreadyExists: a replica starting with the same configuration stored it first.
            Ok(()) | Err(StoreError::AlreadyExists) => {}
            Err(e) => return Err(e.into()),
        }
    }
    match store.access_key(&key_id).await? {
        Some(k) if k.secret_access_key != secret => {
            bail!("access key {key_id} already exists with a different secret")
        }
        Some(k) if !k.is_active() => bail!("access key {key_id} was revoked"),
        Some(k) => Ok(DefaultAccount::Existing { account_id: k.account_id, configured_key: Some(key_id) }),
        None => bail!("access key {key_id} could not be stored"),
    }
}
