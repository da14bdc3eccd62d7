//! sops's tree path syntax, `["key"]['key'][0]` (SOPS.md §10), for `--extract` and `set`/`unset`.

use crate::sops::tree::{Item, Node, Tree};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Key(String),
    Index(usize),
}

/// Parses a path; the error says where it went wrong, never echoes a value (the path is the
/// user's own argument, so quoting it is fine).
pub fn parse(path: &str) -> Result<Vec<Step>, String> {
    let b = path.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    let bad = |at: usize| {
        format!("cannot parse path {path:?} at byte {at}: expected [\"key\"], ['key'] or [index]")
    };
    while i < b.len() {
        if b[i] != b'[' {
            return Err(bad(i));
        }
        i += 1;
        match b.get(i) {
            Some(&q @ (b'"' | b'\'')) => {
                let start = i + 1;
                let end = path[start..].find(q as char).ok_or_else(|| bad(i))? + start;
                out.push(Step::Key(path[start..end].to_string()));
                i = end + 1;
            }
            Some(c) if c.is_ascii_digit() => {
                let start = i;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                out.push(Step::Index(path[start..i].parse().map_err(|_| bad(start))?));
            }
            _ => return Err(bad(i)),
        }
        if b.get(i) != Some(&b']') {
            return Err(bad(i));
        }
        i += 1;
    }
    if out.is_empty() {
        return Err(bad(0));
    }
    Ok(out)
}

/// Finds the node at `steps` in the first document (sops searches only the first one).
pub fn get<'a>(tree: &'a Tree, steps: &[Step]) -> Result<&'a Node, String> {
    let doc = tree.documents.first().ok_or("the file has no document")?;
    let mut cur: Option<&Node> = None;
    for (n, step) in steps.iter().enumerate() {
        let next = match (cur, step) {
            (None, Step::Key(k)) => doc.get(k),
            (Some(Node::Mapping(m)), Step::Key(k)) => m.get(k),
            (Some(Node::Sequence(items)), Step::Index(i)) => items
                .iter()
                .filter_map(|it| match it {
                    Item::Node(n) => Some(n),
                    Item::Comment(_) => None,
                })
                .nth(*i),
            _ => None,
        };
        match next {
            Some(node) => cur = Some(node),
            None => {
                return Err(format!(
                    "component [{}] not found",
                    match &steps[n] {
                        Step::Key(k) => format!("'{k}'"),
                        Step::Index(i) => i.to_string(),
                    }
                ))
            }
        }
    }
    cur.ok_or_else(|| "empty path".to_string())
}

/// Why `set`/`unset` could not apply a path. Texts follow sops's where it has one (SOPS.md §10);
/// none quotes a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error("Key not found: {0}")]
    KeyNotFound(String),
    #[error("Index {0} out of bounds")]
    IndexOutOfBounds(usize),
    /// sops panics here (a key step into a list); we say what is wrong instead.
    #[error("cannot use key [\"{key}\"] on a list (at step {step} of the path)")]
    KeyOnList { key: String, step: usize },
    #[error("cannot use index [{index}] on a mapping (at step {step} of the path)")]
    IndexOnMapping { index: usize, step: usize },
    #[error("Unsupported type: {kind} for item '{item}'")]
    Unsupported { kind: &'static str, item: String },
    #[error("a path must start with a key, not an index")]
    RootIndex,
}

fn kind(n: &Node) -> &'static str {
    match n {
        Node::Null => "nil",
        Node::Scalar(crate::sops::tree::Scalar::Str(_)) => "string",
        Node::Scalar(crate::sops::tree::Scalar::Int(_)) => "int",
        Node::Scalar(crate::sops::tree::Scalar::Float(_)) => "float64",
        Node::Scalar(crate::sops::tree::Scalar::Bool(_)) => "bool",
        Node::Scalar(crate::sops::tree::Scalar::Time(_)) => "time.Time",
        Node::Mapping(_) => "map",
        Node::Sequence(_) => "list",
    }
}

/// The position in `items` of the `i`-th node (comments are items too but not addressable).
fn nth_node(items: &[Item], i: usize) -> Option<usize> {
    items
        .iter()
        .enumerate()
        .filter(|(_, it)| matches!(it, Item::Node(_)))
        .map(|(pos, _)| pos)
        .nth(i)
}

/// `sops set` on the first document: missing mapping keys are created, an index at or past the
/// end of a list appends, and a scalar in the way is replaced by the container the next step
/// needs (SOPS.md §10). Returns whether the tree changed (for `--idempotent`).
pub fn set(tree: &mut Tree, steps: &[Step], value: Node) -> Result<bool, EditError> {
    let Some((Step::Key(first), rest)) = steps.split_first() else {
        return Err(EditError::RootIndex);
    };
    if tree.documents.is_empty() {
        tree.documents.push(crate::sops::tree::Mapping::new());
    }
    let doc = &mut tree.documents[0];
    if doc.get(first).is_none() {
        doc.push(first.clone(), Node::Null);
    }
    let slot = doc.get_mut(first).expect("inserted above");
    set_in(slot, rest, value, 1)
}

