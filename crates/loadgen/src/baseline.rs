//! The physical limit of farmhand's stack: an axum handler that answers `{}`, optionally
//! after the same SigV4 check farmhand runs (hash the body, parse, verify against a secret),
//! with no store behind it. What farmhand adds on top of this is its own cost.

use anyhow::{Context, Result};
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::routing::post;
use axum::Router;
use protocol::sigv4::{self, Expectation, RequestParts};
use sha2::{Digest, Sha256};
use std::sync::Arc;

use crate::signer::Credentials;

pub const LISTENING: &str = "loadgen baseline listening on http://";

pub async fn serve(sigv4: bool) -> Result<()> {
    let credentials = if sigv4 {
        Some(Arc::new(Credentials {
            access_key_id: std::env::var("LOADGEN_ACCESS_KEY_ID").context("LOADGEN_ACCESS_KEY_ID")?,
            secret: std::env::var("LOADGEN_SECRET_ACCESS_KEY").context("LOADGEN_SECRET_ACCESS_KEY")?,
        }))
    } else {
        None
    };
    let app = Router::new().route(
        "/",
        post(move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let credentials = credentials.clone();
            async move {
                match credentials {
                    Some(c) => match verify(&c, &method, &uri, &headers, &body) {
                        Ok(()) => (StatusCode::OK, "{}".to_string()),
                        Err(message) => (StatusCode::FORBIDDEN, message),
                    },
                    None => (StatusCode::OK, "{}".to_string()),
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("{LISTENING}{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

fn verify(
    credentials: &Credentials,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), String> {
    let header_list: Vec<(String, String)> = headers
        .iter()
        .map(|(n, v)| (n.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let payload_sha256 = hex::encode(Sha256::digest(body));
    let parts = RequestParts {
        method: method.as_str(),
        raw_path: uri.path(),
        raw_query: uri.query().unwrap_or_default(),
        headers: &header_list,
        payload_sha256: Some(&payload_sha256),
    };
    let parsed = sigv4::parse(&parts).map_err(|e| e.message().to_string())?;
    if parsed.access_key_id() != credentials.access_key_id {
        return Err("unknown key".to_string());
    }
    let expect = Expectation { region: "us-west-2", service: "devicefarm" };
    parsed.verify(&credentials.secret, chrono::Utc::now(), &expect).map_err(|e| e.message().to_string())?;
    Ok(())
}
