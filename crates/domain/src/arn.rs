//! Device Farm ARNs: `arn:aws:devicefarm:REGION:ACCOUNT:KIND:ID`.
//!
//! The formats are AWS's (see device-farm-notes.md, "ARNs"): projects carry a bare UUID;
//! children of a project carry `PROJECT_ID/...` paths; jobs, suites and tests add
//! five-digit zero-padded indexes under their run; devices, device instances and curated
//! pools carry no account. An [`Arn`] that parsed is well-formed; whether it names
//! something that exists, in the caller's account, is the store's question.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceKind {
    Project,
    Run,
    Job,
    Suite,
    Test,
    Artifact,
    Sample,
    Upload,
    DevicePool,
    Device,
    DeviceInstance,
    InstanceProfile,
    NetworkProfile,
    Session,
    VpceConfiguration,
    TestGridProject,
    TestGridSession,
}

impl ResourceKind {
    pub const ALL: [ResourceKind; 17] = [
        ResourceKind::Project,
        ResourceKind::Run,
        ResourceKind::Job,
        ResourceKind::Suite,
        ResourceKind::Test,
        ResourceKind::Artifact,
        ResourceKind::Sample,
        ResourceKind::Upload,
        ResourceKind::DevicePool,
        ResourceKind::Device,
        ResourceKind::DeviceInstance,
        ResourceKind::InstanceProfile,
        ResourceKind::NetworkProfile,
        ResourceKind::Session,
        ResourceKind::VpceConfiguration,
        ResourceKind::TestGridProject,
        ResourceKind::TestGridSession,
    ];

    /// The resource-type word inside the ARN.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Project => "project",
            ResourceKind::Run => "run",
            ResourceKind::Job => "job",
            ResourceKind::Suite => "suite",
            ResourceKind::Test => "test",
            ResourceKind::Artifact => "artifact",
            ResourceKind::Sample => "sample",
            ResourceKind::Upload => "upload",
            ResourceKind::DevicePool => "devicepool",
            ResourceKind::Device => "device",
            ResourceKind::DeviceInstance => "deviceinstance",
            ResourceKind::InstanceProfile => "instanceprofile",
            ResourceKind::NetworkProfile => "networkprofile",
            ResourceKind::Session => "session",
            ResourceKind::VpceConfiguration => "vpceconfiguration",
            ResourceKind::TestGridProject => "testgrid-project",
            ResourceKind::TestGridSession => "testgrid-session",
        }
    }

    /// How many `/`-separated segments the id has, when the kind fixes it: project
    /// children are `PROJECT/ID`, a job adds its index under the run, and so on down.
    fn segments(self) -> Option<usize> {
        match self {
            ResourceKind::Project
            | ResourceKind::Device
            | ResourceKind::DeviceInstance
            | ResourceKind::InstanceProfile
            | ResourceKind::VpceConfiguration
            | ResourceKind::TestGridProject => Some(1),
            ResourceKind::Run | ResourceKind::Upload => Some(2),
            // private `PROJECT/ID`, curated just `ID`
            ResourceKind::DevicePool | ResourceKind::NetworkProfile => None,
            ResourceKind::Job | ResourceKind::Session => Some(3),
            ResourceKind::Suite | ResourceKind::Sample => Some(4),
            ResourceKind::Test => Some(5),
            ResourceKind::Artifact => None, // under a job, suite or test
            ResourceKind::TestGridSession => Some(2),
        }
    }

    /// Kinds that exist outside any account (the public fleet, curated pools and curated
    /// network profiles).
    pub fn may_be_accountless(self) -> bool {
        matches!(
            self,
            ResourceKind::Device
                | ResourceKind::DeviceInstance
                | ResourceKind::DevicePool
                | ResourceKind::NetworkProfile
        )
    }

    /// Kinds whose account-owned ARNs sit under a project (`PROJECT/ID`) while their
    /// curated, account-less ones are a bare `ID`.
    fn curated_or_project_scoped(self) -> bool {
        matches!(self, ResourceKind::DevicePool | ResourceKind::NetworkProfile)
    }
}

