//! Android API levels (an APK's `minSdkVersion`) and the Android release each one
//! first shipped in, so an app's minimum SDK can be compared with a device's `os`.

use super::os_version::OsVersion;

/// (API level, first release with it). Level 32 is Android 12L, which reports its
/// version as "12"; the fleet cannot tell 12 from 12L, so a "12" device is taken to
/// support level 32.
const RELEASES: &[(u32, &str)] = &[
    (1, "1.0"),
    (2, "1.1"),
    (3, "1.5"),
    (4, "1.6"),
    (5, "2.0"),
    (6, "2.0.1"),
    (7, "2.1"),
    (8, "2.2"),
    (9, "2.3"),
    (10, "2.3.3"),
    (11, "3.0"),
    (12, "3.1"),
    (13, "3.2"),
    (14, "4.0"),
    (15, "4.0.3"),
    (16, "4.1"),
    (17, "4.2"),
    (18, "4.3"),
    (19, "4.4"),
    (20, "4.4"),
    (21, "5.0"),
    (22, "5.1"),
    (23, "6.0"),
    (24, "7.0"),
    (25, "7.1"),
    (26, "8.0"),
    (27, "8.1"),
    (28, "9"),
    (29, "10"),
    (30, "11"),
    (31, "12"),
    (32, "12"),
    (33, "13"),
    (34, "14"),
    (35, "15"),
    (36, "16"),
];

/// The first Android version that runs apps needing `api_level`, or None for level 0
/// (no such level). Since Android 10, each yearly release added one level (Android N
/// is level N + 20), so levels past the table are extrapolated that way rather than
/// making every app built for a newer SDK incompatible with everything.
pub fn min_android_version(api_level: u32) -> Option<OsVersion> {
    if api_level == 0 {
        return None;
    }
    let text = match RELEASES.iter().find(|(level, _)| *level == api_level) {
        Some((_, version)) => (*version).to_owned(),
        None => (api_level - 20).to_string(),
    };
    OsVersion::parse(&text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Option<OsVersion> {
        OsVersion::parse(s).ok()
    }

    #[test]
    fn maps_the_levels_of_modern_releases() {
        assert_eq!(min_android_version(29), v("10"));
        assert_eq!(min_android_version(30), v("11"));
        assert_eq!(min_android_version(31), v("12"));
        assert_eq!(min_android_version(32), v("12"));
        assert_eq!(min_android_version(33), v("13"));
        assert_eq!(min_android_version(34), v("14"));
        assert_eq!(min_android_version(35), v("15"));
        assert_eq!(min_android_version(24), v("7.0"));
        assert_eq!(min_android_version(0), None);
    }

    #[test]
    fn extrapolates_past_the_table() {
        assert_eq!(min_android_version(37), v("17"));
    }

    #[test]
    fn table_is_ordered_and_monotonic() {
        for pair in RELEASES.windows(2) {
            assert_eq!(pair[1].0, pair[0].0 + 1);
            assert!(v(pair[0].1) <= v(pair[1].1), "{pair:?}");
        }
    }
}
