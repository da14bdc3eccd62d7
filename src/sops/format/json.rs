//! The JSON store (SOPS.md §8.3), byte-compatible with sops 3.11's `stores/json`.
//!
//! sops reads JSON token by token with Go's `encoding/json` (every number a float64, duplicate
//! keys kept in order, anything after the top-level object ignored) and writes it back through
//! `json.Marshal` plus `json.Indent`. This module reproduces both ends exactly: Go's string
//! escaping, Go's float spelling and Go's indentation. The binary store's encrypted form is also
//! a JSON document and goes through here (SOPS.md §7.6).
//!
//! It must never put a value from the file into an error (positions and kinds only), and it
//! never knows about the `sops` metadata key: that is an ordinary entry here.

use super::{EmitOptions, FormatError};
use crate::secret::SecretBytes;
use crate::sops::tree::{Entry, Item, Mapping, Node, Scalar, Tree};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;
use zeroize::Zeroizing;

/// Parses a JSON document whose top level is an object (SOPS.md §8.3).
pub fn parse(input: &[u8]) -> Result<Tree, FormatError> {
    let clean = go_decode_prepass(input);
    let start = clean
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
    let Some(start) = start else {
        // Go's decoder reports a bare EOF for empty or all-blank input.
        return Err(syntax("EOF", None));
    };
    let mut de = serde_json::Deserializer::from_slice(&clean[start..]);
    match clean[start] {
        b'{' => {}
        b'[' => {
            return Err(syntax(
                "Expected JSON object start, got delimiter [ instead",
                None,
            ))
        }
        _ => {
            // sops names the scalar it found (`got "x" of type string`); we name only its type.
            let found = JsonNode::deserialize(&mut de).map_err(|e| serde_error(&e, input))?;
            let ty = match found.0 {
                Node::Null => "<nil>",
                Node::Scalar(Scalar::Bool(_)) => "bool",
                Node::Scalar(Scalar::Str(_)) => "string",
                _ => "float64",
            };
            return Err(syntax(
                format!("Expected JSON object start, got a value of type {ty} instead"),
                None,
            ));
        }
    }
    // Trailing bytes after the object are never read by sops's token loop, so they are not an
    // error here either: no `de.end()`.
    let node = JsonNode::deserialize(&mut de).map_err(|e| serde_error(&e, input))?;
    match node.0 {
        Node::Mapping(m) => Ok(Tree { documents: vec![m] }),
        _ => unreachable!("a value starting with '{{' is an object"),
    }
}

/// Emits the first document like sops: compact `json.Marshal` output re-indented with Go's
/// `json.Indent`, then a newline (SOPS.md §8.3).
pub fn emit(tree: &Tree, opts: &EmitOptions) -> Result<Vec<u8>, FormatError> {
    let doc = tree
        .documents
        .first()
        .ok_or_else(|| FormatError::Emit("Error marshaling to json: no document".into()))?;
    let indent = match opts.json_indent {
        None => "\t".to_string(),
        Some(n) => " ".repeat(n),
    };
    let mut out = Vec::new();
    write_mapping(&mut out, doc, &indent, 0)?;
    out.push(b'\n');
    Ok(out)
}

/// How `sops decrypt --extract` prints a non-string leaf with JSON output: the bare JSON value,
/// no trailing newline (`true`, `1.5`, `null`) **[observed]**. NaN and ±Inf, which sops refuses
/// (`json: unsupported value`), come out in Go's `%v` spelling; use [`try_emit_scalar`] to get
/// sops's error instead.
pub fn emit_scalar(s: &Scalar) -> Vec<u8> {
    match s {
        Scalar::Float(f) if !f.is_finite() => go_format_float(*f, b'g').into_bytes(),
        _ => try_emit_scalar(s).unwrap_or_default(),
    }
}

/// [`emit_scalar`] with sops's error for NaN/±Inf.
pub fn try_emit_scalar(s: &Scalar) -> Result<Vec<u8>, FormatError> {
    let mut out = Vec::new();
    write_scalar(&mut out, s)?;
    Ok(out)
}

