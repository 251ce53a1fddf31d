//! Where blobs live, as an operator writes it (`--blob-store`): a local directory, or an
//! S3-compatible bucket.
//!
//! - `/var/lib/farmhand/blobs`, `./blobs` or `file:///var/lib/farmhand/blobs`: a directory.
//! - `s3://BUCKET[/PREFIX][?endpoint=URL&region=REGION]`: a bucket, optionally under a key
//!   prefix so several deployments can share one bucket. `endpoint` points at an
//!   S3-compatible service (MinIO, Ceph, moto…), reached with path-style requests.
//!
//! Credentials never come from the URL, which ends up in logs and process listings; they come
//! from the standard AWS variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! `AWS_SESSION_TOKEN`, or a role), as for any AWS tool.

use std::fmt;
use std::path::PathBuf;

use object_store::aws::AmazonS3Builder;
use url::Url;

use super::BlobError;

/// A parsed `--blob-store` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobLocation {
    Local(PathBuf),
    S3(S3Location),
}

/// A bucket and the settings the URL gave for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    /// Keys are stored under `PREFIX/`; `None` for the bucket's root.
    pub prefix: Option<String>,
    /// An S3-compatible service's base URL; `None` for AWS itself.
    pub endpoint: Option<String>,
    /// `None` leaves it to AWS_REGION / AWS_DEFAULT_REGION.
    pub region: Option<String>,
}

/// Query parameters that would put a secret into the URL.
const SECRET_PARAMETERS: &[&str] = &[
    "access_key_id",
    "secret_access_key",
    "session_token",
    "token",
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
];

impl BlobLocation {
    pub fn parse(text: &str) -> Result<BlobLocation, BlobError> {
        if text.trim().is_empty() {
            return Err(invalid("it is empty"));
        }
        // Anything without a scheme is a path, even one with a colon in a file name.
        if !text.contains("://") {
            return Ok(BlobLocation::Local(PathBuf::from(text)));
        }
        let url = Url::parse(text).map_err(|e| invalid(format!("not a URL: {e}")))?;
        match url.scheme() {
            "file" => parse_file(&url),
            "s3" => parse_s3(&url).map(BlobLocation::S3),
            other => Err(invalid(format!("unsupported scheme {other:?} (use a path, file:///PATH or s3://BUCKET)"))),
        }
    }
}

fn parse_file(url: &Url) -> Result<BlobLocation, BlobError> {
    if url.query().is_some() {
        return Err(invalid("a file:// URL takes no parameters"));
    }
    url.to_file_path()
        .map(BlobLocation::Local)
        .map_err(|()| invalid("a file:// URL needs an absolute path and no host (file:///PATH)"))
}

fn parse_s3(url: &Url) -> Result<S3Location, BlobError> {
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("credentials do not belong in the URL: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"));
    }
    let bucket = match url.host_str() {
        Some(b) if !b.is_empty() => b.to_owned(),
        _ => return Err(invalid("s3:// needs a bucket name (s3://BUCKET)")),
    };
    if url.port().is_some() {
        return Err(invalid("s3://BUCKET takes no port: give an S3-compatible service as ?endpoint=URL"));
    }
    let prefix = url.path().trim_matches('/');
    let prefix = (!prefix.is_empty()).then(|| prefix.to_owned());
    if let Some(p) = &prefix {
        object_store::path::Path::parse(p).map_err(|e| invalid(format!("bad key prefix {p:?}: {e}")))?;
    }
    let mut location = S3Location { bucket, prefix, endpoint: None, region: None };
    for (name, value) in url.query_pairs() {
        let slot = match name.as_ref() {
            "endpoint" => &mut location.endpoint,
            "region" => &mut location.region,
            secret if SECRET_PARAMETERS.contains(&secret.to_ascii_lowercase().as_str()) => {
                return Err(invalid(format!(
                    "{secret} does not belong in the URL: set it in the environment (AWS_ACCESS_KEY_ID, \
                     AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN)"
                )))
            }
            other => return Err(invalid(format!("unknown parameter {other:?} (known: endpoint, region)"))),
        };
        if value.is_empty() {
            return Err(invalid(format!("{name} is empty")));
        }
        if slot.replace(value.into_owned()).is_some() {
            return Err(invalid(format!("{name} is given twice")));
        }
    }
    if let Some(endpoint) = &location.endpoint {
        let parsed = Url::parse(endpoint).map_err(|e| invalid(format!("endpoint {endpoint:?}: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(invalid(format!("endpoint {endpoint:?} must be an http:// or https:// URL")));
        }
    }
    Ok(location)
}

impl S3Location {
    /// An object_store client for this bucket: the URL's settings over what the standard
    /// `AWS_*` variables say (credentials, region). Callers may add settings (e.g. fixed
    /// credentials in tests) before building.
    pub fn client(&self) -> AmazonS3Builder {
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(&self.bucket);
        if let Some(region) = &self.region {
            builder = builder.with_region(region);
        }
        if let Some(endpoint) = &self.endpoint {
            // S3-compatible services are usually reached by address, where a bucket cannot be
            // a host name; they all take the bucket in the path.
            builder = builder
                .with_endpoint(endpoint)
                .with_virtual_hosted_style_request(false)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        builder
    }
}

/// The URL again, fit for logs (it never holds a secret).
impl fmt::Display for BlobLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlobLocation::Local(dir) => write!(f, "{}", dir.display()),
            BlobLocation::S3(s3) => {
                write!(f, "s3://{}", s3.bucket)?;
                if let Some(prefix) = &s3.prefix {
                    write!(f, "/{prefix}")?;
                }
                let params: Vec<String> = [("endpoint", &s3.endpoint), ("region", &s3.region)]
                    .into_iter()
                    .filter_map(|(name, value)| value.as_ref().map(|v| format!("{name}={v}")))
                    .collect();
                if !params.is_empty() {
                    write!(f, "?{}", params.join("&"))?;
                }
                Ok(())
            }
        }
    }
}

