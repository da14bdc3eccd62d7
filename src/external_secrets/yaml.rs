//! The one place generated manifests become YAML text: `render_yaml`. It exists so the rest of
//! `external_secrets` builds plain `serde_json::Value` objects and never formats YAML by hand; at
//! merge time this body is replaced by the shared go-yaml v2 renderer (`src/sealed/goyaml.rs`),
//! so nothing else may depend on its internals. It must never reorder sequences (their order is
//! meaning) and must never emit a scalar that reads back as a different type or text.
//!
//! Style (what `kubectl`/`kubeseal` print through sigs.k8s.io/yaml, i.e. go-yaml v2): 2-space
//! indent, sequence items not indented under their key, mapping keys in go-yaml v2's natural
//! order, plain scalars where they read back as the same string, `"…"` where a plain scalar would
//! read as null/bool/number, `'…'` where YAML syntax forbids a plain one (e.g. a `{{ … }}`
//! template), and literal blocks for multi-line text.

use serde_json::Value;
use std::cmp::Ordering;

/// go-yaml v2's key order (`sorter.go` `keyList.Less`): rune by rune; a non-letter sorts before a
/// letter; runs of digits compare as numbers; otherwise by code point; a prefix sorts first.
/// This is why kubectl prints `.dockerconfigjson` before `A_B` before `AB`.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    let mut i = 0;
    while i < ar.len() && i < br.len() {
        if ar[i] == br[i] {
            i += 1;
            continue;
        }
        let al = ar[i].is_alphabetic();
        let bl = br[i].is_alphabetic();
        if al && bl {
            return ar[i].cmp(&br[i]);
        }
        if al || bl {
            return if bl {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
        // Both non-letters: compare digit runs numerically (leading zeros after a non-zero
        // digit count as part of the number, as in go-yaml).
        let (mut an, mut bn) = (0i128, 0i128);
        if ar[i] == '0' || br[i] == '0' {
            let mut j = i;
            while j > 0 && ar[j - 1].is_ascii_digit() {
                j -= 1;
                if ar[j] != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while ai < ar.len() && ar[ai].is_ascii_digit() {
            an = an.saturating_mul(10) + (ar[ai] as i128 - '0' as i128);
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && br[bi].is_ascii_digit() {
            bn = bn.saturating_mul(10) + (br[bi] as i128 - '0' as i128);
            bi += 1;
        }
        if an != bn {
            return an.cmp(&bn);
        }
        if ai != bi {
            return ai.cmp(&bi);
        }
        return ar[i].cmp(&br[i]);
    }
    ar.len().cmp(&br.len())
}

/// Renders one YAML document (no `---`), ending in exactly one newline.
pub fn render_yaml(v: &Value) -> String {
    let mut out = String::new();
    match v {
        Value::Object(m) if !m.is_empty() => write_map(&mut out, m, 0),
        Value::Array(a) if !a.is_empty() => write_seq(&mut out, a, 0),
        other => {
            out.push_str(&inline(other, 0));
            out.push('\n');
        }
    }
    out
}

fn pad(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

fn sorted(m: &serde_json::Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut v: Vec<_> = m.iter().collect();
    v.sort_by(|a, b| natural_cmp(a.0, b.0));
    v
}

/// `key: value` lines for a non-empty mapping, every key at `indent`.
fn write_map(out: &mut String, m: &serde_json::Map<String, Value>, indent: usize) {
    let mut first = true;
    for (k, v) in sorted(m) {
        if !first {
            pad(out, indent);
        }
        first = false;
        // A key cannot be a block scalar; multi-line keys (never generated in practice) are quoted.
        if k.contains('\n') {
            out.push_str(&double_quoted(k));
        } else {
            out.push_str(&scalar(k, indent));
        }
        out.push(':');
        write_value_after_key(out, v, indent);
    }
}

fn write_value_after_key(out: &mut String, v: &Value, indent: usize) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            pad(out, indent + 2);
            write_map(out, m, indent + 2);
        }
        // go-yaml v2 does not indent a sequence under its key.
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            pad(out, indent);
            write_seq(out, a, indent);
        }
        other => {
            out.push(' ');
            out.push_str(&inline(other, indent + 2));
            out.push('\n');
        }
    }
}

/// `- item` lines for a non-empty sequence, dashes at `indent` (the first dash already padded).
fn write_seq(out: &mut String, a: &[Value], indent: usize) {
    let mut first = true;
    for v in a {
        if !first {
            pad(out, indent);
        }
        first = false;
        out.push_str("- ");
        match v {
            Value::Object(m) if !m.is_empty() => write_map(out, m, indent + 2),
            Value::Array(s) if !s.is_empty() => write_seq(out, s, indent + 2),
            other => {
                out.push_str(&inline(other, indent + 2));
                out.push('\n');
            }
        }
    }
}

/// A scalar or an empty collection on the current line; block scalars continue at `indent`.
fn inline(v: &Value, indent: usize) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => scalar(s, indent),
        Value::Array(_) => "[]".into(),
        Value::Object(_) => "{}".into(),
    }
}

