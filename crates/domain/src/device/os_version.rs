//! Operating-system versions ("10.3.2", "14", "17.4.1"), ordered numerically by their
//! dotted components so that "10.3.2" < "10.10" (a string comparison says otherwise).
//!
//! Missing trailing components count as zero: "14" == "14.0" == "14.0.0". Eq, Ord and
//! Hash all use that normalised form, so the order is total and consistent with
//! equality; the original spelling is kept for display and the wire.
//!
//! Written by hand because general version crates (semver) insist on exactly three
//! components and pre-release tags, while device OS versions have one to four plain
//! numbers.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

/// A dotted, all-numeric OS version.
#[derive(Debug, Clone)]
pub struct OsVersion {
    text: String,
    /// Components without trailing zeros: the identity used by Eq/Ord/Hash.
    significant: Vec<u64>,
}

/// A string that is not a dotted numeric version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an OS version like 10.3.2 (numbers separated by dots)")]
pub struct InvalidOsVersion(pub String);

impl OsVersion {
    /// Parses "N(.N)*" where each N is ASCII digits fitting in 64 bits.
    pub fn parse(s: &str) -> Result<Self, InvalidOsVersion> {
        let invalid = || InvalidOsVersion(s.to_owned());
        let mut components = s
            .split('.')
            .map(|part| {
                // `u64::from_str` alone would also take "+5".
                if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(invalid());
                }
                part.parse::<u64>().map_err(|_| invalid())
            })
            .collect::<Result<Vec<_>, _>>()?;
        while components.last() == Some(&0) {
            components.pop();
        }
        Ok(OsVersion { text: s.to_owned(), significant: components })
    }

    /// The version as it was written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first component ("14" for "14.1"); 0 for "0" or "0.0".
    pub fn major(&self) -> u64 {
        self.significant.first().copied().unwrap_or(0)
    }

    /// The `index`-th dotted component, zero past the end.
    pub fn component(&self, index: usize) -> u64 {
        self.significant.get(index).copied().unwrap_or(0)
    }
}

impl PartialEq for OsVersion {
    fn eq(&self, other: &Self) -> bool {
        self.significant == other.significant
    }
}

impl Eq for OsVersion {}

impl Hash for OsVersion {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.significant.hash(state);
    }
}

impl Ord for OsVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        // Without trailing zeros, lexicographic order on the component lists is the
        // numeric order with implicit zero padding.
        self.significant.cmp(&other.significant)
    }
}

impl PartialOrd for OsVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl FromStr for OsVersion {
    type Err = InvalidOsVersion;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OsVersion::parse(s)
    }
}

impl fmt::Display for OsVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl serde::Serialize for OsVersion {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> serde::Deserialize<'de> for OsVersion {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        OsVersion::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn v(s: &str) -> OsVersion {
        OsVersion::parse(s).expect("valid version")
    }

    #[test]
    fn compares_numerically_not_as_text() {
        assert!(v("10.3.2") < v("10.10"));
        assert!(v("9") < v("10"));
        assert!(v("17.4.1") > v("17.4"));
        assert!(v("12") < v("12.0.1"));
    }

    #[test]
    fn trailing_zeros_do_not_change_the_version_but_the_text_is_kept() {
        assert_eq!(v("14"), v("14.0.0"));
        assert_eq!(v("14.0").as_str(), "14.0");
        assert_eq!(v("007.1"), v("7.1"));
        assert_eq!(v("0.0").major(), 0);
        assert_eq!(v("17.4.1").component(2), 1);
        assert_eq!(v("17.4.1").component(5), 0);
    }

    #[test]
    fn rejects_what_is_not_dotted_numbers() {
        for bad in ["", ".", "14.", ".14", "14..1", "+5", "-1", "12L", "v14", " 14", "1.2a", "99999999999999999999"] {
            assert_eq!(OsVersion::parse(bad), Err(InvalidOsVersion(bad.to_owned())), "{bad:?}");
        }
    }

    #[test]
    fn serde_uses_the_original_text() {
        let json = serde_json::to_string(&v("15.0")).expect("serialize");
        assert_eq!(json, "\"15.0\"");
        let back: OsVersion = serde_json::from_str("\"16.1\"").expect("deserialize");
        assert_eq!(back, v("16.1"));
        assert!(serde_json::from_str::<OsVersion>("\"abc\"").is_err());
    }

    fn components() -> impl Strategy<Value = Vec<u64>> {
        prop::collection::vec(prop_oneof![0u64..4, any::<u64>()], 1..5)
    }

    fn render(c: &[u64]) -> String {
        c.iter().map(u64::to_string).collect::<Vec<_>>().join(".")
    }

    /// Reference order: compare component by component, padding with zeros.
    fn padded_cmp(a: &[u64], b: &[u64]) -> Ordering {
        let n = a.len().max(b.len());
        (0..n)
            .map(|i| {
                let x = a.get(i).copied().unwrap_or(0);
                let y = b.get(i).copied().unwrap_or(0);
                x.cmp(&y)
            })
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    }

    proptest! {
        #[test]
        fn order_agrees_with_zero_padded_component_order(a in components(), b in components()) {
            let (va, vb) = (v(&render(&a)), v(&render(&b)));
            prop_assert_eq!(va.cmp(&vb), padded_cmp(&a, &b));
            prop_assert_eq!(va == vb, padded_cmp(&a, &b).is_eq());
        }

        #[test]
        fn order_is_total_antisymmetric_and_transitive(
            a in components(), b in components(), c in components()
        ) {
            let (va, vb, vc) = (v(&render(&a)), v(&render(&b)), v(&render(&c)));
            prop_assert_eq!(va.cmp(&vb), vb.cmp(&va).reverse());
            if va <= vb && vb <= vc {
                prop_assert!(va <= vc);
            }
            prop_assert_eq!(va.cmp(&va), Ordering::Equal);
        }

        #[test]
        fn parsing_arbitrary_text_never_panics_and_round_trips_the_text(s in ".{0,24}") {
            if let Ok(version) = OsVersion::parse(&s) {
                prop_assert_eq!(version.as_str(), s.as_str());
            }
        }
    }
}