fn set_in(slot: &mut Node, steps: &[Step], value: Node, depth: usize) -> Result<bool, EditError> {
    let Some((step, rest)) = steps.split_first() else {
        if *slot == value {
            return Ok(false);
        }
        *slot = value;
        return Ok(true);
    };
    match step {
        Step::Key(k) => {
            match slot {
                Node::Mapping(_) => {}
                Node::Sequence(_) => {
                    return Err(EditError::KeyOnList {
                        key: k.clone(),
                        step: depth + 1,
                    })
                }
                _ => *slot = Node::Mapping(crate::sops::tree::Mapping::new()),
            }
            let Node::Mapping(m) = slot else {
                unreachable!()
            };
            if m.get(k).is_none() {
                m.push(k.clone(), Node::Null);
            }
            set_in(m.get_mut(k).expect("inserted"), rest, value, depth + 1)
        }
        Step::Index(i) => {
            match slot {
                Node::Sequence(_) => {}
                Node::Mapping(_) => {
                    return Err(EditError::IndexOnMapping {
                        index: *i,
                        step: depth + 1,
                    })
                }
                _ => *slot = Node::Sequence(Vec::new()),
            }
            let Node::Sequence(items) = slot else {
                unreachable!()
            };
            let pos = match nth_node(items, *i) {
                Some(p) => p,
                None => {
                    // Past the end: sops appends one item, whatever the index (SOPS.md §10).
                    items.push(Item::Node(Node::Null));
                    items.len() - 1
                }
            };
            let Item::Node(n) = &mut items[pos] else {
                unreachable!()
            };
            set_in(n, rest, value, depth + 1)
        }
    }
}

/// `sops unset` on the first document: removes the key or list item (SOPS.md §10).
pub fn unset(tree: &mut Tree, steps: &[Step]) -> Result<(), EditError> {
    let Some((Step::Key(first), rest)) = steps.split_first() else {
        return Err(EditError::RootIndex);
    };
    let doc = tree
        .documents
        .first_mut()
        .ok_or_else(|| EditError::KeyNotFound(first.clone()))?;
    if rest.is_empty() {
        return doc
            .remove(first)
            .map(|_| ())
            .ok_or_else(|| EditError::KeyNotFound(first.clone()));
    }
    let slot = doc
        .get_mut(first)
        .ok_or_else(|| EditError::KeyNotFound(first.clone()))?;
    unset_in(slot, rest)
}

fn unset_in(slot: &mut Node, steps: &[Step]) -> Result<(), EditError> {
    let (step, rest) = steps.split_first().expect("non-empty");
    let last = rest.is_empty();
    match (slot, step) {
        (Node::Mapping(m), Step::Key(k)) => {
            if last {
                m.remove(k)
                    .map(|_| ())
                    .ok_or_else(|| EditError::KeyNotFound(k.clone()))
            } else {
                let next = m
                    .get_mut(k)
                    .ok_or_else(|| EditError::KeyNotFound(k.clone()))?;
                unset_in(next, rest)
            }
        }
        (Node::Sequence(items), Step::Index(i)) => {
            let pos = nth_node(items, *i).ok_or(EditError::IndexOutOfBounds(*i))?;
            if last {
                items.remove(pos);
                Ok(())
            } else {
                let Item::Node(n) = &mut items[pos] else {
                    unreachable!()
                };
                unset_in(n, rest)
            }
        }
        (other, step) => Err(EditError::Unsupported {
            kind: kind(other),
            item: match step {
                Step::Key(k) => k.clone(),
                Step::Index(i) => i.to_string(),
            },
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sops_syntax() {
        assert_eq!(
            parse(r#"["a"]['b'][0]"#).unwrap(),
            vec![Step::Key("a".into()), Step::Key("b".into()), Step::Index(0)]
        );
        assert!(parse("a.b").is_err());
        assert!(parse(r#"["a"#).is_err());
        assert!(parse("").is_err());
    }

    fn doc(yaml: &str) -> Tree {
        crate::sops::format::yaml::parse(yaml.as_bytes()).unwrap()
    }

    fn yaml(t: &Tree) -> String {
        let out = crate::sops::format::yaml::emit(t, &Default::default()).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn set_creates_appends_and_reports_change() {
        let mut t = doc("a: 1\nb: [x, y]\n");
        let p = |s: &str| parse(s).unwrap();
        assert!(set(&mut t, &p(r#"["b"][7]"#), Node::str("z")).unwrap());
        assert!(set(&mut t, &p(r#"["new"]["k"]"#), Node::str("v")).unwrap());
        assert!(set(&mut t, &p(r#"["a"]["k"]"#), Node::str("w")).unwrap());
        assert!(!set(&mut t, &p(r#"["new"]["k"]"#), Node::str("v")).unwrap());
        assert_eq!(
            yaml(&t),
            "a:\n    k: w\nb:\n    - x\n    - \"y\"\n    - z\nnew:\n    k: v\n"
        );
        assert!(matches!(
            set(&mut t, &p(r#"["b"]["k"]"#), Node::Null),
            Err(EditError::KeyOnList { .. })
        ));
    }

    #[test]
    fn unset_removes_or_names_what_is_missing() {
        let mut t = doc("a: 1\nb: [x, y]\nc: {d: e}\n");
        let p = |s: &str| parse(s).unwrap();
        unset(&mut t, &p(r#"["b"][0]"#)).unwrap();
        unset(&mut t, &p(r#"["c"]["d"]"#)).unwrap();
        assert_eq!(yaml(&t), "a: 1\nb:\n    - \"y\"\nc: {}\n");
        assert_eq!(
            unset(&mut t, &p(r#"["zz"]"#)).unwrap_err().to_string(),
            "Key not found: zz"
        );
        assert_eq!(
            unset(&mut t, &p(r#"["b"][9]"#)).unwrap_err().to_string(),
            "Index 9 out of bounds"
        );
        assert_eq!(
            unset(&mut t, &p(r#"["a"]["x"]"#)).unwrap_err().to_string(),
            "Unsupported type: int for item 'x'"
        );
    }
}
