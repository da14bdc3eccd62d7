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
}
