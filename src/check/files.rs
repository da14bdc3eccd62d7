//! Which files a repository has: git's view (tracked plus untracked-not-ignored) when it is a git
//! checkout — what CI would see —, else a walk that skips VCS and build folders.

use std::path::{Path, PathBuf};

/// Files below `root`, relative to it, sorted.
pub fn list(root: &Path) -> Vec<PathBuf> {
    if let Some(v) = git_files(root) {
        return v;
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

fn git_files(root: &Path) -> Option<Vec<PathBuf>> {
    // A folder git ignores (e.g. a generated corpus under target/) is not git's to list.
    let ignored = std::process::Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["check-ignore", "-q", "."])
        .stderr(std::process::Stdio::null())
        .status()
        .ok()?;
    if ignored.success() {
        return None;
    }
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(root)
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
            "--deduplicate",
        ])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let mut v: Vec<PathBuf> = out
        .stdout
        .split(|b| *b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| PathBuf::from(String::from_utf8_lossy(s).into_owned()))
        .filter(|p| root.join(p).is_file())
        .collect();
    v.sort();
    v.dedup();
    Some(v)
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        let name = e.file_name();
        let name = name.to_string_lossy();
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            if matches!(name.as_ref(), ".git" | "target" | "node_modules" | ".venv") {
                continue;
            }
            walk(root, &p, out);
        } else if ft.is_file() {
            if let Ok(rel) = p.strip_prefix(root) {
                out.push(rel.to_path_buf());
            }
        }
    }
}
