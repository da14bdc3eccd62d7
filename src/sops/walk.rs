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
    path: Vec<String>,
    stack: Vec<Vec<String>>,
    needs_comments: bool,
}

impl<V: Visitor> Walk<'_, V> {
    fn mapping(&mut self, m: &mut Mapping) -> Result<(), V::Error> {
        self.stack.push(Vec::new());
        for e in m.entries.iter_mut() {
            match e {
                Entry::Comment(c) => {
                    if self.needs_comments {
                        let t = comment_text(c);
                        self.stack.last_mut().expect("pushed").push(t);
                    }
                    let sel = self.sel.selects(&self.path, &self.stack, Some(""));
                    let aad = aad_of(&self.path);
                    self.visitor.comment(c, &aad, sel)?;
                }
                Entry::Pair(k, v) => {
                    self.path.push(k.clone());
                    self.node(v)?;
                    self.path.pop();
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
                    let sel = self.sel.selects(&self.path, &self.stack, Some(""));
                    let aad = aad_of(&self.path);
                    self.visitor.seq_leaf(it, &aad, sel)?;
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
                    let sel = self.sel.selects(&self.path, &self.stack, None);
                    let aad = aad_of(&self.path);
                    self.visitor.seq_leaf(it, &aad, sel)?;
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
                let sel = self.sel.selects(&self.path, &self.stack, None);
                let aad = aad_of(&self.path);
                self.visitor.value(n, &aad, sel)
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
        path: Vec::new(),
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
