//! The tree walk shared by encryption, decryption and the MAC (SOPS.md §3, §5): depth-first in
//! file order, the path growing only on mapping keys, the active-comment stack for the comment
//! rules, and the selection rule deciding which leaves are encrypted.

use crate::sops::metadata::Selection;
use crate::sops::tree::{Comment, Entry, Item, Mapping, Node, Tree};
use regex::Regex;
use std::sync::Arc;

/// A compiled selection rule.
pub enum Selector {
    UnencryptedSuffix(String),
    EncryptedSuffix(String),
    UnencryptedRegex(Arc<Regex>),
    EncryptedRegex(Arc<Regex>),
    UnencryptedCommentRegex(Arc<Regex>),
    EncryptedCommentRegex(Arc<Regex>),
    /// The binary store ignores every rule and encrypts its one value (SOPS.md §3.2).
    All,
}

impl Selector {
    pub fn new(sel: Option<&Selection>) -> Result<Selector, regex::Error> {
        let default = Selection::default_rule();
        Ok(match sel.unwrap_or(&default) {
            Selection::UnencryptedSuffix(s) => Selector::UnencryptedSuffix(s.clone()),
            Selection::EncryptedSuffix(s) => Selector::EncryptedSuffix(s.clone()),
            Selection::UnencryptedRegex(r) => Selector::UnencryptedRegex(compiled(r)?),
            Selection::EncryptedRegex(r) => Selector::EncryptedRegex(compiled(r)?),
            Selection::UnencryptedCommentRegex(r) => {
                Selector::UnencryptedCommentRegex(compiled(r)?)
            }
            Selection::EncryptedCommentRegex(r) => Selector::EncryptedCommentRegex(compiled(r)?),
        })
    }

    /// Whether a leaf at `path` is encrypted. `stack` holds the active comments per level;
    /// `current` is the comment being evaluated, if the leaf is a comment (SOPS.md §3.2–3.3).
    fn selects(&self, path: &[String], stack: &[Vec<String>], current: Option<&str>) -> bool {
        match self {
            Selector::All => true,
            Selector::UnencryptedSuffix(s) => !path.iter().any(|k| k.ends_with(s.as_str())),
            Selector::EncryptedSuffix(s) => path.iter().any(|k| k.ends_with(s.as_str())),
            Selector::UnencryptedRegex(r) => !path.iter().any(|k| r.is_match(k)),
            Selector::EncryptedRegex(r) => path.iter().any(|k| r.is_match(k)),
            Selector::UnencryptedCommentRegex(r) => !stack.iter().flatten().any(|c| r.is_match(c)),
            Selector::EncryptedCommentRegex(r) => {
                // The comment under evaluation is the last one pushed on the innermost level;
                // it does not count for itself.
                let mut skip_current = current.is_some();
                stack.iter().rev().any(|level| {
                    level.iter().rev().any(|c| {
                        if skip_current {
                            skip_current = false;
                            return false;
                        }
                        r.is_match(c)
                    })
                })
            }
        }
    }
}

impl Selector {
    /// Whether one path key is hit by a path rule (suffix or regex). A leaf's path rules look at
    /// every key of its path; the walk asks once per key as it descends, not once per key per
    /// leaf (issue 9).
    fn key_hits(&self, key: &str) -> bool {
        match self {
            Selector::UnencryptedSuffix(s) | Selector::EncryptedSuffix(s) => {
                key.ends_with(s.as_str())
            }
            Selector::UnencryptedRegex(r) | Selector::EncryptedRegex(r) => r.is_match(key),
            _ => false,
        }
    }
}

/// Compiles a selection regex once per process. A repository's files share a handful of rules,
/// and compiling the same pattern for every file was a tenth of a bulk `check` (callgrind, issue 9).
/// Shared through an `Arc`, not cloned: a `Regex` clone shares the program but starts an empty
/// match-cache pool, and building a cache on every file's first match cost more than the matches.
fn compiled(pattern: &str) -> Result<Arc<Regex>, regex::Error> {
    type Cache = std::sync::Mutex<std::collections::HashMap<String, Arc<Regex>>>;
    static CACHE: std::sync::OnceLock<Cache> = std::sync::OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(r) = cache.lock().expect("regex cache").get(pattern) {
        return Ok(Arc::clone(r));
    }
    let r = Arc::new(Regex::new(pattern)?);
    cache
        .lock()
        .expect("regex cache")
        .insert(pattern.to_string(), Arc::clone(&r));
    Ok(r)
}

