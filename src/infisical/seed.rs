//! Seeds: what git says Infisical should hold for one environment. A decrypted seed file becomes
//! folders (mappings) holding keys (string leaves); every name is validated here, before a single
//! request is made, so that a bad name fails the run instead of half of it. The ExternalSecrets
//! generator also reads the key names from the *encrypted* file, without a key, through
//! [`seed_key_names_from_encrypted`].
//!
//! Nothing here may put a value into an error: errors name the file and the key path only.

use super::{join, InfisicalError, Result};
use crate::secret::SecretBytes;
use crate::sops::format::Format;
use crate::sops::tree::{Entry, Mapping, Node, Scalar, Tree};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// The desired content of one environment: folder path → key → value. `/` is always present.
#[derive(Clone, Default, PartialEq)]
pub struct Seed {
    pub folders: BTreeMap<String, BTreeMap<String, SecretBytes>>,
}

// Shape only: folder paths and key names, never a value.
impl fmt::Debug for Seed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shape: BTreeMap<&str, Vec<&str>> = self
            .folders
            .iter()
            .map(|(p, ks)| (p.as_str(), ks.keys().map(String::as_str).collect()))
            .collect();
        f.debug_struct("Seed").field("folders", &shape).finish()
    }
}

impl Seed {
    /// Builds a seed from a decrypted tree (the first document). `file` is used in messages only.
    pub fn from_tree(file: &str, tree: &Tree) -> Result<Seed> {
        let mut seed = Seed::default();
        seed.folders.insert("/".into(), BTreeMap::new());
        walk(file, tree, &mut |folder, key, node| {
            let folder_map = seed.folders.entry(folder.to_string()).or_default();
            let Some(key) = key else {
                return Ok(()); // a folder with no keys (yet)
            };
            let value = match node {
                Some(Node::Scalar(Scalar::Str(s))) => {
                    if s.as_str().is_none() {
                        return Err(seed_err(
                            file,
                            &join(folder, key),
                            "value is not UTF-8 text; Infisical stores text",
                        ));
                    }
                    s.clone()
                }
                _ => unreachable!("walk passes string leaves only"),
            };
            folder_map.insert(key.to_string(), value);
            Ok(())
        })?;
        Ok(seed)
    }

    /// Absolute key paths (`/databases/vikunja/PASSWORD`, `/GHCR_TOKEN`).
    pub fn keys(&self) -> BTreeSet<String> {
        self.folders
            .iter()
            .flat_map(|(p, ks)| ks.keys().map(move |k| join(p, k)))
            .collect()
    }

    /// Adds one secret (tests and `pull`-style callers); the folder and its parents are created in
    /// the model, as a seed file's nested mappings would.
    pub fn insert(&mut self, folder: &str, key: &str, value: SecretBytes) {
        self.folders.entry("/".into()).or_default();
        let mut at = 0;
        while let Some(i) = folder[at + 1..].find('/') {
            at += 1 + i;
            self.folders.entry(folder[..at].to_string()).or_default();
        }
        self.folders
            .entry(folder.to_string())
            .or_default()
            .insert(key.to_string(), value);
    }
}

/// Absolute key paths of a decrypted seed tree, validated as [`Seed::from_tree`] does.
pub fn seed_keys(tree: &Tree) -> Result<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    walk("<seed>", tree, &mut |folder, key, _| {
        if let Some(k) = key {
            out.insert(join(folder, k));
        }
        Ok(())
    })?;
    Ok(out)
}

/// Absolute key paths of an *encrypted* seed file, read without decrypting: the SOPS YAML store
/// parses it, the `sops` block is taken out by the engine, comments are skipped, and every
/// `ENC[…]` string leaf counts as a key. Needs no identity.
pub fn seed_key_names_from_encrypted(bytes: &[u8]) -> Result<BTreeSet<String>> {
    let file =
        crate::sops::engine::load(Format::Yaml, bytes).map_err(|e| InfisicalError::Seed {
            file: "<seed>".into(),
            path: "/".into(),
            msg: e.to_string(),
        })?;
    seed_keys(&file.tree)
}

fn seed_err(file: &str, path: &str, msg: &str) -> InfisicalError {
    InfisicalError::Seed {
        file: file.to_string(),
        path: path.to_string(),
        msg: msg.to_string(),
    }
}

