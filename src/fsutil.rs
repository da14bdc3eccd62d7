//! File writing that never leaves a half-written file: write a temp file in the target's folder,
//! fsync, give it the target's permissions, rename over the target (STYLE.md, "never leak").
//! Plaintext never goes through here except where the user asked for plaintext output.

use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub struct WriteError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

fn err(path: &Path) -> impl FnOnce(std::io::Error) -> WriteError + '_ {
    move |source| WriteError {
        path: path.to_path_buf(),
        source,
    }
}

/// Prefix and suffix of [`atomic_write`]'s temp file beside its target.
pub const TEMP_PREFIX: &str = ".overworld-secrets-";
pub const TEMP_SUFFIX: &str = ".tmp";

/// Whether a file name is one of [`atomic_write`]'s temp files: only a killed run leaves one.
pub fn is_write_temp(name: &std::ffi::OsStr) -> bool {
    let n = name.to_string_lossy();
    n.starts_with(TEMP_PREFIX) && n.ends_with(TEMP_SUFFIX)
}

/// Atomically replaces `path` with `bytes`. An existing file's permissions are kept; a new file
/// gets `new_mode` (e.g. 0o600 for anything holding plaintext) or 0o644.
pub fn atomic_write(path: &Path, bytes: &[u8], new_mode: Option<u32>) -> Result<(), WriteError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(err(&dir))?;
    let existing = std::fs::metadata(path).ok().map(|m| m.permissions());
    let mut tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .suffix(TEMP_SUFFIX)
        .tempfile_in(&dir)
        .map_err(err(path))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // Set the final mode before any byte is written, so plaintext is never world-readable.
        let perms = existing
            .clone()
            .unwrap_or_else(|| std::fs::Permissions::from_mode(new_mode.unwrap_or(0o644)));
        tmp.as_file().set_permissions(perms).map_err(err(path))?;
    }
    #[cfg(not(unix))]
    let _ = (&existing, new_mode);
    tmp.write_all(bytes).map_err(err(path))?;
    tmp.as_file().sync_all().map_err(err(path))?;
    tmp.persist(path).map_err(|e| WriteError {
        path: path.to_path_buf(),
        source: e.error,
    })?;
    Ok(())
}

/// Writes only when the content differs; returns whether the file changed. This is what makes
/// generation commands idempotent at the byte level (a re-run touches nothing).
pub fn write_if_changed(
    path: &Path,
    bytes: &[u8],
    new_mode: Option<u32>,
) -> Result<bool, WriteError> {
    if let Ok(old) = std::fs::read(path) {
        if old == bytes {
            return Ok(false);
        }
    }
    atomic_write(path, bytes, new_mode)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_keeps_permissions_and_leaves_no_temp() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f.yaml");
        std::fs::write(&p, b"old").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
        }
        atomic_write(&p, b"new", None).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o640
            );
        }
        assert!(!write_if_changed(&p, b"new", None).unwrap());
        assert!(write_if_changed(&p, b"newer", None).unwrap());
        let names: Vec<_> = std::fs::read_dir(d.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no temp file left behind");
    }
}
