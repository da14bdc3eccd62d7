//! The dotenv store (SOPS.md §8.4), byte-compatible with sops 3.11's `stores/dotenv`.
//!
//! sops reads `.env` files at the byte level, with no shell semantics at all: a line is a comment
//! if its first byte is `#`, otherwise everything before the first `=` is the key (spaces and
//! `export ` included) and everything after it is the value, verbatim, except that the two
//! characters `\n` become a newline. We reproduce exactly that, quirks included, so that a file
//! round-trips to the same bytes sops writes. The `sops_…` metadata lines are ordinary pairs here
//! (SOPS.md §7.4); the engine folds them.
//!
//! An error about a bad line names its number, never its content (sops prints the whole line,
//! which may be a secret).

use super::json::go_format_float;
use super::FormatError;
use crate::secret::SecretBytes;
use crate::sops::tree::{Comment, Entry, Item, Mapping, Node, Scalar, Tree};

/// Parses dotenv bytes into one flat document (SOPS.md §8.4).
pub fn parse(input: &[u8]) -> Result<Tree, FormatError> {
    let mut doc = Mapping::new();
    for (index, line) in input.split(|b| *b == b'\n').enumerate() {
        // Only `\n` splits; a `\r` stays in the value, and empty lines vanish.
        if line.is_empty() {
            continue;
        }
        if line[0] == b'#' {
            doc.entries.push(Entry::Comment(Comment(SecretBytes::new(
                line[1..].to_vec(),
            ))));
            continue;
        }
        let Some(eq) = line.iter().position(|b| *b == b'=') else {
            return Err(FormatError::syntax(
                "invalid dotenv input line: no '=' in it",
                Some(index + 1),
            ));
        };
        let key = std::str::from_utf8(&line[..eq]).map_err(|_| {
            FormatError::syntax(
                "invalid dotenv input line: key is not valid UTF-8",
                Some(index + 1),
            )
        })?;
        let value = unescape_newlines(&line[eq + 1..]);
        doc.push(key, Node::Scalar(Scalar::Str(value)));
    }
    Ok(Tree {
        documents: vec![doc],
    })
}

/// Emits `KEY=VALUE` lines and `#comment` lines, newlines in values as `\n` (SOPS.md §8.4).
/// Only the first document is written, as sops does.
pub fn emit(tree: &Tree) -> Result<Vec<u8>, FormatError> {
    let mut out = Vec::new();
    let Some(doc) = tree.documents.first() else {
        return Ok(out);
    };
    for entry in &doc.entries {
        match entry {
            Entry::Comment(c) => {
                out.push(b'#');
                out.extend_from_slice(c.0.expose());
                out.push(b'\n');
            }
            Entry::Pair(key, value) => {
                if matches!(value, Node::Mapping(_) | Node::Sequence(_)) {
                    return Err(FormatError::Emit(format!(
                        "cannot use complex value in dotenv file; offending key {key}"
                    )));
                }
                out.extend_from_slice(key.as_bytes());
                out.push(b'=');
                match value {
                    Node::Scalar(Scalar::Str(s)) => escape_newlines(&mut out, s.expose()),
                    other => out.extend_from_slice(&value_to_string(other)),
                }
                out.push(b'\n');
            }
        }
    }
    Ok(out)
}

/// The two characters `\n` → a newline byte; nothing else is unescaped (SOPS.md §8.4).
fn unescape_newlines(v: &[u8]) -> SecretBytes {
    let mut out = Vec::with_capacity(v.len());
    let mut i = 0;
    while i < v.len() {
        if v[i] == b'\\' && v.get(i + 1) == Some(&b'n') {
            out.push(b'\n');
            i += 2;
        } else {
            out.push(v[i]);
            i += 1;
        }
    }
    SecretBytes::new(out)
}

fn escape_newlines(out: &mut Vec<u8>, v: &[u8]) {
    for &b in v {
        if b == b'\n' {
            out.extend_from_slice(b"\\n");
        } else {
            out.push(b);
        }
    }
}