/// Would a plain scalar with this text be read back as something other than this string?
/// (YAML 1.1 resolution as go-yaml v2 does it: null, bools incl. yes/no/on/off, ints in
/// decimal/octal/hex/binary, floats, sexagesimal numbers.)
fn resolves_to_non_string(s: &str) -> bool {
    const SPECIAL: &[&str] = &[
        "", "~", "null", "Null", "NULL", "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
        "true", "True", "TRUE", "false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF",
        ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", ".nan",
        ".NaN", ".NAN", "<<",
    ];
    if SPECIAL.contains(&s) {
        return true;
    }
    let t = s.replace('_', "");
    let body = t.strip_prefix(['+', '-']).unwrap_or(&t);
    if body.is_empty() {
        return false;
    }
    let all = |p: &str, f: fn(char) -> bool| !p.is_empty() && p.chars().all(f);
    if let Some(h) = body.strip_prefix("0x") {
        return all(h, |c| c.is_ascii_hexdigit());
    }
    if let Some(b) = body.strip_prefix("0b") {
        return all(b, |c| c == '0' || c == '1');
    }
    if let Some(o) = body.strip_prefix("0o") {
        return all(o, |c| ('0'..='7').contains(&c));
    }
    if all(body, |c| c.is_ascii_digit()) {
        return true;
    }
    // Sexagesimal (base 60) like 1:20 or 190:20:30.15.
    if body.contains(':') {
        let mut parts = body.split(':');
        let head = parts.next().unwrap_or("");
        if all(head, |c| c.is_ascii_digit())
            && parts.all(|p| {
                let int = p.split('.').next().unwrap_or("");
                !int.is_empty()
                    && int.len() <= 2
                    && all(int, |c| c.is_ascii_digit())
                    && p.split('.')
                        .nth(1)
                        .is_none_or(|f| f.chars().all(|c| c.is_ascii_digit()))
            })
        {
            return true;
        }
        return false;
    }
    // Floats: digits with one '.', optional exponent.
    let (mant, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let mant_ok = {
        let mut it = mant.splitn(2, '.');
        let a = it.next().unwrap_or("");
        let b = it.next();
        match b {
            Some(b) => {
                (a.is_empty() || all(a, |c| c.is_ascii_digit()))
                    && (b.is_empty() || all(b, |c| c.is_ascii_digit()))
                    && !(a.is_empty() && b.is_empty())
            }
            // YAML 1.2 readers also take `1e3` as a number; quote it too (safe side).
            None => exp.is_some() && all(a, |c| c.is_ascii_digit()),
        }
    };
    let exp_ok = exp.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        all(e, |c| c.is_ascii_digit())
    });
    mant_ok && exp_ok
}

/// Does YAML syntax allow this text as a plain scalar (libyaml's analysis, simplified to the
/// conservative side: when in doubt, quote)?
fn plain_allowed(s: &str) -> bool {
    let first = match s.chars().next() {
        Some(c) => c,
        None => return false,
    };
    if s.starts_with(' ') || s.ends_with(' ') || s.starts_with('\t') || s.ends_with('\t') {
        return false;
    }
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) {
        // `-x`, `?x`, `:x` are allowed by the spec when followed by a non-space, but libyaml's
        // emitter treats `-` specially only at the start; keep it simple and quote.
        let second = s.chars().nth(1);
        let indicator_ok =
            matches!(first, '-' | '?' | ':') && second.is_some_and(|c| c != ' ') && s != "-";
        if !(first == '-' && indicator_ok) {
            return false;
        }
    }
    if s.contains(": ") || s.contains(" #") || s.ends_with(':') {
        return false;
    }
    if s.starts_with("---") || s.starts_with("...") {
        return false;
    }
    // Flow indicators are fine in block context, but `, [ ] { }` keep things readable quoted.
    s.chars()
        .all(|c| !needs_escape(c) && c != '\n' && c != '\t')
}

/// Characters that must be escaped: controls (tab and newline excepted where a style allows
/// them), the BOM, and Unicode line/paragraph separators, which YAML 1.1 treats as line breaks.
fn needs_escape(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || matches!(c, '\u{feff}' | '\u{2028}' | '\u{2029}')
}

