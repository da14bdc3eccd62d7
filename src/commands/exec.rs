//! `exec-env` and `exec-file`: run a command with a SOPS file's secrets in its environment, or at
//! a temporary path (a FIFO by default, or a 0600 file in a 0700 dir), and pass its exit status on
//! (SOPS.md §10, §11). Also the child-process plumbing `edit` shares: signal handling so a
//! Ctrl-C/SIGTERM/SIGHUP still removes the private temp dir, and waiting on the child.
//!
//! Must never write the plaintext anywhere but the private temp dir, which is gone when the
//! command returns, whatever the outcome.

use super::set::open;
use super::{formats, Ctx};
use crate::cli::{ExecEnvArgs, ExecFileArgs, StoreArgs};
use crate::error::{Error, Result};
use crate::sops::engine;
use crate::sops::format::Format;
use crate::sops::lifecycle;
use crate::sops::SopsError;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::sync::atomic::{AtomicI32, Ordering};

/// The last terminating signal received while a child ran (0 = none).
static SIGNALLED: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(sig: libc::c_int) {
    // Only an atomic store: async-signal-safe.
    SIGNALLED.store(sig, Ordering::SeqCst);
}

/// Replaces the default (terminate) action of SIGINT, SIGTERM and SIGHUP with a flag, so that the
/// caller gets to remove its temp dir before exiting. The child restores default dispositions on
/// exec (handlers do not survive exec), so it still sees the signals normally.
pub(crate) fn catch_signals() {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: installs a handler that only performs an atomic store; sigaction with a zeroed
        // struct and an empty mask is the documented way to do so.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            libc::sigemptyset(&mut sa.sa_mask);
            sa.sa_flags = libc::SA_RESTART;
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

/// Waits for `child`, polling for a caught signal. On a signal the child is killed (SIGINT has
/// already reached it through the terminal) and the signal number is returned as the error.
pub(crate) fn wait_child(child: &mut Child) -> std::result::Result<ExitStatus, i32> {
    loop {
        if let Ok(Some(st)) = child.try_wait() {
            let sig = SIGNALLED.swap(0, Ordering::SeqCst);
            // SIGINT from the terminal went to the editor too; if it survived and exited
            // normally, the user's Ctrl-C still means "abort".
            if sig != 0 {
                return Err(sig);
            }
            return Ok(st);
        }
        let sig = SIGNALLED.load(Ordering::SeqCst);
        if sig != 0 {
            let _ = child.kill();
            let _ = child.wait();
            SIGNALLED.store(0, Ordering::SeqCst);
            return Err(sig);
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// A terminating signal caught since the last check, if any (consumed).
pub(crate) fn take_signal() -> Option<i32> {
    match SIGNALLED.swap(0, Ordering::SeqCst) {
        0 => None,
        sig => Some(sig),
    }
}

/// A fresh private directory (0700, `tempfile` creates it so on Unix) for plaintext; removed when
/// dropped, and on SIGINT/SIGTERM/SIGHUP through [`catch_signals`]. Its name carries our PID, so a
/// directory left by a run that was SIGKILLed (or lost power) while the editor or command ran is
/// swept by the next run: see [`sweep_orphaned_private_dirs`].
pub(crate) fn private_dir(prefix: &str) -> Result<tempfile::TempDir> {
    sweep_orphaned_private_dirs(&std::env::temp_dir());
    let d = tempfile::Builder::new()
        .prefix(&format!("{prefix}{}-", std::process::id()))
        .tempdir()
        .map_err(|e| Error::io(std::env::temp_dir(), e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o700))
            .map_err(|e| Error::io(d.path(), e))?;
    }
    Ok(d)
}

/// Removes `.overworld-secrets-{edit,exec}-<pid>-*` directories in `tmp` that belong to us and
/// whose process no longer exists: plaintext left behind by a killed run. A PID that is alive
/// (even if reused by another program) keeps its directory; nothing else is touched.
pub(crate) fn sweep_orphaned_private_dirs(tmp: &Path) {
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        let Some(rest) = name
            .strip_prefix(".overworld-secrets-edit-")
            .or_else(|| name.strip_prefix(".overworld-secrets-exec-"))
        else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<i32>().ok()) else {
            continue;
        };
        if pid <= 0
            || pid as u32 == std::process::id()
            || !owned_dir(&e)
            || crate::fsutil::process_alive(pid)
        {
            continue;
        }
        let _ = std::fs::remove_dir_all(e.path());
    }
}

#[cfg(unix)]
fn owned_dir(e: &std::fs::DirEntry) -> bool {
    use std::os::unix::fs::MetadataExt;
    // symlink_metadata: never follow a link someone planted under our name.
    e.path()
        .symlink_metadata()
        .is_ok_and(|m| m.is_dir() && m.uid() == unsafe { libc::geteuid() })
}

#[cfg(not(unix))]
fn owned_dir(_e: &std::fs::DirEntry) -> bool {
    false
}

/// Creates `path` new with mode 0600 and writes `bytes`.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let mut f = o.open(path).map_err(|e| Error::io(path, e))?;
    // No fsync: this is plaintext that lives for one editor session; forcing it onto the disk
    // would only make it outlive its deletion there.
    f.write_all(bytes).map_err(|e| Error::io(path, e))
}