/// sops's `stores.ValToString`, how the flat stores (dotenv, INI) write a value that is not a
/// string: floats in Go `%G` with at least one decimal (`1.5`, `2.0`, `1E+21`), bools
/// `true`/`false`, times as RFC 3339 without fractional seconds, anything else as Go `%v`
/// (null → `<nil>`, a list → `[1 2]`) **[observed]** with sops 3.11.
pub(crate) fn value_to_string(node: &Node) -> Vec<u8> {
    match node {
        Node::Scalar(Scalar::Float(f)) => {
            let mut s = go_format_float(*f, b'G');
            if f.is_finite() && !s.contains('.') && !s.contains('E') {
                s.push_str(".0");
            }
            s.into_bytes()
        }
        Node::Scalar(Scalar::Time(t)) => rfc3339_seconds(t).into_bytes(),
        other => go_v(other),
    }
}

/// Go `time.RFC3339` of a timestamp we hold in RFC3339Nano: the same text without the fraction.
fn rfc3339_seconds(t: &str) -> String {
    match t.find('.') {
        Some(dot) => {
            let end = t[dot + 1..]
                .find(|c: char| !c.is_ascii_digit())
                .map_or(t.len(), |i| dot + 1 + i);
            format!("{}{}", &t[..dot], &t[end..])
        }
        None => t.to_string(),
    }
}

/// Go's `fmt` `%v` of the value sops holds in its tree (`[]interface{}`, `TreeBranch`, …).
fn go_v(node: &Node) -> Vec<u8> {
    let mut out = Vec::new();
    write_go_v(&mut out, node);
    out
}

fn write_go_v(out: &mut Vec<u8>, node: &Node) {
    match node {
        Node::Null => out.extend_from_slice(b"<nil>"),
        Node::Scalar(Scalar::Str(s)) => out.extend_from_slice(s.expose()),
        Node::Scalar(Scalar::Int(i)) => out.extend_from_slice(i.to_string().as_bytes()),
        Node::Scalar(Scalar::Float(f)) => {
            out.extend_from_slice(go_format_float(*f, b'g').as_bytes())
        }
        Node::Scalar(Scalar::Bool(b)) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        // time.Time's String(): `2006-01-02 15:04:05.999999999 -0700 MST`.
        Node::Scalar(Scalar::Time(t)) => out.extend_from_slice(go_time_string(t).as_bytes()),
        Node::Sequence(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                match item {
                    Item::Node(n) => write_go_v(out, n),
                    Item::Comment(c) => {
                        out.push(b'{');
                        out.extend_from_slice(c.0.expose());
                        out.push(b'}');
                    }
                }
            }
            out.push(b']');
        }
        // A TreeBranch is a slice of {Key Value} structs.
        Node::Mapping(m) => {
            out.push(b'[');
            for (i, entry) in m.entries.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                out.push(b'{');
                match entry {
                    Entry::Pair(k, v) => {
                        out.extend_from_slice(k.as_bytes());
                        out.push(b' ');
                        write_go_v(out, v);
                    }
                    Entry::Comment(c) => {
                        out.push(b'{');
                        out.extend_from_slice(c.0.expose());
                        out.extend_from_slice(b"} <nil>");
                    }
                }
                out.push(b'}');
            }
            out.push(b']');
        }
    }
}

