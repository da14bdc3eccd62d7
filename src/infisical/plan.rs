//! The plan: what git wants (a [`Seed`]) against what the server holds ([`Current`]), as
//! create / update / unchanged / delete per key plus the folders to create. Pure: no network, so
//! the decision that protects Infisical's version history ("no blind upserts", every update is a
//! new secret version, INFISICAL.md §6.4) is unit-tested on its own.
//!
//! A plan names folders and keys only. It must never hold or print a value: rendering and JSON are
//! built from names, and values are compared here and then dropped.

use super::seed::Seed;
use super::{join, InfisicalError, Result};
use crate::secret::SecretBytes;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// A value as the server returned it in a listing.
#[derive(Clone, PartialEq)]
pub enum RemoteValue {
    Known(SecretBytes),
    /// `secretValueHidden: true`: the identity may not read it (INFISICAL.md §0).
    Hidden,
}

impl std::fmt::Debug for RemoteValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RemoteValue::Known(v) => write!(f, "Known({v:?})"),
            RemoteValue::Hidden => f.write_str("Hidden"),
        }
    }
}

/// What one environment holds: the folders that exist (`/` always) and the shared secrets by
/// folder.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Current {
    pub folders: BTreeSet<String>,
    pub secrets: BTreeMap<String, BTreeMap<String, RemoteValue>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Unchanged,
    Delete,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// The folder (`/`, `/databases/vikunja`).
    pub folder: String,
    pub key: String,
    pub action: Action,
}

/// The plan for one environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvPlan {
    pub environment: String,
    /// Every folder that does not exist yet, shallow first (the apply creates only the deepest of
    /// each chain: the server makes the parents, INFISICAL.md §4.2).
    pub folders_to_create: Vec<String>,
    /// Sorted by folder, then key.
    pub changes: Vec<Change>,
}

impl EnvPlan {
    pub fn count(&self, a: Action) -> usize {
        self.changes.iter().filter(|c| c.action == a).count()
    }

    /// Whether applying would write anything.
    pub fn has_writes(&self) -> bool {
        !self.folders_to_create.is_empty()
            || self.changes.iter().any(|c| c.action != Action::Unchanged)
    }

    /// Keys of `folder` with action `a`, sorted.
    pub fn keys(&self, folder: &str, a: Action) -> Vec<&str> {
        self.changes
            .iter()
            .filter(|c| c.folder == folder && c.action == a)
            .map(|c| c.key.as_str())
            .collect()
    }

    /// Folders with at least one write, sorted.
    pub fn write_folders(&self) -> Vec<&str> {
        let set: BTreeSet<&str> = self
            .changes
            .iter()
            .filter(|c| c.action != Action::Unchanged)
            .map(|c| c.folder.as_str())
            .collect();
        set.into_iter().collect()
    }
}

/// JavaScript's `String.prototype.trim` whitespace: WhiteSpace + LineTerminator (ECMA-262
/// §12.2/§12.3). Differs from Rust's `char::is_whitespace`: U+FEFF is JS whitespace, U+0085 is not.
fn js_whitespace(c: char) -> bool {
    matches!(
        c,
        '\u{9}' | '\u{a}' | '\u{b}' | '\u{c}' | '\u{d}' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202f}'
                | '\u{205f}'
                | '\u{3000}'
                | '\u{feff}'
    )
}

/// The value as the server will store it: `trim()`med, and if the original ended with `\n`, one
/// `\n` kept (INFISICAL.md §6, observed `"  line1\nline2  \n"` → `"line1\nline2\n"`). Comparing
/// before normalising would give a perpetual diff.
pub fn normalise(value: &str) -> String {
    let mut out = value.trim_matches(js_whitespace).to_string();
    if value.ends_with('\n') {
        out.push('\n');
    }
    out
}

fn same(desired: &SecretBytes, remote: &SecretBytes) -> bool {
    let (Some(d), Some(r)) = (desired.as_str(), remote.as_str()) else {
        return false;
    };
    // Zeroize the normalised copies as the values themselves are.
    let d = zeroize::Zeroizing::new(normalise(d));
    let r = zeroize::Zeroizing::new(normalise(r));
    *d == *r
}

