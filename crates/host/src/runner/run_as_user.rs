//! `run_as`: from a user name in the config to the uid and gid the runner switches to,
//! checked at start-up so that a wrong setting fails once, clearly, instead of failing
//! every job.

use std::path::Path;

use super::RunAs;
use anyhow::{bail, Context, Result};
use nix::unistd::{geteuid, User};

/// Resolves `name` and checks that this process may switch to it and that the user can
/// reach `work_dir` (created here if missing).
pub fn resolve(name: &str, work_dir: &Path) -> Result<RunAs> {
    let user = User::from_name(name)
        .with_context(|| format!("looking up run_as user {name:?}"))?
        .with_context(|| format!("run_as: there is no user named {name:?} on this host"))?;
    let run_as = RunAs { uid: user.uid.as_raw(), gid: user.gid.as_raw() };
    let me = geteuid();
    if !me.is_root() && me.as_raw() != run_as.uid {
        bail!("run_as = {name:?} needs farmhand to run as root to switch users (it runs as uid {me})");
    }
    std::fs::create_dir_all(work_dir).with_context(|| format!("creating the work directory {}", work_dir.display()))?;
    if let Some(blocked) = run_as.blocked_on_the_way_to(work_dir) {
        bail!(
            "run_as user {name:?} cannot reach the work directory {}: {} does not let it through; \
             allow it (chmod o+x) or choose another --work-dir",
            work_dir.display(),
            blocked.display()
        );
    }
    Ok(run_as)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn an_unknown_user_is_named_in_the_error() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let err = resolve("no-such-user-farmhand", tmp.path()).expect_err("unknown");
        assert!(err.to_string().contains("no user named \"no-such-user-farmhand\""), "{err:#}");
    }

    #[test]
    fn a_work_directory_the_user_cannot_reach_is_refused() {
        if !geteuid().is_root() {
            return;
        }
        let tmp = tempfile::tempdir().expect("tempdir");
        let private = tmp.path().join("private");
        std::fs::create_dir(&private).expect("mkdir");
        std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).expect("chmod");
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let err = resolve("nobody", &private.join("jobs")).expect_err("blocked");
        assert!(err.to_string().contains("cannot reach"), "{err:#}");
        assert_eq!(resolve("nobody", &tmp.path().join("open")).expect("reachable").uid, 65534);
    }
}