fn double_quoted(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\t' => o.push_str("\\t"),
            '\r' => o.push_str("\\r"),
            c if c.is_control() || needs_escape(c) => {
                let n = c as u32;
                if n <= 0xff {
                    o.push_str(&format!("\\x{n:02X}"));
                } else {
                    o.push_str(&format!("\\u{n:04X}"));
                }
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// One string scalar. `indent` is where block-scalar content lines start.
fn scalar(s: &str, indent: usize) -> String {
    let printable = s.chars().all(|c| !needs_escape(c) && c != '\t');
    if s.contains('\n') && printable && !s.starts_with('\n') && !s.lines().any(|l| l.ends_with(' '))
    {
        // Literal block: `|-` strips the missing final newline, `|` keeps exactly one.
        let (body, chomp) = if let Some(b) = s.strip_suffix('\n') {
            if b.ends_with('\n') {
                return double_quoted(s);
            }
            (b, "")
        } else {
            (s, "-")
        };
        let lead = if body.starts_with(' ') { "2" } else { "" };
        let mut o = format!("|{lead}{chomp}");
        for line in body.split('\n') {
            o.push('\n');
            if !line.is_empty() {
                o.push_str(&" ".repeat(indent));
                o.push_str(line);
            }
        }
        return o;
    }
    if !printable || s.contains('\n') {
        return double_quoted(s);
    }
    if resolves_to_non_string(s) {
        return double_quoted(s);
    }
    if plain_allowed(s) {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn natural_order_matches_go_yaml_v2() {
        let mut keys = vec!["b", "AB", "A_B", ".dockerconfigjson", "a10", "a9", "a", "B"];
        keys.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            keys,
            vec![".dockerconfigjson", "A_B", "AB", "B", "a", "a9", "a10", "b"]
        );
    }

    #[test]
    fn renders_kubectl_style() {
        let v = json!({
            "kind": "ExternalSecret",
            "apiVersion": "external-secrets.io/v1",
            "spec": {
                "data": [{"secretKey": "X", "remoteRef": {"key": "/a/X"}}],
                "empty": {},
                "list": [],
                "template": {"t": "{{ .X }}", "n": "5432", "b": "yes", "multi": "a\nb\n"},
            }
        });
        let want = "apiVersion: external-secrets.io/v1
kind: ExternalSecret
spec:
  data:
  - remoteRef:
      key: /a/X
    secretKey: X
  empty: {}
  list: []
  template:
    b: \"yes\"
    multi: |
      a
      b
    \"n\": \"5432\"
    t: '{{ .X }}'
";
        assert_eq!(render_yaml(&v), want);
    }

    #[test]
    fn every_rendered_string_reads_back_identically() {
        let samples = [
            "",
            "0",
            "1.5",
            "1e3",
            "0x1F",
            "12:30",
            "null",
            "~",
            "Yes",
            "-",
            "- a",
            "a: b",
            "a #b",
            "#c",
            "{{ .A }}",
            "it's",
            " lead",
            "trail ",
            "tab\there",
            "x\n",
            "x\ny",
            "\n",
            "a\n\n",
            "%x",
            "@x",
            "`x",
            "!x",
            "&x",
            "*x",
            "|",
            ">",
            "[a]",
            "v1",
            "1h0m0s",
            "-x",
            "a:",
            "é",
            "\u{1}",
            ":x",
            "?x",
            "---",
            "...",
        ];
        for s in samples {
            let text = render_yaml(&json!({ "k": s, "l": [s] }));
            let back: serde_json::Value = serde_yaml_ng::from_str(&text).unwrap();
            assert_eq!(
                back,
                json!({ "k": s, "l": [s] }),
                "{s:?} rendered as {text:?}"
            );
        }
    }

    proptest::proptest! {
        /// Any string (as a value, a key, and a sequence item) reads back as itself.
        #[test]
        fn rendered_strings_round_trip(s in "[ -~\\n\\t\\r\\x00-\\x1f\u{85}\u{a0}\u{2028}\u{feff}éµ]{0,12}") {
            let v = json!({ "k": s.clone(), "l": [s.clone()], "m": { s.clone(): "v" } });
            let text = render_yaml(&v);
            let back: serde_json::Value = serde_yaml_ng::from_str(&text)
                .map_err(|e| proptest::test_runner::TestCaseError::fail(format!("{e}: {text:?}")))?;
            proptest::prop_assert_eq!(back, v, "{:?}", text);
        }
    }
}