/// Compares a seed with the server's state. `prune` adds deletes for keys the server holds in any
/// folder that git no longer has.
pub fn compute(env: &str, seed: &Seed, current: &Current, prune: bool) -> Result<EnvPlan> {
    let folders_to_create: Vec<String> = seed
        .folders
        .keys()
        .filter(|f| f.as_str() != "/" && !current.folders.contains(*f))
        .cloned()
        .collect();
    let mut changes = Vec::new();
    let empty = BTreeMap::new();
    for (folder, keys) in &seed.folders {
        let remote = current.secrets.get(folder).unwrap_or(&empty);
        for (key, value) in keys {
            let action = match remote.get(key) {
                None => Action::Create,
                Some(RemoteValue::Hidden) => {
                    return Err(InfisicalError::ValueHidden {
                        env: env.to_string(),
                        path: folder.clone(),
                        key: key.clone(),
                    })
                }
                Some(RemoteValue::Known(r)) if same(value, r) => Action::Unchanged,
                Some(RemoteValue::Known(_)) => Action::Update,
            };
            changes.push(Change {
                folder: folder.clone(),
                key: key.clone(),
                action,
            });
        }
    }
    if prune {
        for (folder, keys) in &current.secrets {
            let wanted = seed.folders.get(folder);
            for key in keys.keys() {
                if wanted.is_none_or(|w| !w.contains_key(key)) {
                    changes.push(Change {
                        folder: folder.clone(),
                        key: key.clone(),
                        action: Action::Delete,
                    });
                }
            }
        }
    }
    changes.sort_by(|a, b| (&a.folder, &a.key).cmp(&(&b.folder, &b.key)));
    Ok(EnvPlan {
        environment: env.to_string(),
        folders_to_create,
        changes,
    })
}

/// The folder-create calls for a list of missing folders: only the deepest of each chain, because
/// creating `/a/b` creates `/a` too (INFISICAL.md §4.2). Returns `(parent, name)` pairs.
pub fn folder_create_calls(missing: &[String]) -> Vec<(String, String)> {
    missing
        .iter()
        .filter(|f| {
            let prefix = format!("{f}/");
            !missing.iter().any(|g| g.starts_with(&prefix))
        })
        .map(|f| {
            let (parent, name) = f.rsplit_once('/').expect("absolute path");
            let parent = if parent.is_empty() { "/" } else { parent };
            (parent.to_string(), name.to_string())
        })
        .collect()
}