fn go_time_string(t: &str) -> String {
    // `YYYY-MM-DDTHH:MM:SS[.frac](Z|±hh:mm)` → `YYYY-MM-DD HH:MM:SS[.frac] +0000 UTC` or
    // `… -0500 -0500` (a fixed zone without a name prints its offset twice).
    let (datetime, zone) = if let Some(stripped) = t.strip_suffix('Z') {
        (stripped, "+0000 UTC".to_string())
    } else if t.len() > 6 {
        let (d, z) = t.split_at(t.len() - 6);
        let z = z.replace(':', "");
        (d, format!("{z} {z}"))
    } else {
        (t, String::new())
    };
    format!("{} {}", datetime.replacen('T', " ", 1), zone)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn round(input: &[u8]) -> Vec<u8> {
        emit(&parse(input).unwrap()).unwrap()
    }

    #[test]
    fn bytes_are_taken_verbatim() {
        let t = parse(b"export A=1\n  B = x \n  #x=1\n#c\nR=v\r\nE=a=b\nN=one\\ntwo\n\n").unwrap();
        let d = &t.documents[0];
        let keys: Vec<&str> = d.pairs().map(|(k, _)| k).collect();
        assert_eq!(keys, ["export A", "  B ", "  #x", "R", "E", "N"]);
        assert_eq!(d.get("  B ").unwrap().as_str(), Some(" x "));
        assert_eq!(d.get("R").unwrap().as_str(), Some("v\r"));
        assert_eq!(d.get("E").unwrap().as_str(), Some("a=b"));
        assert_eq!(d.get("N").unwrap().as_str(), Some("one\ntwo"));
        assert!(matches!(&d.entries[3], Entry::Comment(c) if c.0.expose() == b"c"));
    }

    #[test]
    fn a_bad_line_is_reported_by_number_only() {
        let e = parse(b"A=1\n\nhunter2\n").unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("line 3") && !text.contains("hunter2"),
            "{text}"
        );
    }

    #[test]
    fn non_strings_are_written_like_sops() {
        let mut m = Mapping::new();
        for (k, v) in [
            ("i", Node::Scalar(Scalar::Int(5))),
            ("w", Node::Scalar(Scalar::Float(2.0))),
            ("big", Node::Scalar(Scalar::Float(1e21))),
            ("m", Node::Scalar(Scalar::Float(1e6))),
            ("sm", Node::Scalar(Scalar::Float(1e-5))),
            ("nz", Node::Scalar(Scalar::Float(-0.0))),
            ("inf", Node::Scalar(Scalar::Float(f64::INFINITY))),
            ("n", Node::Null),
            ("b", Node::Scalar(Scalar::Bool(true))),
            (
                "t",
                Node::Scalar(Scalar::Time("2001-12-14T21:59:43.1-05:00".into())),
            ),
        ] {
            m.push(k, v);
        }
        let out = emit(&Tree { documents: vec![m] }).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "i=5\nw=2.0\nbig=1E+21\nm=1E+06\nsm=1E-05\nnz=-0.0\ninf=+Inf\nn=<nil>\nb=true\n\
             t=2001-12-14T21:59:43-05:00\n"
        );
        let mut m = Mapping::new();
        m.push("a", Node::Mapping(Mapping::new()));
        let e = emit(&Tree { documents: vec![m] }).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot use complex value in dotenv file; offending key a"
        );
    }

    #[test]
    fn go_v_of_lists() {
        let list = Node::Sequence(vec![
            Item::Node(Node::Scalar(Scalar::Float(1.0))),
            Item::Node(Node::str("x")),
            Item::Node(Node::Null),
        ]);
        assert_eq!(value_to_string(&list), b"[1 x <nil>]");
    }

    #[test]
    fn oracle_corpus() {
        super::super::json::corpus::check_store("dotenv", |input, _| emit(&parse(input)?));
    }

    #[test]
    fn shared_fixture_dotenv_basic() {
        let [input, expected, encrypted] = super::super::json::corpus::shared_case("dotenv-basic");
        assert_eq!(round(&input), expected);
        assert_eq!(round(&expected), expected);
        assert_eq!(round(&encrypted), encrypted);
    }

    #[test]
    fn round_trips_keep_bytes() {
        let input = b"# c\nA=1\nB=\"q\"\nC=\\n\n";
        assert_eq!(round(input), input);
    }

    fn entry() -> impl Strategy<Value = Entry> {
        prop_oneof![
            proptest::collection::vec(any::<u8>().prop_filter("no LF", |b| *b != b'\n'), 0..20)
                .prop_map(|c| Entry::Comment(Comment(SecretBytes::new(c)))),
            (
                "[A-Za-z_ ][A-Za-z0-9_ .-]{0,10}",
                proptest::collection::vec(any::<u8>(), 0..30)
            )
                .prop_map(|(k, v)| Entry::Pair(k, Node::Scalar(Scalar::Str(SecretBytes::new(v))))),
        ]
    }

    proptest! {
        #[test]
        fn emit_parse_emit_is_a_fixpoint(entries in proptest::collection::vec(entry(), 0..12)) {
            let tree = Tree { documents: vec![Mapping { entries }] };
            let once = emit(&tree).unwrap();
            let twice = emit(&parse(&once).unwrap()).unwrap();
            prop_assert_eq!(once, twice);
        }
    }

    const SYNTAX_BYTES: &[u8] = b"=#\\n \r\nab";

    proptest::proptest! {
        /// Arbitrary bytes (biased towards the format's syntax) give a tree or an error, never
        /// a panic.
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::prelude::any::<u8>(),
                proptest::sample::select(SYNTAX_BYTES.to_vec()),
            ],
            0..200,
        )) {
            let _ = parse(&bytes);
        }
    }
}