fn invalid(reason: impl Into<String>) -> BlobError {
    BlobError::InvalidLocation(reason.into())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a panic is the failure report

    use super::*;

    fn s3(text: &str) -> S3Location {
        match BlobLocation::parse(text) {
            Ok(BlobLocation::S3(s3)) => s3,
            other => panic!("{text}: {other:?}"),
        }
    }

    fn rejected(text: &str) -> String {
        match BlobLocation::parse(text) {
            Err(BlobError::InvalidLocation(reason)) => reason,
            other => panic!("{text} was accepted: {other:?}"),
        }
    }

    #[test]
    fn paths_and_file_urls_are_directories() {
        for (text, dir) in [
            ("/var/lib/farmhand/blobs", "/var/lib/farmhand/blobs"),
            ("./blobs", "./blobs"),
            ("relative/dir", "relative/dir"),
            ("file:///srv/blobs", "/srv/blobs"),
            ("file:///srv/with%20space", "/srv/with space"),
        ] {
            assert_eq!(BlobLocation::parse(text).unwrap(), BlobLocation::Local(PathBuf::from(dir)), "{text}");
        }
        assert!(rejected("file://host/srv").contains("file:///PATH"));
        assert!(rejected("file:///srv?x=1").contains("no parameters"));
    }

    #[test]
    fn s3_urls_give_bucket_prefix_endpoint_and_region() {
        assert_eq!(s3("s3://media"), S3Location { bucket: "media".into(), prefix: None, endpoint: None, region: None });
        assert_eq!(
            s3("s3://media/farm/prod/?endpoint=http://127.0.0.1:9000&region=eu-west-1"),
            S3Location {
                bucket: "media".into(),
                prefix: Some("farm/prod".into()),
                endpoint: Some("http://127.0.0.1:9000".into()),
                region: Some("eu-west-1".into()),
            }
        );
        // An endpoint with its own query survives when percent-encoded.
        assert_eq!(
            s3("s3://b?endpoint=https%3A%2F%2Fs3.example.test%2Fbase").endpoint,
            Some("https://s3.example.test/base".into())
        );
    }

    #[test]
    fn secrets_and_unknown_settings_are_refused() {
        for text in ["s3://b?secret_access_key=abc", "s3://b?AWS_SECRET_ACCESS_KEY=abc", "s3://key:secret@b"] {
            let reason = rejected(text);
            assert!(reason.contains("environment") || reason.contains("AWS_SECRET_ACCESS_KEY"), "{text}: {reason}");
            assert!(!reason.contains("abc") && !reason.contains(":secret"), "the error repeats the secret: {reason}");
        }
        assert!(rejected("s3://b?endpont=http://x").contains("unknown parameter"));
        assert!(rejected("s3://b?region=a&region=b").contains("twice"));
        assert!(rejected("s3://b?region=").contains("empty"));
        assert!(rejected("s3://b?endpoint=localhost:9000").contains("http://"));
        assert!(rejected("s3://b:9000").contains("endpoint"));
        assert!(rejected("s3:///prefix").contains("bucket"));
        assert!(rejected("gs://b").contains("unsupported scheme"));
        assert!(rejected("").contains("empty"));
        assert!(rejected("s3://b/a//b").contains("prefix"));
    }

    #[test]
    fn display_round_trips() {
        for text in ["s3://media", "s3://media/farm/prod?endpoint=http://127.0.0.1:9000&region=eu-west-1", "/srv/blobs"]
        {
            let location = BlobLocation::parse(text).unwrap();
            assert_eq!(location.to_string(), text);
            assert_eq!(BlobLocation::parse(&location.to_string()).unwrap(), location);
        }
    }
}