/// Secret keys: `[A-Za-z0-9_.-]+`, what a Kubernetes Secret data key accepts (INFISICAL.md §7) —
/// ESO writes them as such keys. `.` and `..` are not valid Secret keys either.
pub fn valid_key(k: &str) -> bool {
    !k.is_empty()
        && k != "."
        && k != ".."
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// Folder names: letters, digits, `-` and `_` — what the newest servers accept (422 otherwise; old
/// ones answered 500), INFISICAL.md §4.2. Stricter than keys: no `.`, so no `..` either.
pub fn valid_folder(n: &str) -> bool {
    !n.is_empty()
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
}

type Visit<'a> = dyn FnMut(&str, Option<&str>, Option<&Node>) -> Result<()> + 'a;

/// Walks the first document: calls `visit(folder, None, None)` for every folder (so empty ones
/// exist too) and `visit(folder, Some(key), Some(leaf))` for every string leaf. Anything else is
/// an error naming the path.
fn walk(file: &str, tree: &Tree, visit: &mut Visit<'_>) -> Result<()> {
    if tree.documents.len() > 1 {
        return Err(seed_err(file, "/", "a seed file holds one YAML document"));
    }
    let Some(doc) = tree.documents.first() else {
        return Ok(());
    };
    walk_mapping(file, "/", doc, visit)
}

fn walk_mapping(file: &str, folder: &str, m: &Mapping, visit: &mut Visit<'_>) -> Result<()> {
    visit(folder, None, None)?;
    let mut seen = BTreeSet::new();
    for e in &m.entries {
        let (name, node) = match e {
            Entry::Pair(k, v) => (k.as_str(), v),
            Entry::Comment(_) => continue,
        };
        let path = join(folder, name);
        if !seen.insert(name) {
            return Err(seed_err(file, &path, "duplicate key"));
        }
        match node {
            Node::Mapping(child) => {
                if !valid_folder(name) {
                    return Err(seed_err(
                        file,
                        &path,
                        "folder names may use only letters, digits, '-' and '_'",
                    ));
                }
                walk_mapping(file, &path, child, visit)?;
            }
            Node::Scalar(Scalar::Str(_)) => {
                if !valid_key(name) {
                    return Err(seed_err(
                        file,
                        &path,
                        "secret keys may use only letters, digits, '_', '.' and '-' (Kubernetes Secret keys)",
                    ));
                }
                visit(folder, Some(name), Some(node))?;
            }
            Node::Scalar(_) => {
                return Err(seed_err(
                    file,
                    &path,
                    "not a string: quote the value so it is stored as text",
                ))
            }
            Node::Null => {
                return Err(seed_err(
                    file,
                    &path,
                    "empty value (null): use '' for an empty secret",
                ))
            }
            Node::Sequence(_) => {
                return Err(seed_err(
                    file,
                    &path,
                    "a list: seeds hold folders (mappings) and secrets (strings) only",
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sops::tree::Item;

    fn tree(build: impl FnOnce(&mut Mapping)) -> Tree {
        let mut m = Mapping::new();
        build(&mut m);
        Tree { documents: vec![m] }
    }

    fn folder(build: impl FnOnce(&mut Mapping)) -> Node {
        let mut m = Mapping::new();
        build(&mut m);
        Node::Mapping(m)
    }

    #[test]
    fn mappings_are_folders_and_strings_are_keys() {
        let t = tree(|m| {
            m.push("GHCR_TOKEN", Node::str("t"));
            m.entries.push(Entry::Comment(crate::sops::tree::Comment(
                SecretBytes::from_str(" c"),
            )));
            m.push(
                "databases",
                folder(|d| {
                    d.push(
                        "vikunja",
                        folder(|v| {
                            v.push("PASSWORD", Node::str("p"));
                            v.push("USERNAME", Node::str("u"));
                        }),
                    )
                }),
            );
            m.push("empty", folder(|_| {}));
        });
        let s = Seed::from_tree("f", &t).unwrap();
        let folders: Vec<&str> = s.folders.keys().map(String::as_str).collect();
        assert_eq!(folders, ["/", "/databases", "/databases/vikunja", "/empty"]);
        assert_eq!(s.folders["/databases/vikunja"]["PASSWORD"].expose(), b"p");
        let keys: Vec<String> = seed_keys(&t).unwrap().into_iter().collect();
        assert_eq!(
            keys,
            [
                "/GHCR_TOKEN",
                "/databases/vikunja/PASSWORD",
                "/databases/vikunja/USERNAME"
            ]
        );
        assert_eq!(s.keys(), seed_keys(&t).unwrap());
    }

    #[test]
    fn bad_names_and_leaves_are_errors_naming_the_path_not_the_value() {
        let cases: Vec<(Tree, &str)> = vec![
            (
                tree(|m| m.push("bad key", Node::str("MARKER-v"))),
                "/bad key",
            ),
            (tree(|m| m.push("..", Node::str("MARKER-v"))), "/.."),
            (
                tree(|m| m.push("a.b", folder(|f| f.push("K", Node::str("MARKER-v"))))),
                "/a.b",
            ),
            (
                tree(|m| {
                    m.push(
                        "db",
                        folder(|f| f.push("PORT", Node::Scalar(Scalar::Int(5432)))),
                    )
                }),
                "/db/PORT",
            ),
            (tree(|m| m.push("N", Node::Null)), "/N"),
            (
                tree(|m| m.push("L", Node::Sequence(vec![Item::Node(Node::str("MARKER-v"))]))),
                "/L",
            ),
            (
                tree(|m| {
                    m.push("K", Node::str("MARKER-v"));
                    m.push("K", Node::str("MARKER-v"));
                }),
                "/K",
            ),
            (
                tree(|m| {
                    m.push(
                        "B",
                        Node::Scalar(Scalar::Str(SecretBytes::new(vec![0xff, b'M']))),
                    )
                }),
                "/B",
            ),
        ];
        for (t, path) in cases {
            let e = Seed::from_tree("seed.yaml", &t).unwrap_err().to_string();
            assert!(e.contains(path), "{e} should name {path}");
            assert!(!e.contains("MARKER"), "{e} leaks a value");
        }
    }

    #[test]
    fn name_rules() {
        for k in ["A", "a_b", "a.b", "a-b", "A1.env"] {
            assert!(valid_key(k), "{k}");
        }
        for k in ["", ".", "..", "a/b", "a b", "é", "a:b"] {
            assert!(!valid_key(k), "{k}");
        }
        assert!(valid_folder("musmgr") && valid_folder("obj-storage") && valid_folder("a_b"));
        for f in ["", ".", "..", "a.b", "a/b", "a b"] {
            assert!(!valid_folder(f), "{f}");
        }
    }

    #[test]
    fn debug_shows_shape_only() {
        let mut s = Seed::default();
        s.insert("/db", "PASSWORD", SecretBytes::from_str("MARKER-xyz"));
        let d = format!("{s:?}");
        assert!(d.contains("PASSWORD") && d.contains("/db"), "{d}");
        assert!(!d.contains("MARKER"), "{d}");
    }
}