/// What a walk does at each leaf. `aad` is the path joined with `:` plus a trailing `:`.
pub trait Visitor {
    type Error;
    /// A non-null scalar under a mapping key or in a sequence (never a comment item).
    fn value(&mut self, node: &mut Node, aad: &str, selected: bool) -> Result<(), Self::Error>;
    /// A comment entry of a mapping.
    fn comment(&mut self, c: &mut Comment, aad: &str, selected: bool) -> Result<(), Self::Error>;
    /// A sequence item that is a scalar or a comment: may turn one into the other
    /// (`- ENC[...,type:comment]` items, SOPS.md §4).
    fn seq_leaf(&mut self, item: &mut Item, aad: &str, selected: bool) -> Result<(), Self::Error>;
}

#[cfg(test)]
fn aad_of(path: &[String]) -> String {
    let mut s = String::with_capacity(path.iter().map(|p| p.len() + 1).sum::<usize>() + 1);
    for p in path {
        s.push_str(p);
        s.push(':');
    }
    if path.is_empty() {
        s.push(':');
    }
    s
}

fn comment_text(c: &Comment) -> String {
    String::from_utf8_lossy(c.0.expose()).into_owned()
}

struct Walk<'a, V> {
    sel: &'a Selector,
    visitor: &'a mut V,
    /// The path so far as its AAD, each key followed by `:` (grown and cut as the walk goes).
    aad: String,
    /// Per path level: whether a path rule hits some key down to it.
    hits: Vec<bool>,
    stack: Vec<Vec<String>>,
    needs_comments: bool,
}

impl<V: Visitor> Walk<'_, V> {
    /// Whether the leaf here is encrypted (`Selector::selects` for the current path).
    fn selected(&self, current: Option<&str>) -> bool {
        let hit = self.hits.last().copied().unwrap_or(false);
        match self.sel {
            Selector::All => true,
            Selector::UnencryptedSuffix(_) | Selector::UnencryptedRegex(_) => !hit,
            Selector::EncryptedSuffix(_) | Selector::EncryptedRegex(_) => hit,
            _ => self.sel.selects(&[], &self.stack, current),
        }
    }

    fn mapping(&mut self, m: &mut Mapping) -> Result<(), V::Error> {
        self.stack.push(Vec::new());
        for e in m.entries.iter_mut() {
            match e {
                Entry::Comment(c) => {
                    if self.needs_comments {
                        let t = comment_text(c);
                        self.stack.last_mut().expect("pushed").push(t);
                    }
                    let sel = self.selected(Some(""));
                    let aad = if self.aad.is_empty() { ":" } else { &self.aad };
                    self.visitor.comment(c, aad, sel)?;
                }
                Entry::Pair(k, v) => {
                    let len = self.aad.len();
                    self.aad.push_str(k);
                    self.aad.push(':');
                    let hit = self.hits.last().copied().unwrap_or(false) || self.sel.key_hits(k);
                    self.hits.push(hit);
                    self.node(v)?;
                    self.hits.pop();
                    self.aad.truncate(len);
                    self.stack.last_mut().expect("pushed").clear();
                }
            }
        }
        self.stack.pop();
        Ok(())
    }

    fn sequence(&mut self, items: &mut [Item]) -> Result<(), V::Error> {
        self.stack.push(Vec::new());
        for it in items.iter_mut() {
            match it {
                Item::Comment(c) => {
                    if self.needs_comments {
                        let t = comment_text(c);
                        self.stack.last_mut().expect("pushed").push(t);
                    }
                    let sel = self.selected(Some(""));
                    let aad = if self.aad.is_empty() { ":" } else { &self.aad };
                    self.visitor.seq_leaf(it, aad, sel)?;
                }
                Item::Node(Node::Mapping(m)) => {
                    self.mapping(m)?;
                    self.stack.last_mut().expect("pushed").clear();
                }
                Item::Node(Node::Sequence(s)) => {
                    self.sequence(s)?;
                    self.stack.last_mut().expect("pushed").clear();
                }
                Item::Node(Node::Null) => {
                    self.stack.last_mut().expect("pushed").clear();
                }
                Item::Node(Node::Scalar(_)) => {
                    let sel = self.selected(None);
                    let aad = if self.aad.is_empty() { ":" } else { &self.aad };
                    self.visitor.seq_leaf(it, aad, sel)?;
                    self.stack.last_mut().expect("pushed").clear();
                }
            }
        }
        self.stack.pop();
        Ok(())
    }

    fn node(&mut self, n: &mut Node) -> Result<(), V::Error> {
        match n {
            Node::Null => Ok(()),
            Node::Mapping(m) => self.mapping(m),
            Node::Sequence(s) => self.sequence(s),
            Node::Scalar(_) => {
                let sel = self.selected(None);
                let aad = if self.aad.is_empty() { ":" } else { &self.aad };
                self.visitor.value(n, aad, sel)
            }
        }
    }
}

