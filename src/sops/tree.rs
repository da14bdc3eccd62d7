//! The ordered tree every SOPS store parses into and emits from (SOPS.md §1).
//!
//! A file is one or more documents (only YAML has several), each an ordered mapping. Entries keep
//! file order, duplicates included (JSON keeps them, SOPS.md §8.3); comments are entries too, so the
//! engine can encrypt them (SOPS.md §4). Scalars keep the type the store resolved, because the type
//! decides the `ENC[...,type:…]` tag and the plaintext bytes (SOPS.md §2.4).
//!
//! String values and comments are [`SecretBytes`]: plaintext never sits in an ordinary `String`.
//! `Debug` on any of these types never prints a value.

use crate::secret::SecretBytes;
use std::fmt;

/// A whole file: one mapping per document.
#[derive(Clone, Default, PartialEq)]
pub struct Tree {
    pub documents: Vec<Mapping>,
}

/// An ordered mapping. Keys are plaintext by design (SOPS never encrypts keys).
#[derive(Clone, Default, PartialEq)]
pub struct Mapping {
    pub entries: Vec<Entry>,
}

#[derive(Clone, PartialEq)]
pub enum Entry {
    Pair(String, Node),
    Comment(Comment),
}

/// A comment line: the text after `#` (YAML/dotenv keep a leading space; INI strips `;`/`#` and
/// leading spaces), SOPS.md §4. Comments can themselves be encrypted, hence secret bytes.
#[derive(Clone, PartialEq, Default)]
pub struct Comment(pub SecretBytes);

#[derive(Clone, PartialEq)]
pub enum Node {
    Null,
    Scalar(Scalar),
    Mapping(Mapping),
    Sequence(Vec<Item>),
}

/// A sequence element. Comments inside sequences are items (SOPS.md §4: sops writes encrypted ones
/// as `- ENC[...,type:comment]` items).
#[derive(Clone, PartialEq)]
pub enum Item {
    Node(Node),
    Comment(Comment),
}

#[derive(Clone, PartialEq)]
pub enum Scalar {
    /// Any string; bytes because the binary store and YAML `!!binary` carry non-UTF-8 data.
    Str(SecretBytes),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// A timestamp, held in its canonical RFC 3339 form with nanoseconds and trailing zeros
    /// trimmed (Go `RFC3339Nano`), which is both its plaintext and how YAML writes it (SOPS.md §2.4).
    Time(String),
}

impl Scalar {
    pub fn str(s: &str) -> Scalar {
        Scalar::Str(SecretBytes::from_str(s))
    }
}

impl Node {
    pub fn str(s: &str) -> Node {
        Node::Scalar(Scalar::str(s))
    }
    pub fn as_mapping(&self) -> Option<&Mapping> {
        match self {
            Node::Mapping(m) => Some(m),
            _ => None,
        }
    }
    /// The string value if this node is a string scalar that is valid UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::Scalar(Scalar::Str(s)) => s.as_str(),
            _ => None,
        }
    }
}

impl Mapping {
    pub fn new() -> Self {
        Mapping {
            entries: Vec::new(),
        }
    }
    /// First value stored under `key` (comments skipped).
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entries.iter().find_map(|e| match e {
            Entry::Pair(k, v) if k == key => Some(v),
            _ => None,
        })
    }
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        self.entries.iter_mut().find_map(|e| match e {
            Entry::Pair(k, v) if k == key => Some(v),
            _ => None,
        })
    }
    pub fn push(&mut self, key: impl Into<String>, value: Node) {
        self.entries.push(Entry::Pair(key.into(), value));
    }
    /// Removes every pair under `key`, returning the first value removed.
    pub fn remove(&mut self, key: &str) -> Option<Node> {
        let mut found = None;
        self.entries.retain_mut(|e| match e {
            Entry::Pair(k, v) if k == key => {
                if found.is_none() {
                    found = Some(std::mem::replace(v, Node::Null));
                }
                false
            }
            _ => true,
        });
        found
    }
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &Node)> {
        self.entries.iter().filter_map(|e| match e {
            Entry::Pair(k, v) => Some((k.as_str(), v)),
            Entry::Comment(_) => None,
        })
    }
}

// Debug shows the shape (keys, types) but never a value or a comment's text.
impl fmt::Debug for Tree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.documents).finish()
    }
}
impl fmt::Debug for Mapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.entries).finish()
    }
}
impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Entry::Pair(k, v) => write!(f, "{k:?}: {v:?}"),
            Entry::Comment(_) => f.write_str("#[comment]"),
        }
    }
}
impl fmt::Debug for Comment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("#[comment]")
    }
}
impl fmt::Debug for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::Null => f.write_str("null"),
            Node::Scalar(s) => write!(f, "{s:?}"),
            Node::Mapping(m) => write!(f, "{m:?}"),
            Node::Sequence(items) => f.debug_list().entries(items).finish(),
        }
    }
}
impl fmt::Debug for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Item::Node(n) => write!(f, "{n:?}"),
            Item::Comment(_) => f.write_str("#[comment]"),
        }
    }
}
impl fmt::Debug for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Scalar::Str(_) => "<str>",
            Scalar::Int(_) => "<int>",
            Scalar::Float(_) => "<float>",
            Scalar::Bool(_) => "<bool>",
            Scalar::Time(_) => "<time>",
        })
    }
}