/// The plan for people: one line per write, `+` create, `~` update, `-` delete; unchanged keys
/// are counted (listed with `verbose`).
pub fn render(project: &str, plans: &[EnvPlan], verbose: bool) -> String {
    let mut s = String::new();
    for p in plans {
        let _ = writeln!(s, "{project}/{}:", p.environment);
        for f in &p.folders_to_create {
            let _ = writeln!(s, "  + folder {f}");
        }
        for c in &p.changes {
            let sign = match c.action {
                Action::Create => "+",
                Action::Update => "~",
                Action::Delete => "-",
                Action::Unchanged if verbose => "=",
                Action::Unchanged => continue,
            };
            let _ = writeln!(s, "  {sign} {}", join(&c.folder, &c.key));
        }
        let _ = writeln!(
            s,
            "  {} to create, {} to update, {} to delete, {} unchanged, {} folder(s) to create",
            p.count(Action::Create),
            p.count(Action::Update),
            p.count(Action::Delete),
            p.count(Action::Unchanged),
            p.folders_to_create.len()
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(v: &str) -> RemoteValue {
        RemoteValue::Known(SecretBytes::from_str(v))
    }

    #[test]
    fn normalisation_matches_the_observed_server_behaviour() {
        assert_eq!(normalise("  line1\nline2  \n"), "line1\nline2\n");
        assert_eq!(normalise("abc"), "abc");
        assert_eq!(normalise("abc\n\n\n"), "abc\n");
        assert_eq!(normalise(" \t abc \r\n"), "abc\n");
        assert_eq!(normalise("\u{feff}abc\u{a0}"), "abc");
        // NEL is not JavaScript whitespace, though Rust's trim() would remove it.
        assert_eq!(normalise("\u{85}abc"), "\u{85}abc");
        assert_eq!(normalise(""), "");
    }

    #[test]
    fn create_update_unchanged_and_prune() {
        let mut seed = Seed::default();
        seed.insert("/", "SAME", SecretBytes::from_str("v1"));
        seed.insert("/", "SPACED", SecretBytes::from_str("  v2 \n"));
        seed.insert("/", "CHANGED", SecretBytes::from_str("new"));
        seed.insert("/db/app", "NEW", SecretBytes::from_str("n"));
        let mut cur = Current::default();
        cur.folders.insert("/".into());
        cur.folders.insert("/old".into());
        let root = cur.secrets.entry("/".into()).or_default();
        root.insert("SAME".into(), known("v1"));
        root.insert("SPACED".into(), known("v2\n"));
        root.insert("CHANGED".into(), known("old"));
        root.insert("GONE".into(), known("x"));
        cur.secrets
            .entry("/old".into())
            .or_default()
            .insert("K".into(), known("x"));

        let p = compute("dev", &seed, &cur, false).unwrap();
        assert_eq!(p.folders_to_create, ["/db", "/db/app"]);
        let got: Vec<(String, Action)> = p
            .changes
            .iter()
            .map(|c| (join(&c.folder, &c.key), c.action))
            .collect();
        assert_eq!(
            got,
            [
                ("/CHANGED".to_string(), Action::Update),
                ("/SAME".to_string(), Action::Unchanged),
                ("/SPACED".to_string(), Action::Unchanged),
                ("/db/app/NEW".to_string(), Action::Create),
            ]
        );
        let p = compute("dev", &seed, &cur, true).unwrap();
        let deletes: Vec<String> = p
            .changes
            .iter()
            .filter(|c| c.action == Action::Delete)
            .map(|c| join(&c.folder, &c.key))
            .collect();
        assert_eq!(deletes, ["/GONE", "/old/K"]);
        assert_eq!(
            folder_create_calls(&p.folders_to_create),
            [("/db".to_string(), "app".to_string())]
        );
    }

    #[test]
    fn in_sync_means_no_writes() {
        let mut seed = Seed::default();
        seed.insert("/a", "K", SecretBytes::from_str("v"));
        let mut cur = Current::default();
        cur.folders.extend(["/".to_string(), "/a".to_string()]);
        cur.secrets
            .entry("/a".into())
            .or_default()
            .insert("K".into(), known("v"));
        let p = compute("dev", &seed, &cur, true).unwrap();
        assert!(!p.has_writes(), "{p:?}");
    }

    #[test]
    fn hidden_values_refuse_to_plan() {
        let mut seed = Seed::default();
        seed.insert("/", "K", SecretBytes::from_str("v"));
        let mut cur = Current::default();
        cur.secrets
            .entry("/".into())
            .or_default()
            .insert("K".into(), RemoteValue::Hidden);
        let e = compute("dev", &seed, &cur, false).unwrap_err();
        assert!(matches!(e, InfisicalError::ValueHidden { .. }), "{e}");
    }

    #[test]
    fn folder_calls_only_for_the_deepest_of_each_chain() {
        let missing: Vec<String> = ["/a", "/a/b", "/a/b/c", "/a/d", "/e"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            folder_create_calls(&missing),
            [
                ("/a/b".to_string(), "c".to_string()),
                ("/a".to_string(), "d".to_string()),
                ("/".to_string(), "e".to_string())
            ]
        );
    }

    #[test]
    fn render_names_only() {
        let mut seed = Seed::default();
        seed.insert("/db", "PASSWORD", SecretBytes::from_str("MARKER-1"));
        let p = compute("prod", &seed, &Current::default(), false).unwrap();
        let text = render("overworld", std::slice::from_ref(&p), true);
        assert!(
            text.contains("+ folder /db") && text.contains("+ /db/PASSWORD"),
            "{text}"
        );
        let json = serde_json::to_string(&p).unwrap();
        assert!(!text.contains("MARKER") && !json.contains("MARKER"));
    }
}