/// Walks every document of `tree` in order.
pub fn walk<V: Visitor>(tree: &mut Tree, sel: &Selector, visitor: &mut V) -> Result<(), V::Error> {
    let needs_comments = matches!(
        sel,
        Selector::UnencryptedCommentRegex(_) | Selector::EncryptedCommentRegex(_)
    );
    let mut w = Walk {
        sel,
        visitor,
        aad: String::new(),
        hits: Vec::new(),
        stack: Vec::new(),
        needs_comments,
    };
    for doc in tree.documents.iter_mut() {
        w.mapping(doc)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aad_has_trailing_colon_and_top_level_is_colon() {
        assert_eq!(aad_of(&[]), ":");
        assert_eq!(
            aad_of(&["data".into(), "username".into()]),
            "data:username:"
        );
    }

    /// What the walk reports per leaf: its AAD and whether it is selected.
    struct Record(Vec<(String, bool)>);
    impl Visitor for Record {
        type Error = ();
        fn value(&mut self, _: &mut Node, aad: &str, selected: bool) -> Result<(), ()> {
            self.0.push((aad.to_string(), selected));
            Ok(())
        }
        fn comment(&mut self, _: &mut Comment, aad: &str, selected: bool) -> Result<(), ()> {
            self.0.push((format!("#{aad}"), selected));
            Ok(())
        }
        fn seq_leaf(&mut self, _: &mut Item, aad: &str, selected: bool) -> Result<(), ()> {
            self.0.push((aad.to_string(), selected));
            Ok(())
        }
    }

    /// The walk's incremental AAD and path-rule answers equal `aad_of` and `selects` on the full
    /// path, for every path rule, at every depth, in mappings and sequences.
    #[test]
    fn incremental_aad_and_selection_match_the_full_path() {
        let yaml = b"top: 1\ndata:\n  a_unencrypted: x\n  deep:\n    k: v\n    list:\n      - s\n      - m: n\nmetadata:\n  name: x\nb_enc: y\n";
        let tree = crate::sops::format::yaml::parse(yaml).unwrap();
        let rules = [
            Selection::EncryptedRegex("^(data|stringData)$".into()),
            Selection::UnencryptedRegex("^(list|name)$".into()),
            Selection::EncryptedSuffix("_enc".into()),
            Selection::UnencryptedSuffix("_unencrypted".into()),
        ];
        for rule in &rules {
            let sel = Selector::new(Some(rule)).unwrap();
            let mut t = tree.clone();
            let mut rec = Record(Vec::new());
            walk(&mut t, &sel, &mut rec).unwrap();
            assert_eq!(rec.0.len(), 7, "{rule:?}");
            for (aad, selected) in &rec.0 {
                let path: Vec<String> = aad
                    .trim_end_matches(':')
                    .split(':')
                    .filter(|k| !k.is_empty())
                    .map(str::to_string)
                    .collect();
                assert_eq!(&aad_of(&path), aad);
                assert_eq!(*selected, sel.selects(&path, &[], None), "{rule:?} {aad}");
            }
        }
    }

    #[test]
    fn regex_rules_look_at_every_component() {
        let s = Selector::new(Some(&Selection::EncryptedRegex(
            "^(data|stringData)$".into(),
        )))
        .unwrap();
        assert!(s.selects(&["data".into(), "x".into()], &[], None));
        assert!(!s.selects(&["metadata".into(), "name".into()], &[], None));
        assert!(
            !s.selects(&[], &[], Some("")),
            "top-level comments never match encrypted_regex"
        );
        let u = Selector::new(None).unwrap();
        assert!(!u.selects(&["a_unencrypted".into(), "b".into()], &[], None));
        assert!(u.selects(&[], &[], Some("")));
    }
}
