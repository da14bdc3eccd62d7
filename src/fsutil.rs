//! File writing that never leaves a half-written file: write a temp file in the target's folder,
//! fsync, give it the target's permissions, rename over the target (STYLE.md, "never leak").
//! Plaintext never goes through here except where the user asked for plaintext output.

use std::collections::BTreeSet;
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

/// Removes `entry` if it is a temp file a killed run left (one whose process is gone; it holds
/// what was being written, which for the callers is ciphertext) and says whether it did. `kind`
/// is the entry's own type from the folder listing, which never follows a link: only our own
/// regular files are candidates. A reseal stages every output before renaming any, so a SIGKILL
/// can leave hundreds; it calls this for each file of the walk it makes anyway.
pub fn remove_if_killed_temp(entry: &std::fs::DirEntry, kind: std::fs::FileType) -> bool {
    let name = entry.file_name();
    if !kind.is_file() || !is_write_temp(&name) {
        return false;
    }
    let pid = name.to_string_lossy()[TEMP_PREFIX.len()..]
        .split('-')
        .next()
        .and_then(|p| p.parse::<i32>().ok());
    let killed =
        pid.is_some_and(|pid| pid > 0 && pid as u32 != std::process::id() && !process_alive(pid));
    killed && std::fs::remove_file(entry.path()).is_ok()
}

/// Every `.yaml`/`.yml` file under `dir`, recursively, in directory order; folders that cannot
/// be read are skipped.
pub fn yaml_files_under(dir: &Path) -> Vec<PathBuf> {
    fn walk(d: &Path, out: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(d) else { return };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if matches!(p.extension().and_then(|x| x.to_str()), Some("yaml" | "yml")) {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out
}

/// Whether process `pid` exists (a process we may not signal counts as alive).
#[cfg(unix)]
pub(crate) fn process_alive(pid: i32) -> bool {
    // SAFETY: kill with signal 0 only checks for existence and permission.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

#[cfg(not(unix))]
pub(crate) fn process_alive(_pid: i32) -> bool {
    true
}

/// Atomically replaces `path` with `bytes`. An existing file's permissions are kept; a new file
/// gets `new_mode` (e.g. 0o600 for anything holding plaintext) or 0o644.
pub fn atomic_write(path: &Path, bytes: &[u8], new_mode: Option<u32>) -> Result<(), WriteError> {
    let existing = std::fs::metadata(path).ok().map(|m| m.permissions());
    let tmp = write_temp(path, bytes, existing, new_mode)?;
    tmp.as_file().sync_all().map_err(err(path))?;
    persist(tmp, path)
}

/// The first half of an atomic write: `bytes` in a temp file beside `path`, with the mode the
/// target will have (`existing`: the target's permissions, `None` if there is no target), not yet
/// durable and not yet in place. Dropping it removes it.
fn write_temp(
    path: &Path,
    bytes: &[u8],
    existing: Option<std::fs::Permissions>,
    new_mode: Option<u32>,
) -> Result<tempfile::NamedTempFile, WriteError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    // The PID in the name lets a later run tell a killed run's leftovers from a live run's.
    static PREFIX: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let prefix = PREFIX.get_or_init(|| format!("{TEMP_PREFIX}{}-", std::process::id()));
    let mut builder = tempfile::Builder::new();
    builder.prefix(prefix).suffix(TEMP_SUFFIX);
    // The folder usually exists: create it only when the temp file cannot be.
    let mut tmp = match builder.tempfile_in(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir).map_err(err(dir))?;
            builder.tempfile_in(dir)
        }
        r => r,
    }
    .map_err(err(path))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // Set the final mode before any byte is written, so plaintext is never world-readable.
        let perms =
            existing.unwrap_or_else(|| std::fs::Permissions::from_mode(new_mode.unwrap_or(0o644)));
        tmp.as_file().set_permissions(perms).map_err(err(path))?;
    }
    #[cfg(not(unix))]
    let _ = (&existing, new_mode);
    tmp.write_all(bytes).map_err(err(path))?;
    Ok(tmp)
}

fn persist(tmp: tempfile::NamedTempFile, path: &Path) -> Result<(), WriteError> {
    tmp.persist(path).map_err(|e| WriteError {
        path: path.to_path_buf(),
        source: e.error,
    })?;
    Ok(())
}

/// A new version of a file, written beside it but neither durable nor in place yet: the first
/// half of an atomic write, for commands that produce many files and replace none of them until
/// all are ready. Dropping it removes the temp file and leaves the target as it was.
pub struct Staged {
    path: PathBuf,
    tmp: tempfile::NamedTempFile,
}

impl std::fmt::Debug for Staged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Staged({})", self.path.display())
    }
}

