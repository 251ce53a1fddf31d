//! What a stored record is: one of the API's resources, or one of farmhand's own
//! bookkeeping records that live beside them. The store keeps it as text; everything
//! above the store names it by this type.

use crate::arn::ResourceKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecordKind {
    Resource(ResourceKind),
    /// An account's offering purchases and renewals (one record per account).
    OfferingLedger,
    /// An account's settings of a fleet device instance (labels, instance profile).
    DeviceInstanceSettings,
    /// A batch of a TestGrid session's recorded commands, under the session.
    TestGridActions,
}

impl RecordKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Resource(kind) => kind.as_str(),
            RecordKind::OfferingLedger => "offering-ledger",
            RecordKind::DeviceInstanceSettings => "deviceinstance-settings",
            RecordKind::TestGridActions => "testgrid-actions",
        }
    }

    /// The kind a stored text names, if any.
    pub fn parse(text: &str) -> Option<RecordKind> {
        match text {
            "offering-ledger" => Some(RecordKind::OfferingLedger),
            "deviceinstance-settings" => Some(RecordKind::DeviceInstanceSettings),
            "testgrid-actions" => Some(RecordKind::TestGridActions),
            other => ResourceKind::ALL.into_iter().find(|k| k.as_str() == other).map(RecordKind::Resource),
        }
    }
}

impl From<ResourceKind> for RecordKind {
    fn from(kind: ResourceKind) -> Self {
        RecordKind::Resource(kind)
    }
}

impl std::fmt::Display for RecordKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_from_its_text_and_no_two_share_one() {
        let mut all: Vec<RecordKind> = ResourceKind::ALL.into_iter().map(RecordKind::from).collect();
        all.extend([RecordKind::OfferingLedger, RecordKind::DeviceInstanceSettings, RecordKind::TestGridActions]);
        let texts: std::collections::BTreeSet<&str> = all.iter().map(|k| k.as_str()).collect();
        assert_eq!(texts.len(), all.len());
        for kind in all {
            assert_eq!(RecordKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(RecordKind::parse("nothing"), None);
    }
}