/// Go `encoding/json`'s float spelling: shortest round-trip digits, exponent form only below
/// 1e-6 or from 1e21 on, exponent without leading zeros after `e-` (SOPS.md §8.3).
pub fn json_float(f: f64) -> Result<String, FormatError> {
    if !f.is_finite() {
        return Err(FormatError::Emit(format!(
            "json: unsupported value: {}",
            go_format_float(f, b'g')
        )));
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let mut s = go_format_float(f, b'e');
        // Go trims `e-07` to `e-7` (only for negative exponents; `e+21` keeps two digits).
        if let Some(pos) = s.find("e-0") {
            s.remove(pos + 2);
        }
        Ok(s)
    } else {
        Ok(go_format_float(f, b'f'))
    }
}

/// Go `strconv.FormatFloat(f, fmt, -1, 64)` for `fmt` in `e`, `E`, `f`, `g`, `G`: the shortest
/// digits that round-trip, laid out as Go does (`g`/`G` switch to exponent form when the decimal
/// exponent is < -4 or >= 6: Go's fixed threshold for shortest `%g`). NaN/±Inf as `NaN`/`+Inf`.
pub fn go_format_float(f: f64, fmt: u8) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let sign = if f.is_sign_negative() { "-" } else { "" };
    // Rust's `{:e}` gives the shortest round-trip digits, like Go's shortest mode.
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').expect("{:e} always has an exponent");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let exp: i32 = exp.parse().expect("{:e} exponent is an integer");
    let body = match fmt {
        b'e' | b'E' => fmt_e(&digits, exp, fmt),
        b'f' => fmt_f(&digits, exp),
        _ => {
            // %g with shortest precision uses 6 as the exponent threshold (Go strconv ftoa.go).
            if !(-4..6).contains(&exp) {
                fmt_e(&digits, exp, if fmt == b'G' { b'E' } else { b'e' })
            } else {
                fmt_f(&digits, exp)
            }
        }
    };
    format!("{sign}{body}")
}

fn fmt_e(digits: &str, exp: i32, e: u8) -> String {
    let mut s = String::new();
    s.push_str(&digits[..1]);
    if digits.len() > 1 {
        s.push('.');
        s.push_str(&digits[1..]);
    }
    s.push(e as char);
    s.push(if exp < 0 { '-' } else { '+' });
    s.push_str(&format!("{:02}", exp.abs()));
    s
}

fn fmt_f(digits: &str, exp: i32) -> String {
    // `digits` is d.ddd × 10^exp; the decimal point sits after `exp + 1` digits.
    let dp = exp + 1;
    let nd = digits.len() as i32;
    if digits == "0" {
        "0".into()
    } else if dp <= 0 {
        format!("0.{}{}", "0".repeat((-dp) as usize), digits)
    } else if dp >= nd {
        format!("{}{}", digits, "0".repeat((dp - nd) as usize))
    } else {
        format!("{}.{}", &digits[..dp as usize], &digits[dp as usize..])
    }
}

fn syntax(msg: impl fmt::Display, line: Option<usize>) -> FormatError {
    FormatError::syntax(format!("Could not unmarshal input data: {msg}"), line)
}

/// serde_json's messages are fixed texts plus a position (never input content); we keep the
/// text and move the position into the error's fields.
fn serde_error(e: &serde_json::Error, _input: &[u8]) -> FormatError {
    let text = e.to_string();
    let what = text
        .rsplit_once(" at line ")
        .map(|(w, _)| w.to_string())
        .unwrap_or(text);
    let what = if e.line() > 0 {
        format!("{what} at column {}", e.column())
    } else {
        what
    };
    syntax(what, (e.line() > 0).then_some(e.line()))
}