/// Stages `bytes` as the next version of `path` (permissions as [`atomic_write`] gives them).
pub fn stage(path: &Path, bytes: &[u8], new_mode: Option<u32>) -> Result<Staged, WriteError> {
    let existing = std::fs::metadata(path).ok().map(|m| m.permissions());
    stage_over(path, bytes, existing, new_mode)
}

/// [`stage`] for a caller that has just looked at the target: `existing` is its permissions,
/// `None` if there is no file.
pub fn stage_over(
    path: &Path,
    bytes: &[u8],
    existing: Option<std::fs::Permissions>,
    new_mode: Option<u32>,
) -> Result<Staged, WriteError> {
    Ok(Staged {
        path: path.to_path_buf(),
        tmp: write_temp(path, bytes, existing, new_mode)?,
    })
}

/// Below this many files a commit syncs each file: cheaper than a whole-filesystem sync, and
/// not held up by other programs' unwritten data.
const SYNCFS_FROM: usize = 8;

/// Puts staged files in place with the guarantee of [`atomic_write`] (every target is old or new,
/// never partial, and new content is on disk before it replaces the old) but one flush to disk for
/// the batch instead of one per file: all are made durable together (`syncfs`, once per
/// filesystem, on Linux), and only then renamed. Per-file fsync was most of a 500-file reseal's
/// time, each a synchronous inode write and a device cache flush (issue 9). If the sync fails
/// nothing is renamed; a failed rename leaves the others, each whole.
pub fn commit(staged: Vec<Staged>) -> Result<(), WriteError> {
    sync_staged(&staged)?;
    for r in crate::par::map(staged, |s| persist(s.tmp, &s.path)) {
        r?;
    }
    Ok(())
}

/// Makes every staged file durable.
fn sync_staged(staged: &[Staged]) -> Result<(), WriteError> {
    #[cfg(target_os = "linux")]
    if staged.len() >= SYNCFS_FROM {
        use std::os::unix::fs::MetadataExt;
        use std::os::unix::io::AsRawFd;
        let (mut folders, mut devices) = (BTreeSet::new(), BTreeSet::new());
        for s in staged {
            // One stat per folder: the files of a folder share its filesystem.
            if !folders.insert(s.path.parent()) {
                continue;
            }
            let dev = s.tmp.as_file().metadata().map_err(err(&s.path))?.dev();
            if devices.insert(dev) {
                // SAFETY: syncfs only reads the descriptor, which `s.tmp` keeps open.
                if unsafe { libc::syncfs(s.tmp.as_file().as_raw_fd()) } != 0 {
                    return Err(err(&s.path)(std::io::Error::last_os_error()));
                }
            }
        }
        return Ok(());
    }
    for r in crate::par::map(staged.iter().collect(), |s| {
        s.tmp.as_file().sync_all().map_err(err(&s.path))
    }) {
        r?;
    }
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

    /// Staged files replace nothing until committed, vanish if dropped, and a commit of either
    /// size (per-file fsync below SYNCFS_FROM, one syncfs from it) puts every one in place with
    /// its target's permissions kept and no temp file left.
    #[test]
    fn staged_files_change_nothing_until_committed() {
        for n in [3usize, SYNCFS_FROM + 5] {
            let d = tempfile::tempdir().unwrap();
            let paths: Vec<PathBuf> = (0..n)
                .map(|i| {
                    d.path()
                        .join(format!("sub{}", i % 2))
                        .join(format!("f{i}.yaml"))
                })
                .collect();
            std::fs::create_dir_all(d.path().join("sub0")).unwrap();
            std::fs::write(&paths[0], b"old").unwrap();
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&paths[0], std::fs::Permissions::from_mode(0o640))
                    .unwrap();
            }
            let dropped: Vec<Staged> = paths
                .iter()
                .map(|p| stage(p, b"x", None).unwrap())
                .collect();
            assert_eq!(std::fs::read(&paths[0]).unwrap(), b"old");
            drop(dropped);
            let staged: Vec<Staged> = paths
                .iter()
                .enumerate()
                .map(|(i, p)| stage(p, format!("new {i}").as_bytes(), None).unwrap())
                .collect();
            assert_eq!(
                std::fs::read(&paths[0]).unwrap(),
                b"old",
                "staging replaces nothing"
            );
            assert!(!paths[1].exists());
            commit(staged).unwrap();
            for (i, p) in paths.iter().enumerate() {
                assert_eq!(std::fs::read(p).unwrap(), format!("new {i}").as_bytes());
            }
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode(&paths[0]), 0o640, "an existing file keeps its mode");
                assert_eq!(mode(&paths[1]), 0o644);
            }
            for sub in ["sub0", "sub1"] {
                let names: Vec<String> = std::fs::read_dir(d.path().join(sub))
                    .unwrap()
                    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect();
                assert!(names.iter().all(|n| n.ends_with(".yaml")), "{names:?}");
            }
        }
    }
}
