//! Files the tool writes whole (an inventory, an HTML page, a merged report): written to a
//! temporary file beside the destination and renamed into place only once complete, so a
//! failed run never leaves a half-written file or empties the one that was there.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

/// A destination being written: its contents go to a temporary file in the same directory
/// (tempfile's: a fresh name, created only if new), persisted by a rename (atomic within one
/// file system). Dropped without `commit`, the temporary file is removed and the destination
/// is left as it was.
pub(crate) struct Replacement {
    dest: PathBuf,
    temp: NamedTempFile,
}

impl Replacement {
    /// Creates the temporary file now, so an unwritable destination fails before any work.
    pub(crate) fn create(dest: &Path) -> std::io::Result<Self> {
        let dir = dest
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        // The file replaced keeps its permissions (an inventory kept private stays private); a
        // new one gets a new file's (0666 less the umask), not a temporary file's 0600.
        let permissions = match std::fs::metadata(dest) {
            Ok(meta) => meta.permissions(),
            Err(_) => new_file_permissions(),
        };
        let temp = tempfile::Builder::new()
            .prefix(".ssm-prefs-")
            .suffix(".tmp")
            .permissions(permissions)
            .tempfile_in(dir)?;
        Ok(Self {
            dest: dest.to_path_buf(),
            temp,
        })
    }

    pub(crate) fn file(&mut self) -> &mut File {
        self.temp.as_file_mut()
    }

    /// Flushes the contents to disk and moves them into place.
    pub(crate) fn commit(self) -> std::io::Result<()> {
        self.temp.as_file().sync_all()?;
        self.temp.persist(&self.dest).map(drop).map_err(|e| e.error)
    }
}

/// The tool is Unix-only (it listens for SIGTERM).
fn new_file_permissions() -> std::fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    std::fs::Permissions::from_mode(0o666)
}

/// Writes `bytes` as the whole of `dest`, atomically.
pub(crate) fn replace(dest: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut r = Replacement::create(dest)?;
    r.file().write_all(bytes)?;
    r.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_uncommitted_replacement_leaves_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("inv.yml");
        std::fs::write(&dest, "old").unwrap();
        {
            let mut r = Replacement::create(&dest).unwrap();
            r.file().write_all(b"half").unwrap();
        }
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        replace(&dest, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "new");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
