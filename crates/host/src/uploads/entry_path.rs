//! The safety rule for the path of a zip entry: it must stay inside the folder the
//! archive would be unpacked into, on any platform a client might have made it on.
//!
//! The zip crate's `enclosed_name` accepts `a/../b` and only knows the host's separator;
//! an upload built on Windows may use `\`, and a name like `C:evil` means a drive there.
//! Farmhand refuses such archives outright rather than guessing what was meant.

use std::path::PathBuf;

use thiserror::Error;

/// Why an entry's path is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UnsafePath {
    #[error("unsafe path {0:?}: absolute paths are not allowed")]
    Absolute(String),
    #[error("unsafe path {0:?}: '..' components are not allowed")]
    ParentDir(String),
    #[error("unsafe path {0:?}: drive letters are not allowed")]
    DriveLetter(String),
    #[error("unsafe path {0:?}: NUL bytes are not allowed")]
    Nul(String),
    #[error("unsafe path {0:?}: the path names nothing")]
    Empty(String),
}

/// Checks an entry name and returns it as a relative path made of plain components
/// (`.` and empty components dropped, either separator accepted).
pub fn safe_relative_path(name: &str) -> Result<PathBuf, UnsafePath> {
    let owned = || name.to_owned();
    if name.contains('\0') {
        return Err(UnsafePath::Nul(owned()));
    }
    if name.starts_with(['/', '\\']) {
        return Err(UnsafePath::Absolute(owned()));
    }
    if has_drive_prefix(name) {
        return Err(UnsafePath::DriveLetter(owned()));
    }
    let mut path = PathBuf::new();
    for component in name.split(['/', '\\']) {
        match component {
            "" | "." => {}
            ".." => return Err(UnsafePath::ParentDir(owned())),
            plain => path.push(plain),
        }
    }
    if path.as_os_str().is_empty() {
        return Err(UnsafePath::Empty(owned()));
    }
    Ok(path)
}

fn has_drive_prefix(name: &str) -> bool {
    let bytes = name.as_bytes();
    bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':'
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::path::Component;

    #[test]
    fn plain_paths_are_kept() {
        assert_eq!(safe_relative_path("a/b/c.txt"), Ok(PathBuf::from("a/b/c.txt")));
        assert_eq!(safe_relative_path("./a//b/"), Ok(PathBuf::from("a/b")));
        assert_eq!(safe_relative_path("dir\\file.py"), Ok(PathBuf::from("dir/file.py")));
        assert_eq!(safe_relative_path("a..b/..c"), Ok(PathBuf::from("a..b/..c")));
    }

    #[test]
    fn escaping_paths_are_refused() {
        assert!(matches!(safe_relative_path("../evil"), Err(UnsafePath::ParentDir(_))));
        assert!(matches!(safe_relative_path("a/../../evil"), Err(UnsafePath::ParentDir(_))));
        assert!(matches!(safe_relative_path("a\\..\\evil"), Err(UnsafePath::ParentDir(_))));
        assert!(matches!(safe_relative_path("/etc/passwd"), Err(UnsafePath::Absolute(_))));
        assert!(matches!(safe_relative_path("\\windows"), Err(UnsafePath::Absolute(_))));
        assert!(matches!(safe_relative_path("C:\\evil"), Err(UnsafePath::DriveLetter(_))));
        assert!(matches!(safe_relative_path("c:evil"), Err(UnsafePath::DriveLetter(_))));
        assert!(matches!(safe_relative_path("a\0b"), Err(UnsafePath::Nul(_))));
        assert!(matches!(safe_relative_path("./"), Err(UnsafePath::Empty(_))));
    }

    #[test]
    fn message_names_the_path() {
        let err = safe_relative_path("../evil").unwrap_err();
        assert_eq!(err.to_string(), "unsafe path \"../evil\": '..' components are not allowed");
    }

    proptest! {
        #[test]
        fn accepted_paths_only_have_normal_components(name in "[a-zA-Z./\\\\:]{0,16}") {
            if let Ok(path) = safe_relative_path(&name) {
                prop_assert!(path.components().all(|c| matches!(c, Component::Normal(_))));
                prop_assert!(path.is_relative());
            }
        }
    }
}
