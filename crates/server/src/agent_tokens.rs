//! Agent tokens: what `farmhand agent` presents to the server. A token names one host and
//! lets a process act as that host only (declare its devices, run the jobs given to it);
//! it grants nothing in the Device Farm API.
//!
//! Shape: `fhagent_<id>_<secret>`. The id finds the token without a scan; only the
//! SHA-256 of the secret is stored. Comparing digests rather than secrets means a timing
//! difference reveals nothing about the secret itself.

use anyhow::{bail, Context, Result};
use domain::host::{is_valid_host_name, AgentToken};
use sha2::{Digest, Sha256};
use store::Store;

use crate::accounts::random_hex;

const PREFIX: &str = "fhagent_";

fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A new token for `host`: the stored form, and the text to hand to the agent (shown once).
pub fn mint(host: &str, now_ms: i64) -> Result<(AgentToken, String)> {
    if !is_valid_host_name(host) {
        bail!("host name {host:?} must be 1-64 letters, digits, '-', '_' or '.', not starting with '-' or '.'");
    }
    let token_id = random_hex(8);
    let secret = random_hex(32);
    let token = AgentToken {
        token_id: token_id.clone(),
        secret_hash: secret_hash(&secret),
        host: host.to_string(),
        created_ms: now_ms,
        revoked_ms: None,
    };
    Ok((token, format!("{PREFIX}{token_id}_{secret}")))
}

/// The host a presented token stands for, if it is a live token.
pub async fn authenticate(store: &dyn Store, presented: &str) -> Result<Option<String>> {
    let Some((token_id, secret)) = presented.strip_prefix(PREFIX).and_then(|rest| rest.split_once('_')) else {
        return Ok(None);
    };
    let Some(token) = store.agent_token(token_id).await.context("looking up the agent token")? else {
        return Ok(None);
    };
    if token.revoked_ms.is_some() || token.secret_hash != secret_hash(secret) {
        return Ok(None);
    }
    Ok(Some(token.host))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_minted_token_authenticates_its_host_until_revoked() {
        let store = store::open("sqlite::memory:").await.expect("store");
        let (token, text) = mint("lab-1", 5).expect("minted");
        store.create_agent_token(&token).await.expect("stored");
        assert_eq!(authenticate(store.as_ref(), &text).await.expect("checked"), Some("lab-1".to_string()));

        // The last hex digit changed (to 0, or to 1 when it already was 0).
        let (kept, last) = text.split_at(text.len() - 1);
        let tampered = format!("{kept}{}", if last == "0" { "1" } else { "0" });
        assert_eq!(authenticate(store.as_ref(), &tampered).await.expect("checked"), None);
        assert_eq!(authenticate(store.as_ref(), "fhagent_nope_x").await.expect("checked"), None);
        assert_eq!(authenticate(store.as_ref(), "garbage").await.expect("checked"), None);
        assert!(!text.contains(&token.secret_hash), "the stored hash is not the secret");

        store.revoke_agent_token(&token.token_id, 9).await.expect("revoked");
        assert_eq!(authenticate(store.as_ref(), &text).await.expect("checked"), None);
    }

    #[test]
    fn host_names_are_checked() {
        assert!(mint("../etc", 0).is_err());
    }
}
