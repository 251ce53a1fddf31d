//! Builds JSON 1.1 requests signed the way the AWS SDKs sign them (SigV4, header form, a
//! fresh signature per request), with the same signer the server's verifier is tested against.

use crate::http::Request;
use anyhow::{anyhow, Result};
use bytes::Bytes;
use protocol::sigv4::{sign_headers, RequestParts, SigningParams};
use sha2::{Digest, Sha256};
use std::net::SocketAddr;

#[derive(Debug, Clone)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret: String,
}

/// One JSON 1.1 service at one address: its target prefix and signing scope.
#[derive(Debug, Clone)]
pub struct Service {
    pub addr: SocketAddr,
    pub target_prefix: String,
    pub signing_name: String,
    pub region: String,
    /// `None` sends unsigned requests (the bare baseline).
    pub credentials: Option<Credentials>,
}

/// The target prefixes and signing names of the services the bench talks to.
pub const DEVICE_FARM: (&str, &str) = ("DeviceFarm_20150623", "devicefarm");
pub const ECS: (&str, &str) = ("AmazonEC2ContainerServiceV20141113", "ecs");
/// EC2 speaks the query protocol: no target header, so no prefix.
pub const EC2: (&str, &str) = ("", "ec2");

impl Service {
    pub fn new(
        addr: SocketAddr,
        (target_prefix, signing_name): (&str, &str),
        credentials: Option<Credentials>,
    ) -> Service {
        Service {
            addr,
            target_prefix: target_prefix.to_string(),
            signing_name: signing_name.to_string(),
            region: "us-west-2".to_string(),
            credentials,
        }
    }

    /// A JSON 1.1 call of `operation`.
    pub fn request(&self, operation: &str, body: &serde_json::Value) -> Result<Request> {
        let target = format!("{}.{operation}", self.target_prefix);
        self.signed(
            vec![("content-type", "application/x-amz-json-1.1"), ("x-amz-target", &target)],
            Bytes::from(serde_json::to_vec(body)?),
        )
    }

    /// A query-protocol (form-encoded) call, as EC2 takes them.
    pub fn query(&self, form: &str) -> Result<Request> {
        self.signed(
            vec![("content-type", "application/x-www-form-urlencoded; charset=utf-8")],
            Bytes::from(form.to_string()),
        )
    }

    fn signed(&self, extra_headers: Vec<(&str, &str)>, body: Bytes) -> Result<Request> {
        let mut headers = vec![("host".to_string(), self.addr.to_string())];
        headers.extend(extra_headers.into_iter().map(|(n, v)| (n.to_string(), v.to_string())));
        if let Some(credentials) = &self.credentials {
            let payload = hex::encode(Sha256::digest(&body));
            let parts = RequestParts {
                method: "POST",
                raw_path: "/",
                raw_query: "",
                headers: &headers,
                payload_sha256: Some(&payload),
            };
            let params = SigningParams {
                access_key_id: &credentials.access_key_id,
                secret: &credentials.secret,
                region: &self.region,
                service: &self.signing_name,
                time: chrono::Utc::now(),
            };
            let signed = sign_headers(&parts, &params).map_err(|e| anyhow!("signing: {e:?}"))?;
            headers.extend(signed);
        }
        Ok(Request { method: http::Method::POST, path: "/".to_string(), headers, body })
    }
}
