//! Onboarding: `init` lays out a new repository, `adopt` brings an existing "kubeseal loop +
//! gitignored plaintext" repository (HOMELAB-WORKFLOWS.md §1) under this tool.
//!
//! It exists because a tool that only works in a repository laid out for it from day one will not
//! be adopted (issue 11). Planning is separate from writing: every plan is computed (and every
//! source encrypted) in memory first, printed, and only applied once confirmed, so a refused or
//! failed adopt leaves the repository untouched. It must never overwrite an existing file it did not
//! plan to change, never write plaintext to disk, never delete plaintext unless asked, and never put
//! a secret value in a message (names and paths only).

pub mod adopt;
pub mod edit;
pub mod init;

use std::path::{Component, Path, PathBuf};

/// `to` relative to the folder `from` (both absolute, normalised), for kustomization entries and
/// messages.
pub fn relative_to(from: &Path, to: &Path) -> PathBuf {
    let f: Vec<Component> = from.components().collect();
    let t: Vec<Component> = to.components().collect();
    let common = f.iter().zip(&t).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..f.len() {
        out.push("..");
    }
    for c in &t[common..] {
        out.push(c.as_os_str());
    }
    out
}

/// Lexical `a/b/../c` → `a/c` (kustomization entries are resolved without following links).
pub fn normalise(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths() {
        assert_eq!(
            relative_to(
                Path::new("/r/apps/db/prod"),
                Path::new("/r/apps/db/prod/x.yaml")
            ),
            Path::new("x.yaml")
        );
        assert_eq!(
            relative_to(
                Path::new("/r/apps/db/prod"),
                Path::new("/r/manifests/p/db/x.yaml")
            ),
            Path::new("../../../manifests/p/db/x.yaml")
        );
        assert_eq!(normalise(Path::new("/r/a/./b/../c")), Path::new("/r/a/c"));
    }
}
