//! Files the tool writes whole (an inventory, an HTML page, a merged report): written to a
//! temporary file beside the destination and renamed into place only once complete, so a
//! failed run never leaves a half-written file or empties the one that was there.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A destination being written: its contents go to a hidden temporary file in the same
/// directory (a rename within one file system is atomic). Dropped without `commit`, the
/// temporary file is removed and the destination is left as it was.
pub struct Replacement {
    dest: PathBuf,
    temp: PathBuf,
    file: Option<File>,
}

impl Replacement {
    /// Creates the temporary file now, so an unwritable destination fails before any work.
    pub fn create(dest: &Path) -> std::io::Result<Self> {
        let dir = dest
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "out".into());
        // A name no other run picks (containers may share a pid), created only if new: never
        // a file or link that was there.
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let stem: String = name.chars().take(100).collect();
        let temp = dir.join(format!(".{stem}.{}-{nanos}-{n}.tmp", std::process::id()));
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        // The file replaced keeps its permissions (an inventory kept private stays private).
        if let Ok(meta) = std::fs::metadata(dest) {
            let _ = file.set_permissions(meta.permissions());
        }
        Ok(Self {
            dest: dest.to_path_buf(),
            temp,
            file: Some(file),
        })
    }

    pub fn file(&mut self) -> &mut File {
        self.file.as_mut().expect("open until commit")
    }

    /// Flushes the contents to disk and moves them into place.
    pub fn commit(mut self) -> std::io::Result<()> {
        let file = self.file.take().expect("open until commit");
        let done = file
            .sync_all()
            .and_then(|()| std::fs::rename(&self.temp, &self.dest));
        if done.is_err() {
            let _ = std::fs::remove_file(&self.temp);
        }
        done
    }
}

impl Drop for Replacement {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// Writes `bytes` as the whole of `dest`, atomically.
pub fn replace(dest: &Path, bytes: &[u8]) -> std::io::Result<()> {
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
