//! Where the database lives: turning the configured URL into something sqlx can open, and
//! preparing a SQLite file (directory, owner-only permissions) before it is opened.

use std::fmt;
use std::path::{Path, PathBuf};

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, CONTROLS};

use crate::StoreError;

/// Which database a store runs on; for logs and diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parsed database URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Location {
    /// `file` is the database file when there is one to prepare: not for in-memory
    /// databases, and not when the URL asks for an existing file only (`mode=ro`/`rw`).
    Sqlite {
        url: String,
        file: Option<PathBuf>,
    },
    Postgres {
        url: String,
    },
}

impl Location {
    pub(crate) fn backend(&self) -> Backend {
        match self {
            Location::Sqlite { .. } => Backend::Sqlite,
            Location::Postgres { .. } => Backend::Postgres,
        }
    }
}

/// Characters that cannot appear literally in the path part of the URL handed to sqlx,
/// which parses it with the `url` crate and then percent-decodes the path.
const PATH_ESCAPES: &AsciiSet =
    &CONTROLS.add(b' ').add(b'"').add(b'#').add(b'%').add(b'<').add(b'>').add(b'?').add(b'`').add(b'{').add(b'}');

/// Accepts `postgres://…`/`postgresql://…`, `sqlite://path?…`/`sqlite:path`, and a plain
/// file path (a SQLite database, created if missing).
pub(crate) fn parse(url: &str) -> Result<Location, StoreError> {
    let invalid = |reason: &str| StoreError::InvalidUrl { url: url.to_owned(), reason: reason.to_owned() };
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Location::Postgres { url: url.to_owned() });
    }
    let (database, query) = if let Some(rest) = url.strip_prefix("sqlite:") {
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        let (database, query) = rest.split_once('?').unwrap_or((rest, ""));
        let database = percent_decode_str(database)
            .decode_utf8()
            .map_err(|_| invalid("the path is not UTF-8 once percent-decoded"))?;
        (database.into_owned(), query.to_owned())
    } else if url.contains("://") {
        return Err(invalid("expected postgres://, sqlite:// or a file path"));
    } else if url.is_empty() {
        return Err(invalid("empty"));
    } else {
        (url.to_owned(), String::new())
    };

    let params: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let mode = params.iter().find(|(k, _)| k == "mode").map(|(_, v)| v.as_str());
    if database.is_empty() || database == ":memory:" || mode == Some("memory") {
        let query = if query.is_empty() { String::new() } else { format!("?{query}") };
        return Ok(Location::Sqlite { url: format!("sqlite::memory:{query}"), file: None });
    }

    // An absolute path gives the URL an empty host, so no part of the path can be mistaken
    // for one when sqlx parses it.
    let path = std::path::absolute(&database)?;
    let path_str = path.to_str().ok_or_else(|| invalid("the path is not UTF-8"))?;
    let creates = mode.is_none() || mode == Some("rwc");
    let query = match mode {
        None if query.is_empty() => "mode=rwc".to_owned(),
        None => format!("{query}&mode=rwc"),
        Some(_) => query,
    };
    let encoded = utf8_percent_encode(path_str, PATH_ESCAPES);
    let url = format!("sqlite://{encoded}?{query}");
    Ok(Location::Sqlite { url, file: creates.then_some(path) })
}

/// Creates the file's directory and the file itself, readable by its owner only: the
/// database holds secret access keys in clear.
pub(crate) fn prepare_sqlite_file(path: &Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    // Created with the final mode so there is no window in which the file is world-readable.
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?;
    restrict_sqlite_files(path)
}

/// Sets 0600 on the database file and on its `-wal`/`-shm` companions when they exist.
/// SQLite already creates the companions with the database file's mode; this also repairs
/// files made by hand or by an older farmhand.
pub(crate) fn restrict_sqlite_files(path: &Path) -> std::io::Result<()> {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let mut shm = path.as_os_str().to_owned();
    shm.push("-shm");
    for file in [path.to_path_buf(), PathBuf::from(wal), PathBuf::from(shm)] {
        match owner_only(&file) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            other => other?,
        }
    }
    Ok(())
}

#[cfg(unix)]
fn owner_only(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn owner_only(path: &Path) -> std::io::Result<()> {
    // No POSIX modes here: the file inherits its directory's ACL.
    std::fs::metadata(path).map(|_| ())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn sqlite(url: &str) -> (String, Option<PathBuf>) {
        match parse(url).unwrap() {
            Location::Sqlite { url, file } => (url, file),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn postgres_urls_pass_through() {
        for url in ["postgres://u@h:5432/db?options=-c%20search_path%3Dx", "postgresql://h/db"] {
            assert_eq!(parse(url).unwrap(), Location::Postgres { url: url.to_owned() });
        }
    }

    #[test]
    fn plain_path_becomes_a_creating_sqlite_url() {
        let (url, file) = sqlite("/var/lib/farmhand/db.sqlite");
        assert_eq!(url, "sqlite:///var/lib/farmhand/db.sqlite?mode=rwc");
        assert_eq!(file, Some(PathBuf::from("/var/lib/farmhand/db.sqlite")));
    }

    #[test]
    fn relative_paths_are_made_absolute() {
        let (url, file) = sqlite("sqlite://data/db.sqlite");
        let expected = std::env::current_dir().unwrap().join("data/db.sqlite");
        assert_eq!(file, Some(expected.clone()));
        assert!(url.starts_with("sqlite:///"), "{url}");
        assert!(url.ends_with("data/db.sqlite?mode=rwc"), "{url}");
    }

    #[test]
    fn special_characters_survive_the_round_trip() {
        let (url, file) = sqlite("/tmp/a b#c?d%e.db");
        assert_eq!(url, "sqlite:///tmp/a%20b%23c%3Fd%25e.db?mode=rwc");
        assert_eq!(file, Some(PathBuf::from("/tmp/a b#c?d%e.db")));
        // and a URL with the escapes decodes back to the same file
        let (_, again) = sqlite(&url);
        assert_eq!(again, file);
    }

    #[test]
    fn explicit_mode_is_kept_and_read_only_is_not_prepared() {
        let (url, file) = sqlite("sqlite:///x/db?mode=ro");
        assert_eq!(url, "sqlite:///x/db?mode=ro");
        assert_eq!(file, None);
        let (url, file) = sqlite("sqlite:///x/db?cache=shared");
        assert_eq!(url, "sqlite:///x/db?cache=shared&mode=rwc");
        assert_eq!(file, Some(PathBuf::from("/x/db")));
    }

    #[test]
    fn in_memory_has_no_file() {
        for url in ["sqlite::memory:", "sqlite://:memory:", "sqlite://?mode=memory"] {
            let (_, file) = sqlite(url);
            assert_eq!(file, None, "{url}");
        }
    }

    #[test]
    fn other_schemes_are_rejected() {
        for url in ["mysql://h/db", "", "http://x"] {
            assert!(matches!(parse(url), Err(StoreError::InvalidUrl { .. })), "{url}");
        }
    }
}