/// Rewrites the input the way Go's decoder would read its strings, so serde_json (stricter) sees
/// the same text: every byte of invalid UTF-8 becomes U+FFFD (Go decodes them one byte at a
/// time), and a `\uXXXX` surrogate escape that is not a high+low pair becomes `\ufffd`
/// (SOPS.md §8.3). Outside strings the replacement keeps a syntax error a syntax error.
fn go_decode_prepass(input: &[u8]) -> Zeroizing<Vec<u8>> {
    let mut utf8 = Zeroizing::new(Vec::with_capacity(input.len()));
    let mut rest = input;
    loop {
        match std::str::from_utf8(rest) {
            Ok(_) => {
                utf8.extend_from_slice(rest);
                break;
            }
            Err(e) => {
                let good = e.valid_up_to();
                utf8.extend_from_slice(&rest[..good]);
                let bad = e.error_len().unwrap_or(rest.len() - good);
                for _ in 0..bad {
                    utf8.extend_from_slice("\u{FFFD}".as_bytes());
                }
                rest = &rest[good + bad..];
            }
        }
    }
    if !utf8.windows(2).any(|w| w == b"\\u") {
        return utf8;
    }
    let mut out = Zeroizing::new(Vec::with_capacity(utf8.len()));
    let src = &utf8[..];
    let mut i = 0;
    let mut in_string = false;
    while i < src.len() {
        let b = src[i];
        if !in_string {
            in_string = b == b'"';
            out.push(b);
            i += 1;
            continue;
        }
        match b {
            b'"' => {
                in_string = false;
                out.push(b);
                i += 1;
            }
            b'\\' if src.get(i + 1) == Some(&b'u') => match hex4(&src[i + 2..]) {
                Some(cp) if (0xD800..0xE000).contains(&cp) => {
                    let low = if src[i + 6..].starts_with(b"\\u") {
                        hex4(&src[i + 8..])
                    } else {
                        None
                    };
                    match low {
                        Some(lo) if cp < 0xDC00 && (0xDC00..0xE000).contains(&lo) => {
                            out.extend_from_slice(&src[i..i + 12]);
                            i += 12;
                        }
                        _ => {
                            out.extend_from_slice(b"\\ufffd");
                            i += 6;
                        }
                    }
                }
                _ => {
                    out.extend_from_slice(&src[i..i + 2]);
                    i += 2;
                }
            },
            b'\\' => {
                out.extend_from_slice(&src[i..(i + 2).min(src.len())]);
                i += 2;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

fn hex4(s: &[u8]) -> Option<u32> {
    let h = s.get(..4)?;
    let text = std::str::from_utf8(h).ok()?;
    if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(text, 16).ok()
}

/// A JSON value read into the tree model; a visitor (not `serde_json::Value`) so that duplicate
/// keys survive in order and numbers become floats as in Go (SOPS.md §8.3).
struct JsonNode(Node);

impl<'de> Deserialize<'de> for JsonNode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = JsonNode;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<JsonNode, E> {
        Ok(JsonNode(Node::Scalar(Scalar::Bool(v))))
    }
    // Every JSON number is a float64 in sops (Go decodes without UseNumber). u64/i64 → f64 is
    // round-to-nearest, which equals correctly rounding the decimal text.
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<JsonNode, E> {
        Ok(JsonNode(Node::Scalar(Scalar::Float(v as f64))))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<JsonNode, E> {
        Ok(JsonNode(Node::Scalar(Scalar::Float(v as f64))))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<JsonNode, E> {
        Ok(JsonNode(Node::Scalar(Scalar::Float(v))))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<JsonNode, E> {
        Ok(JsonNode(Node::Scalar(Scalar::Str(SecretBytes::from_str(
            v,
        )))))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<JsonNode, E> {
        // Moves the buffer into the wiped type; no plaintext copy is left behind.
        Ok(JsonNode(Node::Scalar(Scalar::Str(SecretBytes::from(v)))))
    }
    fn visit_unit<E: de::Error>(self) -> Result<JsonNode, E> {
        Ok(JsonNode(Node::Null))
    }
    fn visit_none<E: de::Error>(self) -> Result<JsonNode, E> {
        Ok(JsonNode(Node::Null))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<JsonNode, A::Error> {
        let mut items = Vec::new();
        while let Some(JsonNode(n)) = seq.next_element()? {
            items.push(Item::Node(n));
        }
        Ok(JsonNode(Node::Sequence(items)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JsonNode, A::Error> {
        let mut m = Mapping::new();
        while let Some(key) = map.next_key::<String>()? {
            let JsonNode(v) = map.next_value()?;
            m.entries.push(Entry::Pair(key, v));
        }
        Ok(JsonNode(Node::Mapping(m)))
    }
}

// --- emitting -------------------------------------------------------------------------------

fn newline_indent(out: &mut Vec<u8>, indent: &str, depth: usize) {
    out.push(b'\n');
    for _ in 0..depth {
        out.extend_from_slice(indent.as_bytes());
    }
}

/// Comments are skipped: JSON has none and sops's encoder drops them (SOPS.md §4).
fn write_mapping(
    out: &mut Vec<u8>,
    m: &Mapping,
    indent: &str,
    depth: usize,
) -> Result<(), FormatError> {
    let mut pairs = m.pairs().peekable();
    if pairs.peek().is_none() {
        out.extend_from_slice(b"{}");
        return Ok(());
    }
    out.push(b'{');
    let mut first = true;
    for (k, v) in pairs {
        if !first {
            out.push(b',');
        }
        first = false;
        newline_indent(out, indent, depth + 1);
        write_string(out, k.as_bytes());
        out.extend_from_slice(b": ");
        write_node(out, v, indent, depth + 1)?;
    }
    newline_indent(out, indent, depth);
    out.push(b'}');
    Ok(())
}

fn write_node(out: &mut Vec<u8>, n: &Node, indent: &str, depth: usize) -> Result<(), FormatError> {
    match n {
        Node::Null => out.extend_from_slice(b"null"),
        Node::Scalar(s) => write_scalar(out, s)?,
        Node::Mapping(m) => write_mapping(out, m, indent, depth)?,
        Node::Sequence(items) => {
            let mut nodes = items
                .iter()
                .filter_map(|i| match i {
                    Item::Node(n) => Some(n),
                    Item::Comment(_) => None,
                })
                .peekable();
            if nodes.peek().is_none() {
                out.extend_from_slice(b"[]");
                return Ok(());
            }
            out.push(b'[');
            let mut first = true;
            for n in nodes {
                if !first {
                    out.push(b',');
                }
                first = false;
                newline_indent(out, indent, depth + 1);
                write_node(out, n, indent, depth + 1)?;
            }
            newline_indent(out, indent, depth);
            out.push(b']');
        }
    }
    Ok(())
}

fn write_scalar(out: &mut Vec<u8>, s: &Scalar) -> Result<(), FormatError> {
    match s {
        Scalar::Str(b) => write_string(out, b.expose()),
        Scalar::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Scalar::Float(f) => out.extend_from_slice(json_float(*f)?.as_bytes()),
        Scalar::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        // Go marshals a time.Time as its RFC 3339 (nano) string, which is what we hold.
        Scalar::Time(t) => write_string(out, t.as_bytes()),
    }
    Ok(())
}

/// Go `encoding/json` string encoding with HTML escaping on (what `json.Marshal` does):
/// `<>&` and U+2028/U+2029 as `\u` escapes, short escapes for `\b\f\n\r\t`, other controls as
/// `\u00xx`, each invalid UTF-8 byte as `\ufffd`, everything else raw (SOPS.md §8.3).
fn write_string(out: &mut Vec<u8>, s: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        if b < 0x80 {
            match b {
                b'"' => out.extend_from_slice(b"\\\""),
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                b'\t' => out.extend_from_slice(b"\\t"),
                0x08 => out.extend_from_slice(b"\\b"),
                0x0c => out.extend_from_slice(b"\\f"),
                b'<' | b'>' | b'&' | 0..=0x1f => {
                    out.extend_from_slice(b"\\u00");
                    out.push(HEX[(b >> 4) as usize]);
                    out.push(HEX[(b & 0xf) as usize]);
                }
                _ => out.push(b),
            }
            i += 1;
            continue;
        }
        match decode_rune(&s[i..]) {
            None => {
                out.extend_from_slice(b"\\ufffd");
                i += 1;
            }
            Some((c, len)) => {
                if c == '\u{2028}' || c == '\u{2029}' {
                    out.extend_from_slice(if c == '\u{2028}' {
                        b"\\u2028"
                    } else {
                        b"\\u2029"
                    });
                } else {
                    out.extend_from_slice(&s[i..i + len]);
                }
                i += len;
            }
        }
    }
    out.push(b'"');
}

/// The UTF-8 character at the start of `s` and its length, or `None` when the first byte does
/// not start a valid sequence (Go's `RuneError, 1`).
pub(crate) fn decode_rune(s: &[u8]) -> Option<(char, usize)> {
    let want = match s.first()? {
        0x00..=0x7f => 1,
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return None,
    };
    let chunk = s.get(..want)?;
    let c = std::str::from_utf8(chunk).ok()?.chars().next()?;
    Some((c, want))
}

/// Fixture helpers shared by the store tests: the oracle corpus under `tests/fixtures/stores/`.
#[cfg(test)]
pub(crate) mod corpus {
    use super::super::{EmitOptions, FormatError};
    use std::path::{Path, PathBuf};

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/stores")
    }

    fn file_starting(dir: &Path, prefix: &str) -> Option<Vec<u8>> {
        let mut names: Vec<_> = std::fs::read_dir(dir).ok()?.flatten().collect();
        names.sort_by_key(|e| e.file_name());
        let e = names
            .into_iter()
            .find(|e| e.file_name().to_string_lossy().starts_with(prefix))?;
        Some(std::fs::read(e.path()).unwrap())
    }

    /// `stores.json.indent` from a `.sops.yaml` beside the input (SOPS.md §9.2).
    fn options(dir: &Path) -> EmitOptions {
        let mut opts = EmitOptions::default();
        if let Ok(text) = std::fs::read_to_string(dir.join(".sops.yaml")) {
            let v: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
            if let Some(n) = v["stores"]["json"]["indent"].as_u64() {
                opts.json_indent = Some(n as usize);
            }
        }
        opts
    }

    /// Runs `emit(parse(input))` for every case of `store` and compares it with the real sops's
    /// `expected.*`. Fails listing every case that differs; returns how many cases ran.
    pub fn check_store(
        store: &str,
        round_trip: impl Fn(&[u8], &EmitOptions) -> Result<Vec<u8>, FormatError>,
    ) -> usize {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(root().join(store))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        dirs.sort();
        let mut failed = Vec::new();
        for dir in &dirs {
            let name = dir.file_name().unwrap().to_string_lossy().to_string();
            let input = file_starting(dir, "input.").expect("input.*");
            let expected = file_starting(dir, "expected.").expect("expected.*");
            match round_trip(&input, &options(dir)) {
                Ok(out) if out == expected => {}
                Ok(out) => failed.push(format!(
                    "{name}: got\n{}\nwant\n{}",
                    String::from_utf8_lossy(&out),
                    String::from_utf8_lossy(&expected)
                )),
                Err(e) => failed.push(format!("{name}: {e}")),
            }
        }
        assert!(
            failed.is_empty(),
            "{} case(s) differ:\n{}",
            failed.len(),
            failed.join("\n")
        );
        assert!(
            dirs.len() >= 15,
            "corpus for {store} has only {} cases",
            dirs.len()
        );
        dirs.len()
    }

    /// `(input, expected, encrypted)` of a case copied from the shared sops fixtures.
    pub fn shared_case(case: &str) -> [Vec<u8>; 3] {
        let dir = root().join("shared-cases").join(case);
        ["input.", "expected.", "encrypted."]
            .map(|p| file_starting(&dir, p).unwrap_or_else(|| panic!("{case}/{p}*")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(input: &str) -> String {
        let t = parse(input.as_bytes()).unwrap();
        String::from_utf8(emit(&t, &EmitOptions::default()).unwrap()).unwrap()
    }

    #[test]
    fn floats_are_spelled_like_go() {
        let cases: &[(f64, &str)] = &[
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (1e-7, "1e-7"),
            (1e-6, "0.000001"),
            (0.1, "0.1"),
            (-0.0, "-0"),
            (2.0, "2"),
            (1.5e300, "1.5e+300"),
            (5e-324, "5e-324"),
            (123456789012345678901234.0, "1.2345678901234569e+23"),
            (9007199254740993.0, "9007199254740992"),
        ];
        for (f, want) in cases {
            assert_eq!(json_float(*f).unwrap(), *want, "{f:e}");
        }
        assert_eq!(
            json_float(f64::INFINITY).unwrap_err(),
            FormatError::Emit("json: unsupported value: +Inf".into())
        );
        assert_eq!(go_format_float(1e6, b'G'), "1E+06");
        assert_eq!(go_format_float(123456.0, b'G'), "123456");
        assert_eq!(go_format_float(1e-5, b'G'), "1E-05");
        assert_eq!(go_format_float(0.0001, b'G'), "0.0001");
    }

    #[test]
    fn strings_are_escaped_like_go() {
        let mut out = Vec::new();
        write_string(
            &mut out,
            b"<a&b>\"\\\n\x01\x08\x0c\x7f\xe2\x80\xa8 \xff\xc3\xa9",
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"\\u003ca\\u0026b\\u003e\\\"\\\\\\n\\u0001\\b\\f\x7f\\u2028 \\ufffdé\""
        );
    }

    #[test]
    fn duplicate_keys_and_order_survive() {
        assert_eq!(
            round(r#"{"b":1,"a":{"x":[]},"b":"2"}"#),
            "{\n\t\"b\": 1,\n\t\"a\": {\n\t\t\"x\": []\n\t},\n\t\"b\": \"2\"\n}\n"
        );
    }

    #[test]
    fn lone_surrogates_and_bad_utf8_become_replacement_chars() {
        let t = parse(b"{\"a\":\"\\ud800x\\udc00\\ud83d\\ude00\xff\"}").unwrap();
        let v = t.documents[0].get("a").unwrap();
        assert_eq!(v.as_str().unwrap(), "\u{FFFD}x\u{FFFD}😀\u{FFFD}");
    }

    #[test]
    fn top_level_must_be_an_object_and_errors_hide_values() {
        let e = parse(b" [1]").unwrap_err().to_string();
        assert!(e.contains("got delimiter [ instead"), "{e}");
        let e = parse(b"\"hunter2\"").unwrap_err().to_string();
        assert!(
            e.contains("of type string") && !e.contains("hunter2"),
            "{e}"
        );
        assert!(parse(b"").unwrap_err().to_string().ends_with("EOF"));
        let e = parse(b"{\"k\": hunter2}").unwrap_err().to_string();
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn trailing_bytes_after_the_object_are_ignored() {
        assert_eq!(round("{\"a\":true} ]]garbage"), "{\n\t\"a\": true\n}\n");
    }

    #[test]
    fn indent_options() {
        let t = parse(br#"{"a":[1,{}],"b":{"c":null}}"#).unwrap();
        let e = |n| {
            String::from_utf8(
                emit(
                    &t,
                    &EmitOptions {
                        json_indent: n,
                        ..Default::default()
                    },
                )
                .unwrap(),
            )
            .unwrap()
        };
        assert_eq!(
            e(Some(2)),
            "{\n  \"a\": [\n    1,\n    {}\n  ],\n  \"b\": {\n    \"c\": null\n  }\n}\n"
        );
        assert_eq!(
            e(Some(0)),
            "{\n\"a\": [\n1,\n{}\n],\n\"b\": {\n\"c\": null\n}\n}\n"
        );
    }

    /// A tree as the YAML store hands it over (ints, a timestamp, comments everywhere), written
    /// as sops 3.11 writes `decrypt --output-type json` of the same YAML **[observed]**:
    /// comments vanish, ints stay decimal, the time is its RFC 3339 string.
    #[test]
    fn yaml_shaped_tree_converts_like_sops() {
        use crate::sops::tree::Comment;
        let c = |t: &str| Comment(SecretBytes::from_str(t));
        let mut m = Mapping::new();
        m.entries.push(Entry::Comment(c(" in map")));
        m.push("k", Node::str("v"));
        let mut doc = Mapping::new();
        doc.entries.push(Entry::Comment(c(" top comment")));
        doc.push("i", Node::Scalar(Scalar::Int(5)));
        doc.push("big", Node::Scalar(Scalar::Int(i64::MAX)));
        doc.push(
            "t",
            Node::Scalar(Scalar::Time("2001-12-14T21:59:43.1-05:00".into())),
        );
        doc.push(
            "l",
            Node::Sequence(vec![
                Item::Comment(c(" in list")),
                Item::Node(Node::Scalar(Scalar::Int(1))),
                Item::Node(Node::str("x")),
            ]),
        );
        doc.push("m", Node::Mapping(m));
        doc.push("f", Node::Scalar(Scalar::Float(1e10)));
        let out = emit(
            &Tree {
                documents: vec![doc],
            },
            &EmitOptions::default(),
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\n\t\"i\": 5,\n\t\"big\": 9223372036854775807,\n\t\"t\": \"2001-12-14T21:59:43.1-05:00\",\n\
             \t\"l\": [\n\t\t1,\n\t\t\"x\"\n\t],\n\t\"m\": {\n\t\t\"k\": \"v\"\n\t},\n\t\"f\": 10000000000\n}\n"
        );
    }

    fn json_node() -> impl proptest::strategy::Strategy<Value = Node> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Node::Null),
            any::<bool>().prop_map(|b| Node::Scalar(Scalar::Bool(b))),
            // Every finite double, subnormals and -0 included; NaN/Inf are not JSON.
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| Node::Scalar(Scalar::Float(f))),
            (-1e25f64..1e25).prop_map(|f| Node::Scalar(Scalar::Float(f))),
            ".*".prop_map(|s| Node::str(&s)),
            "[<>&\"\\\\\u{0}-\u{1f}\u{2028}\u{2029}a\u{e9}]{0,6}".prop_map(|s| Node::str(&s)),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6)
                    .prop_map(|v| Node::Sequence(v.into_iter().map(Item::Node).collect())),
                proptest::collection::vec(("[a-c<&\u{2028}]{0,3}", inner), 0..6).prop_map(|kv| {
                    let mut m = Mapping::new();
                    for (k, v) in kv {
                        m.push(k, v);
                    }
                    Node::Mapping(m)
                }),
            ]
        })
    }

    proptest::proptest! {
        #[test]
        fn emit_parse_emit_is_a_fixpoint(
            entries in proptest::collection::vec(("\\PC{0,4}", json_node()), 0..6),
            indent in proptest::option::of(0usize..5),
        ) {
            let mut doc = Mapping::new();
            for (k, v) in entries {
                doc.push(k, v);
            }
            let opts = EmitOptions { json_indent: indent, ..Default::default() };
            let once = emit(&Tree { documents: vec![doc] }, &opts).unwrap();
            let twice = emit(&parse(&once).unwrap(), &opts).unwrap();
            proptest::prop_assert_eq!(String::from_utf8(once).unwrap(), String::from_utf8(twice).unwrap());
        }

        /// Our float spelling parses back to the same double (shortest round-trip).
        #[test]
        fn json_floats_round_trip(f in proptest::num::f64::NORMAL | proptest::num::f64::SUBNORMAL | proptest::num::f64::ZERO | proptest::num::f64::NEGATIVE | proptest::num::f64::POSITIVE) {
            let text = json_float(f).unwrap();
            let back: f64 = text.parse().unwrap();
            proptest::prop_assert_eq!(back.to_bits(), f.to_bits(), "{}", text);
        }
    }

    #[test]
    fn oracle_corpus() {
        corpus::check_store("json", |input, opts| emit(&parse(input)?, opts));
    }

    #[test]
    fn shared_fixture_json_basic() {
        let [input, expected, encrypted] = corpus::shared_case("json-basic");
        let e = |b: &[u8]| emit(&parse(b).unwrap(), &EmitOptions::default()).unwrap();
        assert_eq!(e(&input), expected);
        assert_eq!(e(&expected), expected);
        assert_eq!(e(&encrypted), encrypted);
    }

    #[test]
    fn scalars_for_extract_have_no_newline() {
        assert_eq!(emit_scalar(&Scalar::Bool(true)), b"true");
        assert_eq!(emit_scalar(&Scalar::Float(1.5)), b"1.5");
        assert_eq!(emit_scalar(&Scalar::Int(-3)), b"-3");
        assert_eq!(emit_scalar(&Scalar::str("<")), b"\"\\u003c\"");
        assert!(try_emit_scalar(&Scalar::Float(f64::NAN)).is_err());
    }

    const SYNTAX_BYTES: &[u8] = b"{}[]\",:\\u0123456789abcdefDdeE+-.tfnl \n";

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