/// One argument runs through `/bin/sh -c` as sops does; several are an argv run directly.
fn command(argv: &[String], placeholder: Option<&str>) -> Command {
    let subst = |s: &str| match placeholder {
        Some(p) => s.replace("{}", p),
        None => s.to_string(),
    };
    if argv.len() == 1 {
        let mut c = Command::new("/bin/sh");
        c.arg("-c").arg(subst(&argv[0]));
        c
    } else {
        let mut c = Command::new(subst(&argv[0]));
        c.args(argv[1..].iter().map(|a| subst(a)));
        c
    }
}

fn finish(file: &Path, status: std::result::Result<ExitStatus, i32>) -> Result<()> {
    match status {
        Ok(st) if st.success() => Ok(()),
        Ok(st) => {
            #[cfg(unix)]
            let code = {
                use std::os::unix::process::ExitStatusExt;
                st.code().or(st.signal().map(|s| 128 + s)).unwrap_or(1)
            };
            #[cfg(not(unix))]
            let code = st.code().unwrap_or(1);
            Err(Error::sops(file, SopsError::ChildExit(code)))
        }
        Err(sig) => Err(Error::sops(file, SopsError::Interrupted(sig))),
    }
}

fn spawn(file: &Path, mut cmd: Command) -> Result<Child> {
    cmd.spawn().map_err(|e| {
        Error::sops(
            file,
            SopsError::Io(format!("could not run the command: {e}")),
        )
    })
}

pub fn run_env(ctx: &Ctx, a: ExecEnvArgs) -> Result<()> {
    let store = StoreArgs {
        input_type: a.input_type.clone(),
        ..Default::default()
    };
    let o = open(ctx, &a.file, &store, a.ignore_mac)?;
    let vars = lifecycle::env_entries(&o.dec.tree)
        .map_err(|e| Error::sops(&a.file, SopsError::Edit(e.to_string())))?;
    let mut cmd = command(&a.command, None);
    if a.pristine {
        cmd.env_clear();
    }
    #[cfg(unix)]
    for (k, v) in &vars {
        use std::os::unix::ffi::OsStrExt;
        cmd.env(k, std::ffi::OsStr::from_bytes(v.expose()));
    }
    #[cfg(not(unix))]
    for (k, v) in &vars {
        cmd.env(k, String::from_utf8_lossy(v.expose()).into_owned());
    }
    catch_signals();
    let mut child = spawn(&a.file, cmd)?;
    // The child has its own copy of the environment; ours is wiped now (SecretBytes zeroizes).
    drop(vars);
    let st = wait_child(&mut child);
    finish(&a.file, st)
}

#[cfg(unix)]
fn make_fifo(path: &Path) -> Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| Error::Usage("temporary path contains a NUL byte".into()))?;
    // SAFETY: `c` is a valid NUL-terminated path for the duration of the call.
    let rc = unsafe { libc::mkfifo(c.as_ptr(), 0o600) };
    if rc != 0 {
        return Err(Error::io(path, std::io::Error::last_os_error()));
    }
    Ok(())
}

pub fn run_file(ctx: &Ctx, a: ExecFileArgs) -> Result<()> {
    if a.filename.is_empty() || a.filename.contains('/') || a.filename == ".." {
        return Err(Error::Usage(
            "--filename must be a plain file name (no '/')".into(),
        ));
    }
    let o = open(ctx, &a.file, &a.store, a.ignore_mac)?;
    let (in_fmt, out_fmt) = formats(&o.name, &a.store)?;
    let out_fmt = if in_fmt == Format::Binary && out_fmt == Format::Binary {
        Format::Binary
    } else {
        out_fmt
    };
    let plain = zeroize::Zeroizing::new(
        engine::emit_plain(&o.dec.tree, out_fmt, &o.opts).map_err(|e| Error::sops(&a.file, e))?,
    );
    catch_signals();
    let dir = private_dir(".overworld-secrets-exec-")?;
    let path: PathBuf = dir.path().join(&a.filename);
    let placeholder = path.to_string_lossy().into_owned();
    #[cfg(unix)]
    let fifo = !a.no_fifo;
    #[cfg(not(unix))]
    let fifo = false;
    let mut writer = None;
    if fifo {
        #[cfg(unix)]
        {
            make_fifo(&path)?;
            let p = path.clone();
            let bytes = plain.clone();
            // Opening a FIFO for writing blocks until the command opens it for reading.
            writer = Some(std::thread::spawn(move || {
                use std::io::Write;
                if let Ok(mut f) = std::fs::OpenOptions::new().write(true).open(&p) {
                    let _ = f.write_all(&bytes);
                }
            }));
        }
    } else {
        write_private(&path, &plain)?;
    }
    drop(plain);
    let status = match spawn(&a.file, command(&a.command, Some(&placeholder))) {
        Ok(mut child) => Ok(wait_child(&mut child)),
        Err(e) => Err(e),
    };
    if let Some(w) = writer {
        // A command that never opened the FIFO leaves the writer blocked in open(): open the read
        // end ourselves (non-blocking) to release it, then discard what it writes.
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            // Closing our end at once makes the writer's write fail (EPIPE) instead of blocking.
            drop(
                std::fs::OpenOptions::new()
                    .read(true)
                    .custom_flags(libc::O_NONBLOCK)
                    .open(&path),
            );
            let _ = w.join();
        }
        #[cfg(not(unix))]
        let _ = w.join();
    }
    dir.close().map_err(|e| Error::io(&path, e))?;
    finish(&a.file, status?)
}
