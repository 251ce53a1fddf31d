//! Running a job's commands as a user of their own instead of farmhand's.
//!
//! A test package is code from whoever can upload; run as farmhand it could read the
//! database, the other jobs' directories and the signing keys. Under a dedicated user
//! it reaches only its own workspace (and whatever that user may reach on the host).
//! Only root can switch users, so the caller checks that up front.
//!
//! What the user gets: `work/`, `home/`, `tmp/` and the scripts directory (the phase
//! scripts record their progress there). Everything else in the job's directory stays
//! farmhand's: the phase logs and the artifact zips are written by farmhand and must not
//! be rewritten by the job.

use std::fs;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use super::workspace::Workspace;

/// The user and primary group the commands run as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunAs {
    pub uid: u32,
    pub gid: u32,
}

impl RunAs {
    /// Gives the job's writable directories to the user, and lets it through the
    /// directories above them.
    pub fn hand_over(&self, ws: &Workspace) -> io::Result<()> {
        for tree in [ws.root(), ws.home_dir(), ws.tmp_dir(), ws.scripts_dir()] {
            // Symlinks are not followed: the package is unpacked without them, and chown
            // through a link would hand over a file outside the job.
            for entry in WalkDir::new(tree).follow_links(false) {
                let entry = entry.map_err(io::Error::other)?;
                std::os::unix::fs::lchown(entry.path(), Some(self.uid), Some(self.gid))?;
            }
        }
        // The scripts are written by farmhand after the hand-over, into the user's own
        // directory; the user only has to get there.
        for dir in [ws.dir(), ws.scripts_dir().parent().unwrap_or(ws.dir())] {
            let mode = fs::metadata(dir)?.permissions().mode();
            fs::set_permissions(dir, fs::Permissions::from_mode(mode | 0o711))?;
        }
        Ok(())
    }

    /// The first directory on the way to `dir` (inclusive) that this user cannot pass
    /// through, if any. Only the permission bits are read: it is a start-up check that
    /// turns "every job fails with EACCES" into one clear message.
    pub fn blocked_on_the_way_to(&self, dir: &Path) -> Option<PathBuf> {
        let mut path = PathBuf::new();
        for component in dir.components() {
            path.push(component);
            let Ok(meta) = fs::metadata(&path) else {
                // Not made yet: farmhand creates it, as root, with a traversable mode.
                return None;
            };
            if !self.may_pass(&meta) {
                return Some(path);
            }
        }
        None
    }

    fn may_pass(&self, meta: &fs::Metadata) -> bool {
        let mode = meta.mode();
        if meta.uid() == self.uid {
            mode & 0o100 != 0
        } else if meta.gid() == self.gid {
            mode & 0o010 != 0
        } else {
            mode & 0o001 != 0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nobody() -> RunAs {
        RunAs { uid: 65534, gid: 65534 }
    }

    #[test]
    fn a_private_directory_on_the_way_is_reported() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let private = tmp.path().join("private");
        fs::create_dir(&private).expect("mkdir");
        fs::set_permissions(&private, fs::Permissions::from_mode(0o700)).expect("chmod");
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
        let target = private.join("jobs");
        assert_eq!(nobody().blocked_on_the_way_to(&target), Some(private.clone()));

        fs::set_permissions(&private, fs::Permissions::from_mode(0o711)).expect("chmod");
        assert_eq!(nobody().blocked_on_the_way_to(&target), None);
    }

    #[test]
    fn the_owner_bits_count_for_the_owner() {
        let tmp = tempfile::tempdir().expect("tempdir");
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o700)).expect("chmod");
        let meta = fs::metadata(tmp.path()).expect("meta");
        let owner = RunAs { uid: meta.uid(), gid: meta.gid() };
        assert!(owner.may_pass(&meta));
        if meta.uid() != nobody().uid {
            assert!(!nobody().may_pass(&meta));
        }
    }

    #[test]
    fn hand_over_gives_the_writable_trees_and_keeps_the_logs() {
        if !rustix::process::geteuid().is_root() {
            eprintln!("skipped: changing owners needs root");
            return;
        }
        let tmp = tempfile::tempdir().expect("tempdir");
        let ws = Workspace::create(tmp.path(), "job", None, None, &Default::default()).expect("workspace");
        fs::write(ws.root().join("f"), b"x").expect("write");
        nobody().hand_over(&ws).expect("handed over");
        for path in [
            ws.root().to_path_buf(),
            ws.root().join("f"),
            ws.home_dir().to_path_buf(),
            ws.tmp_dir().to_path_buf(),
            ws.scripts_dir().to_path_buf(),
        ] {
            assert_eq!(fs::metadata(&path).expect("meta").uid(), 65534, "{}", path.display());
        }
        assert_eq!(fs::metadata(ws.output_dir()).expect("meta").uid(), 0);
        assert_eq!(fs::metadata(ws.artifacts_dir()).expect("meta").uid(), 0);
    }
}