impl FromStr for ResourceKind {
    type Err = ArnError;
    fn from_str(s: &str) -> Result<Self, ArnError> {
        ResourceKind::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| ArnError::UnknownKind(s.to_string()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArnError {
    #[error("'{0}' is not a Device Farm ARN (arn:aws:devicefarm:REGION:ACCOUNT:TYPE:ID)")]
    Malformed(String),
    #[error("'{0}' is not a Device Farm resource type")]
    UnknownKind(String),
    #[error("the ARN's resource id '{0}' does not have the form its type requires")]
    BadId(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Arn {
    pub region: String,
    /// Empty for account-less resources (devices, curated pools).
    pub account: String,
    pub kind: ResourceKind,
    /// Everything after `KIND:`, e.g. `PROJECT_ID/RUN_ID/00000` for a job.
    pub id: String,
}

/// Formats a job, suite or test index the way AWS does.
pub fn index(n: u32) -> String {
    format!("{n:05}")
}

impl Arn {
    pub fn new(region: &str, account: &str, kind: ResourceKind, id: impl Into<String>) -> Self {
        Self { region: region.to_string(), account: account.to_string(), kind, id: id.into() }
    }

    /// A child of this ARN: a resource whose id extends this one's by `segment`.
    pub fn child(&self, kind: ResourceKind, segment: &str) -> Self {
        Self::new(&self.region, &self.account, kind, format!("{}/{segment}", self.id))
    }

    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.id.split('/')
    }

    /// The project a resource belongs to, as the project's ARN; `None` for resources that
    /// live outside projects (devices, curated pools, instance profiles).
    pub fn project(&self) -> Option<Arn> {
        let project_scoped = matches!(
            self.kind,
            ResourceKind::Run
                | ResourceKind::Job
                | ResourceKind::Suite
                | ResourceKind::Test
                | ResourceKind::Artifact
                | ResourceKind::Sample
                | ResourceKind::Upload
                | ResourceKind::Session
        ) || (self.kind.curated_or_project_scoped() && self.id.contains('/'));
        match self.kind {
            ResourceKind::Project => Some(self.clone()),
            _ if project_scoped => {
                let project_id = self.segments().next()?;
                Some(Arn::new(&self.region, &self.account, ResourceKind::Project, project_id))
            }
            _ => None,
        }
    }

    /// The ARN with its last id segment dropped, retyped as `kind` (a job's run, a suite's job…).
    pub fn parent(&self, kind: ResourceKind) -> Option<Arn> {
        let (parent, _) = self.id.rsplit_once('/')?;
        Some(Arn::new(&self.region, &self.account, kind, parent))
    }
}

impl FromStr for Arn {
    type Err = ArnError;

    fn from_str(s: &str) -> Result<Self, ArnError> {
        let malformed = || ArnError::Malformed(s.to_string());
        let mut parts = s.splitn(7, ':');
        let (Some("arn"), Some("aws"), Some("devicefarm"), Some(region), Some(account), Some(kind), Some(id)) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed());
        };
        let kind: ResourceKind = kind.parse()?;
        let region_ok = !region.is_empty() && region.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        let account_ok = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())
            || (account.is_empty() && kind.may_be_accountless());
        if !region_ok || !account_ok {
            return Err(malformed());
        }
        let segments: Vec<&str> = id.split('/').collect();
        let fixed_ok = kind.segments().is_none_or(|n| segments.len() == n);
        let shape_ok = segments
            .iter()
            .all(|seg| !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        let pool_ok = !kind.curated_or_project_scoped()
            || (account.is_empty() && segments.len() == 1)
            || (!account.is_empty() && segments.len() == 2);
        if !fixed_ok || !shape_ok || !pool_ok || segments.len() > 6 {
            return Err(ArnError::BadId(id.to_string()));
        }
        Ok(Arn::new(region, account, kind, id))
    }
}

impl fmt::Display for Arn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "arn:aws:devicefarm:{}:{}:{}:{}", self.region, self.account, self.kind.as_str(), self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ACCOUNT: &str = "123456789012";

    #[test]
    fn parses_the_documented_forms() {
        let cases = [
            (
                "arn:aws:devicefarm:us-west-2:123456789012:project:5e01a8c7-c861-4c0a-b1d5-12345EXAMPLE",
                ResourceKind::Project,
            ),
            ("arn:aws:devicefarm:us-west-2:123456789012:run:5e01a8c7/0fcac17b", ResourceKind::Run),
            ("arn:aws:devicefarm:us-west-2:123456789012:job:5e01a8c7/0fcac17b/00000", ResourceKind::Job),
            ("arn:aws:devicefarm:us-west-2:123456789012:suite:5e01a8c7/0fcac17b/00000/00001", ResourceKind::Suite),
            ("arn:aws:devicefarm:us-west-2:123456789012:test:5e01a8c7/0fcac17b/00000/00001/00000", ResourceKind::Test),
            ("arn:aws:devicefarm:us-west-2:123456789012:upload:5e01a8c7/abc", ResourceKind::Upload),
            ("arn:aws:devicefarm:us-west-2:123456789012:devicepool:5e01a8c7/abc", ResourceKind::DevicePool),
            ("arn:aws:devicefarm:us-west-2::devicepool:082d10e5-d7d7-48a5-ba5c-b33d66efa1f5", ResourceKind::DevicePool),
            ("arn:aws:devicefarm:us-west-2:123456789012:networkprofile:5e01a8c7/abc", ResourceKind::NetworkProfile),
            (
                "arn:aws:devicefarm:us-west-2::networkprofile:8a1b6e2c-0d3f-5a4e-9b7c-1d2e3f405162",
                ResourceKind::NetworkProfile,
            ),
            ("arn:aws:devicefarm:us-west-2::device:F4A0F2D2E4D8483BBF0D7E9A9E6C8E55", ResourceKind::Device),
        ];
        for (text, kind) in cases {
            let arn: Arn = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(arn.kind, kind);
            assert_eq!(arn.to_string(), text);
        }
    }

    #[test]
    fn rejects_what_aws_would_not_issue() {
        for bad in [
            "arn:aws:s3:us-west-2:123456789012:project:x",
            "arn:aws:devicefarm:us-west-2:123:project:x",
            "arn:aws:devicefarm:us-west-2::project:x",
            "arn:aws:devicefarm:us-west-2:123456789012:widget:x",
            "arn:aws:devicefarm:us-west-2:123456789012:job:a/b",
            "arn:aws:devicefarm:us-west-2:123456789012:run:a//b",
            "arn:aws:devicefarm:us-west-2:123456789012:project:",
            "arn:aws:devicefarm:us-west-2:123456789012:devicepool:a",
            "arn:aws:devicefarm:us-west-2::devicepool:a/b",
            "arn:aws:devicefarm:us-west-2:123456789012:networkprofile:a",
            "arn:aws:devicefarm:us-west-2::networkprofile:a/b",
        ] {
            assert!(bad.parse::<Arn>().is_err(), "{bad}");
        }
    }

    #[test]
    fn project_and_parent() {
        let job: Arn = "arn:aws:devicefarm:us-west-2:123456789012:job:p1/r1/00003".parse().expect("job");
        assert_eq!(
            job.project().map(|p| p.to_string()).as_deref(),
            Some("arn:aws:devicefarm:us-west-2:123456789012:project:p1")
        );
        assert_eq!(
            job.parent(ResourceKind::Run).map(|p| p.to_string()).as_deref(),
            Some("arn:aws:devicefarm:us-west-2:123456789012:run:p1/r1")
        );
        let run = Arn::new("us-west-2", ACCOUNT, ResourceKind::Project, "p1").child(ResourceKind::Run, "r1");
        assert_eq!(run.child(ResourceKind::Job, &index(3)), job);
    }

    proptest! {
        #[test]
        fn display_parse_round_trip(kind in prop::sample::select(ResourceKind::ALL.to_vec()),
                                    segs in prop::collection::vec("[A-Za-z0-9-]{1,12}", 1..6)) {
            let n = match (kind.segments(), kind) {
                (Some(n), _) => n,
                (None, ResourceKind::DevicePool | ResourceKind::NetworkProfile) => 2,
                (None, _) => segs.len(),
            };
            prop_assume!(segs.len() >= n);
            let arn = Arn::new("us-west-2", ACCOUNT, kind, segs[..n].join("/"));
            prop_assert_eq!(arn.to_string().parse::<Arn>(), Ok(arn));
        }

        #[test]
        fn parse_never_panics(s in ".{0,120}") {
            let _ = s.parse::<Arn>();
        }
    }
}
