//! Go-compatible rendering of manifests: `sigs.k8s.io/yaml.JSONToYAML` (go-yaml v2 emitter) and
//! `encoding/json.MarshalIndent` (SEALED-SECRETS.md §4.5).
//!
//! It exists so that everything we generate (SealedSecrets, kustomizations, ExternalSecrets)
//! looks byte for byte like what kubeseal/kubectl print, which keeps git diffs quiet. It works on
//! [`GoValue`], an ordered tree; it must never reorder JSON objects (Go struct order is the
//! caller's job) and never change a scalar's value — only how it is quoted.
//!
//! The YAML side follows go-yaml v2's behaviour: natural key order at every level, its YAML 1.1
//! resolver to decide when a string must be quoted, libyaml's scalar analysis to choose between
//! plain, single-quoted, double-quoted and literal styles, 2-space indentation, sequences not
//! indented under a mapping key, and folding at 80 columns.

use std::fmt::Write as _;

/// An ordered JSON-like value. `Map` keeps insertion order (the JSON writer prints it as given;
/// the YAML writer sorts keys the go-yaml way).
#[derive(Debug, Clone, PartialEq)]
pub enum GoValue {
    Null,
    Bool(bool),
    /// A JSON number as written (integers and floats; see [`GoValue::from`]).
    Number(serde_json::Number),
    Str(String),
    Seq(Vec<GoValue>),
    Map(Vec<(String, GoValue)>),
}

impl GoValue {
    pub fn str(s: impl Into<String>) -> Self {
        GoValue::Str(s.into())
    }
    /// A map from `(key, value)` pairs, keys sorted byte-wise (Go's `encoding/json` order for
    /// `map[string]…`).
    pub fn sorted_map<I, K>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, GoValue)>,
        K: Into<String>,
    {
        let mut v: Vec<(String, GoValue)> = pairs.into_iter().map(|(k, v)| (k.into(), v)).collect();
        v.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        GoValue::Map(v)
    }
}

impl From<&serde_json::Value> for GoValue {
    /// Objects become maps in serde_json's key order (byte-wise sorted, as Go marshals maps).
    fn from(v: &serde_json::Value) -> Self {
        match v {
            serde_json::Value::Null => GoValue::Null,
            serde_json::Value::Bool(b) => GoValue::Bool(*b),
            serde_json::Value::Number(n) => GoValue::Number(n.clone()),
            serde_json::Value::String(s) => GoValue::Str(s.clone()),
            serde_json::Value::Array(a) => GoValue::Seq(a.iter().map(GoValue::from).collect()),
            serde_json::Value::Object(o) => GoValue::sorted_map(
                o.iter()
                    .map(|(k, v)| (k.clone(), GoValue::from(v)))
                    .collect::<Vec<_>>(),
            ),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// JSON: encoding/json.MarshalIndent(v, "", "  ") + "\n"

/// Go `json.MarshalIndent(v, "", "  ")` followed by `"\n"` (kubeseal's JSON output, §4.5).
pub fn to_go_json(value: &GoValue) -> String {
    let mut out = String::new();
    write_json(&mut out, value, 0);
    out.push('\n');
    out
}

fn write_json(out: &mut String, v: &GoValue, depth: usize) {
    match v {
        GoValue::Null => out.push_str("null"),
        GoValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        GoValue::Number(n) => {
            let _ = write!(out, "{n}");
        }
        GoValue::Str(s) => write_json_string(out, s),
        GoValue::Seq(items) if items.is_empty() => out.push_str("[]"),
        GoValue::Map(items) if items.is_empty() => out.push_str("{}"),
        GoValue::Seq(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline_indent(out, depth + 1);
                write_json(out, item, depth + 1);
            }
            newline_indent(out, depth);
            out.push(']');
        }
        GoValue::Map(items) => {
            out.push('{');
            for (i, (k, item)) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline_indent(out, depth + 1);
                write_json_string(out, k);
                out.push_str(": ");
                write_json(out, item, depth + 1);
            }
            newline_indent(out, depth);
            out.push('}');
        }
    }
}

fn newline_indent(out: &mut String, depth: usize) {
    out.push('\n');
    for _ in 0..depth {
        out.push_str("  ");
    }
}

/// Go's HTML-safe string encoding: `<`, `>`, `&`, U+2028, U+2029 as `\uXXXX`; `\n \r \t \b \f`
/// short forms (Go ≥ 1.22); other controls `\u00XX`; everything else raw UTF-8 (§4.5).
fn write_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

// ---------------------------------------------------------------------------------------------
// YAML: sigs.k8s.io/yaml.JSONToYAML = go-yaml v2 Marshal of the decoded JSON

/// Renders `value` as `sigs.k8s.io/yaml.JSONToYAML` would (no leading `---`). Map keys are sorted
/// with go-yaml v2's natural order at every level, whatever their order in `value`.
pub fn to_go_yaml(value: &GoValue) -> String {
    to_go_yaml_after(String::new(), value)
}

/// [`to_go_yaml`] appended to `out` (which the emitter never reads: a `---` line, say), so the
/// document is not copied again behind it.
pub fn to_go_yaml_after(out: String, value: &GoValue) -> String {
    let mut e = Emitter::new();
    e.out = out;
    e.emit_node(value, true, false, false, false);
    // Implicit document end: go to a fresh line.
    e.indent = -1;
    e.write_indent();
    e.out
}

/// [`to_go_yaml`] of a `serde_json::Value`.
pub fn json_to_go_yaml(value: &serde_json::Value) -> String {
    to_go_yaml(&GoValue::from(value))
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
}

/// libyaml's `yaml_emitter_analyze_scalar` result.
#[derive(Debug, PartialEq)]
struct Analysis {
    multiline: bool,
    flow_plain_allowed: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

const BEST_INDENT: i64 = 2;
const BEST_WIDTH: usize = 80;

struct Emitter {
    out: String,
    column: usize,
    indent: i64,
    indents: Vec<i64>,
    whitespace: bool,
    indention: bool,
    flow_level: usize,
    simple_key_context: bool,
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}
fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}
/// go-yaml's `is_printable`: no C0/C1 controls except LF, nothing outside the BMP, no BOM.
fn is_printable(c: char) -> bool {
    let o = c as u32;
    c == '\n'
        || (0x20..=0x7E).contains(&o)
        || (0xA0..=0xD7FF).contains(&o)
        || ((0xE000..=0xFFFD).contains(&o) && o != 0xFEFF)
}

/// Non-empty text of base64 characters (`A-Za-z0-9+/=`) and `._-`, not starting with `.` or `-`:
/// every ciphertext, and nearly every key, name and namespace. Nothing in it can be an indicator
/// (`-` and `.` only are at the start), a blank, a break or a special character.
fn is_plain_safe_text(v: &str) -> bool {
    let b = v.as_bytes();
    // A table lookup per byte: this runs over every ciphertext, ~1 KB each.
    !b.is_empty() && !matches!(b[0], b'.' | b'-') && b.iter().all(|&c| PLAIN_SAFE[c as usize])
}

const PLAIN_SAFE: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'.' | b'_' | b'-');
        c += 1;
    }
    t
};

fn analyze(value: &[char]) -> Analysis {
    if value.is_empty() {
        return Analysis {
            multiline: false,
            flow_plain_allowed: false,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
        };
    }
    let mut block_indicators = false;
    let mut flow_indicators = false;
    let mut line_breaks = false;
    let mut special_characters = false;
    let mut leading_space = false;
    let mut leading_break = false;
    let mut trailing_space = false;
    let mut trailing_break = false;
    let mut break_space = false;
    let mut space_break = false;
    let mut previous_space = false;
    let mut previous_break = false;

    if value.len() >= 3 && (value[..3] == ['-', '-', '-'] || value[..3] == ['.', '.', '.']) {
        block_indicators = true;
        flow_indicators = true;
    }
    let mut preceded_by_whitespace = true;
    let n = value.len();
    for (i, &c) in value.iter().enumerate() {
        let followed_by_whitespace = i + 1 >= n || is_blank(value[i + 1]);
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                '?' | ':' => {
                    flow_indicators = true;
                    if followed_by_whitespace {
                        block_indicators = true;
                    }
                }
                '-' if followed_by_whitespace => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                _ => {}
            }
        } else {
            match c {
                ',' | '?' | '[' | ']' | '{' | '}' => flow_indicators = true,
                ':' => {
                    flow_indicators = true;
                    if followed_by_whitespace {
                        block_indicators = true;
                    }
                }
                '#' if preceded_by_whitespace => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                _ => {}
            }
        }
        if !is_printable(c) {
            special_characters = true;
        }
        if c == ' ' {
            if i == 0 {
                leading_space = true;
            }
            if i + 1 == n {
                trailing_space = true;
            }
            if previous_break {
                break_space = true;
            }
            previous_space = true;
            previous_break = false;
        } else if is_break(c) {
            line_breaks = true;
            if i == 0 {
                leading_break = true;
            }
            if i + 1 == n {
                trailing_break = true;
            }
            if previous_space {
                space_break = true;
            }
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_whitespace = is_blank(c) || is_break(c) || c == '\0';
    }
    let mut a = Analysis {
        multiline: line_breaks,
        flow_plain_allowed: true,
        block_plain_allowed: true,
        single_quoted_allowed: true,
        block_allowed: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
    }
    if trailing_space {
        a.block_allowed = false;
    }
    if break_space {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || special_characters {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
        a.block_allowed = false;
    }
    if line_breaks {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
    }
    if flow_indicators {
        a.flow_plain_allowed = false;
    }
    if block_indicators {
        a.block_plain_allowed = false;
    }
    a
}

/// The style go-yaml v2's `stringv` asks for before the emitter's own checks: literal for any
/// string with `\n`, plain when it reads back as a string, else double-quoted.
fn requested_string_style(s: &str) -> Style {
    if s.contains('\n') {
        Style::Literal
    } else if resolves_to_string(s) && !is_base60_float(s) {
        Style::Plain
    } else {
        Style::DoubleQuoted
    }
}

impl Emitter {
    fn new() -> Self {
        Emitter {
            out: String::new(),
            column: 0,
            indent: -1,
            indents: Vec::new(),
            whitespace: true,
            indention: true,
            flow_level: 0,
            simple_key_context: false,
        }
    }

    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }
    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }
    fn write_break_char(&mut self, c: char) {
        if c == '\n' {
            self.put_break();
        } else {
            self.out.push(c);
            self.column = 0;
        }
    }
    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        if self.indent < 0 {
            self.indent = if flow { BEST_INDENT } else { 0 };
        } else if !indentless {
            self.indent += BEST_INDENT;
        }
    }
    fn pop_indent(&mut self) {
        self.indent = self.indents.pop().unwrap_or(-1);
    }
    fn write_indent(&mut self) {
        let indent = self.indent.max(0) as usize;
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }
    fn write_indicator(
        &mut self,
        indicator: &str,
        need_whitespace: bool,
        is_whitespace: bool,
        is_indention: bool,
    ) {
        if need_whitespace && !self.whitespace {
            self.put(' ');
        }
        for c in indicator.chars() {
            self.put(c);
        }
        self.whitespace = is_whitespace;
        self.indention = self.indention && is_indention;
    }

    fn emit_node(
        &mut self,
        v: &GoValue,
        _root: bool,
        _sequence: bool,
        mapping: bool,
        simple_key: bool,
    ) {
        self.simple_key_context = simple_key;
        match v {
            GoValue::Null => self.emit_scalar("null", Style::Plain),
            GoValue::Bool(b) => self.emit_scalar(if *b { "true" } else { "false" }, Style::Plain),
            GoValue::Number(n) => self.emit_scalar(&yaml_number(n), Style::Plain),
            GoValue::Str(s) => self.emit_scalar(s, requested_string_style(s)),
            GoValue::Seq(items) if items.is_empty() => self.emit_empty_flow("[", "]"),
            GoValue::Map(items) if items.is_empty() => self.emit_empty_flow("{", "}"),
            GoValue::Seq(items) => {
                // Indentless when the sequence is a mapping value written right after `key:`.
                let indentless = mapping && !self.indention;
                self.increase_indent(false, indentless);
                for item in items {
                    self.write_indent();
                    self.write_indicator("-", true, false, true);
                    self.emit_node(item, false, true, false, false);
                }
                self.pop_indent();
            }
            GoValue::Map(items) => {
                self.increase_indent(false, false);
                let mut sorted: Vec<&(String, GoValue)> = items.iter().collect();
                natural_sort(&mut sorted);
                for (k, val) in sorted {
                    self.write_indent();
                    // A key is emitted as a string node would be, without building one.
                    if is_simple_key(k) {
                        self.simple_key_context = true;
                        self.emit_scalar(k, requested_string_style(k));
                        self.write_indicator(":", false, false, false);
                    } else {
                        self.write_indicator("?", true, false, true);
                        self.simple_key_context = false;
                        self.emit_scalar(k, requested_string_style(k));
                        self.write_indent();
                        self.write_indicator(":", true, false, true);
                    }
                    self.emit_node(val, false, false, true, false);
                }
                self.pop_indent();
            }
        }
    }

    fn emit_empty_flow(&mut self, open: &str, close: &str) {
        self.write_indicator(open, true, true, false);
        self.increase_indent(true, false);
        self.flow_level += 1;
        self.flow_level -= 1;
        self.pop_indent();
        self.write_indicator(close, false, false, false);
    }

    fn emit_scalar(&mut self, value: &str, requested: Style) {
        let safe = is_plain_safe_text(value);
        if safe && requested == Style::Plain {
            // Such text has no blank to fold at and no break: write_plain would copy it character
            // by character after collecting its characters, the renderer's main cost (issue 9).
            self.increase_indent(true, false);
            if !self.whitespace {
                self.put(' ');
            }
            self.out.push_str(value);
            self.column += value.len();
            self.whitespace = false;
            self.indention = false;
            self.pop_indent();
            return;
        }
        let chars: Vec<char> = value.chars().collect();
        let a = if safe {
            // Nothing in such text can be an indicator, a blank or a special character, so the
            // character-by-character analysis (a noticeable part of rendering 2,500 sealed
            // values, issue 9) has only one possible answer.
            Analysis {
                multiline: false,
                flow_plain_allowed: true,
                block_plain_allowed: true,
                single_quoted_allowed: true,
                block_allowed: true,
            }
        } else {
            analyze(&chars)
        };
        let mut style = requested;
        if self.simple_key_context && a.multiline {
            style = Style::DoubleQuoted;
        }
        if style == Style::Plain {
            if (self.flow_level > 0 && !a.flow_plain_allowed)
                || (self.flow_level == 0 && !a.block_plain_allowed)
            {
                style = Style::SingleQuoted;
            }
            if chars.is_empty() && (self.flow_level > 0 || self.simple_key_context) {
                style = Style::SingleQuoted;
            }
        }
        if style == Style::SingleQuoted && !a.single_quoted_allowed {
            style = Style::DoubleQuoted;
        }
        if style == Style::Literal
            && (!a.block_allowed || self.flow_level > 0 || self.simple_key_context)
        {
            style = Style::DoubleQuoted;
        }
        self.increase_indent(true, false);
        let allow_breaks = !self.simple_key_context;
        match style {
            Style::Plain => self.write_plain(&chars, allow_breaks),
            Style::SingleQuoted => self.write_single_quoted(&chars, allow_breaks),
            Style::DoubleQuoted => self.write_double_quoted(&chars, allow_breaks),
            Style::Literal => self.write_literal(&chars),
        }
        self.pop_indent();
    }

    fn write_plain(&mut self, v: &[char], allow_breaks: bool) {
        if !self.whitespace {
            self.put(' ');
        }
        let mut spaces = false;
        let mut breaks = false;
        let mut i = 0;
        while i < v.len() {
            let c = v[i];
            if c == ' ' {
                let next_is_space = v.get(i + 1) == Some(&' ');
                if allow_breaks && !spaces && self.column > BEST_WIDTH && !next_is_space {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                // Unreachable for values go-yaml writes plain (line breaks forbid plain), kept
                // for fidelity with the emitter.
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break_char(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
            i += 1;
        }
        self.whitespace = false;
        self.indention = false;
    }

    fn write_single_quoted(&mut self, v: &[char], allow_breaks: bool) {
        self.write_indicator("'", true, false, false);
        let mut spaces = false;
        let mut breaks = false;
        let n = v.len();
        for (i, &c) in v.iter().enumerate() {
            if c == ' ' {
                let next_is_space = v.get(i + 1) == Some(&' ');
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && i > 0
                    && i + 1 < n
                    && !next_is_space
                {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break_char(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.write_indicator("'", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_double_quoted(&mut self, v: &[char], allow_breaks: bool) {
        self.write_indicator("\"", true, false, false);
        let mut spaces = false;
        let n = v.len();
        for (i, &c) in v.iter().enumerate() {
            if !is_printable(c) || c == '\u{FEFF}' || is_break(c) || c == '"' || c == '\\' {
                self.put('\\');
                let short = match c {
                    '\0' => Some('0'),
                    '\u{7}' => Some('a'),
                    '\u{8}' => Some('b'),
                    '\t' => Some('t'),
                    '\n' => Some('n'),
                    '\u{b}' => Some('v'),
                    '\u{c}' => Some('f'),
                    '\r' => Some('r'),
                    '\u{1b}' => Some('e'),
                    '"' => Some('"'),
                    '\\' => Some('\\'),
                    '\u{85}' => Some('N'),
                    '\u{a0}' => Some('_'),
                    '\u{2028}' => Some('L'),
                    '\u{2029}' => Some('P'),
                    _ => None,
                };
                match short {
                    Some(s) => self.put(s),
                    None => {
                        let o = c as u32;
                        let hex = if o <= 0xFF {
                            format!("x{o:02X}")
                        } else if o <= 0xFFFF {
                            format!("u{o:04X}")
                        } else {
                            format!("U{o:08X}")
                        };
                        for h in hex.chars() {
                            self.put(h);
                        }
                    }
                }
                spaces = false;
            } else if c == ' ' {
                if allow_breaks && !spaces && self.column > BEST_WIDTH && i != 0 && i + 1 != n {
                    self.write_indent();
                    if v.get(i + 1) == Some(&' ') {
                        self.put('\\');
                    }
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
        self.write_indicator("\"", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_literal(&mut self, v: &[char]) {
        self.write_indicator("|", true, false, false);
        // Block scalar hints: an indentation digit when the text starts with a space or break,
        // then the chomping indicator.
        if v.first().is_some_and(|&c| c == ' ' || is_break(c)) {
            self.write_indicator(&BEST_INDENT.to_string(), false, false, false);
        }
        let chomp = match v.len() {
            0 => Some("-"),
            n if !is_break(v[n - 1]) => Some("-"),
            1 => Some("+"),
            n if is_break(v[n - 2]) => Some("+"),
            _ => None,
        };
        if let Some(ch) = chomp {
            self.write_indicator(ch, false, false, false);
        }
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        let mut breaks = true;
        for &c in v {
            if is_break(c) {
                self.write_break_char(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.put(c);
                self.indention = false;
                breaks = false;
            }
        }
    }
}

/// libyaml `check_simple_key` for a string key: not multi-line and at most 128 bytes.
fn is_simple_key(k: &str) -> bool {
    // `analyze(..).multiline` is exactly "has a line break".
    !k.chars().any(is_break) && k.len() <= 128
}

/// go-yaml v2 float formatting: `strconv.FormatFloat(f, 'g', -1, 64)`, with `.inf`/`.nan`.
fn yaml_number(n: &serde_json::Number) -> String {
    if n.is_i64() || n.is_u64() {
        return n.to_string();
    }
    let f = n.as_f64().unwrap_or(0.0);
    go_format_float_g(f)
}

fn go_format_float_g(f: f64) -> String {
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            ".inf".into()
        } else {
            "-.inf".into()
        };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // Shortest round-trip digits, then Go's %g layout: with the shortest precision Go decides
    // with eprec = 6, i.e. exponent form when exp < -4 || exp >= 6.
    let sci = format!("{:e}", f); // e.g. "1.2345e6" / "-1e-7"
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let neg = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let nd = digits.len() as i32;
    let eprec = 6;
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if exp < -4 || exp >= eprec {
        out.push_str(&digits[..1]);
        if nd > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(out, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    } else if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let int_len = (exp + 1) as usize;
        if digits.len() <= int_len {
            out.push_str(&digits);
            for _ in digits.len()..int_len {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// go-yaml v2 key order (sorter.go keyList.Less) for string keys

fn go_is_letter(c: char) -> bool {
    c.is_alphabetic()
}
fn go_is_digit(c: char) -> bool {
    c.is_ascii_digit() || (!c.is_ascii() && c.is_numeric())
}

/// go-yaml v2's natural `Less` for two string keys: rune by rune; letters after non-letters;
/// letters by code point; digit runs compared as numbers (SEALED-SECRETS.md §4.5).
pub fn natural_less(a: &str, b: &str) -> bool {
    // Keys are nearly always ASCII, whose bytes are its runes: compared in place, where collecting
    // runes cost two allocations per comparison of every map sorted (issue 9).
    if a.is_ascii() && b.is_ascii() {
        return natural_less_runes(a.as_bytes(), b.as_bytes());
    }
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    natural_less_runes(&ar, &br)
}

fn natural_less_runes<C: Copy + Into<char>>(ar: &[C], br: &[C]) -> bool {
    let rune = |s: &[C], i: usize| -> char { s[i].into() };
    let mut i = 0;
    while i < ar.len() && i < br.len() {
        let (a, b) = (rune(ar, i), rune(br, i));
        if a == b {
            i += 1;
            continue;
        }
        let al = go_is_letter(a);
        let bl = go_is_letter(b);
        if al && bl {
            return a < b;
        }
        if al || bl {
            return bl;
        }
        let (mut an, mut bn): (i64, i64) = (0, 0);
        if a == '0' || b == '0' {
            let mut j = i;
            while j > 0 && go_is_digit(rune(ar, j - 1)) {
                if rune(ar, j - 1) != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
                j -= 1;
            }
        }
        let mut ai = i;
        while ai < ar.len() && go_is_digit(rune(ar, ai)) {
            an = an
                .wrapping_mul(10)
                .wrapping_add(rune(ar, ai) as i64 - '0' as i64);
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && go_is_digit(rune(br, bi)) {
            bn = bn
                .wrapping_mul(10)
                .wrapping_add(rune(br, bi) as i64 - '0' as i64);
            bi += 1;
        }
        if an != bn {
            return an < bn;
        }
        if ai != bi {
            return ai < bi;
        }
        return a < b;
    }
    ar.len() < br.len()
}

/// Sorts map entries on [`natural_less`]. Not `slice::sort_by`: the go-yaml order is not a total
/// order for some pathological keys (§4.5) and the standard sort may panic on such input.
fn natural_sort(items: &mut Vec<&(String, GoValue)>) {
    // go-yaml calls Go's `sort.Sort`, which sorts up to 12 elements by this insertion sort (Go
    // 1.19+ pdqsort's `maxInsertion`): the same result for any keys, pathological ones included,
    // without the merge sort's allocations. Most maps of a SealedSecret are this small.
    if items.len() <= 12 {
        for i in 1..items.len() {
            let mut j = i;
            while j > 0 && natural_less(&items[j].0, &items[j - 1].0) {
                items.swap(j, j - 1);
                j -= 1;
            }
        }
        return;
    }
    merge_sort(items);
}

/// A stable merge sort on [`natural_less`], for maps of more than 12 entries.
fn merge_sort(items: &mut Vec<&(String, GoValue)>) {
    if items.len() <= 1 {
        return;
    }
    let right = items.split_off(items.len() / 2);
    let mut left = std::mem::take(items);
    let mut right = right;
    merge_sort(&mut left);
    merge_sort(&mut right);
    let (mut l, mut r) = (0, 0);
    while l < left.len() && r < right.len() {
        if natural_less(&right[r].0, &left[l].0) {
            items.push(right[r]);
            r += 1;
        } else {
            items.push(left[l]);
            l += 1;
        }
    }
    items.extend_from_slice(&left[l..]);
    items.extend_from_slice(&right[r..]);
}

// ---------------------------------------------------------------------------------------------
// go-yaml v2 resolver: would this plain scalar read back as a string?

fn is_base60_float(s: &str) -> bool {
    // ^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
        i += 1;
    }
    if i >= b.len() || !b[i].is_ascii_digit() {
        return false;
    }
    i += 1;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while i < b.len() && b[i] == b':' {
        i += 1;
        // [0-5]?[0-9]
        if i + 1 < b.len() && (b'0'..=b'5').contains(&b[i]) && b[i + 1].is_ascii_digit() {
            i += 2;
        } else if i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        } else {
            return false;
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

const RESOLVE_MAP: &[&str] = &[
    "y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "n", "N", "no", "No", "NO", "off", "Off",
    "OFF", "true", "True", "TRUE", "false", "False", "FALSE", "", "~", "null", "Null", "NULL",
    ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf",
    "-.INF",
];

/// True when go-yaml v2 would resolve the plain scalar `s` to a string (so it may stay plain).
pub fn resolves_to_string(s: &str) -> bool {
    // The merge key `<<` is written plain by the real emitter (observed, see tools/seal.py).
    if s == "<<" {
        return true;
    }
    if RESOLVE_MAP.contains(&s) {
        return false;
    }
    let first = s.as_bytes()[0];
    if first == b'.' {
        // strconv.ParseFloat on a leading-dot string: `.5`, `.5e3`.
        return !is_dot_float(s);
    }
    if first.is_ascii_digit() || first == b'+' || first == b'-' {
        if is_go_timestamp(s) {
            return false;
        }
        let plain: String = s.chars().filter(|&c| c != '_').collect();
        if go_parses_int(&plain) {
            return false;
        }
        if is_yaml_style_float(&plain) {
            // ParseFloat fails with a range error on overflow, and go-yaml then keeps a string.
            if plain.parse::<f64>().is_ok_and(|f| f.is_finite()) {
                return false;
            }
        }
    }
    true
}

fn is_dot_float(s: &str) -> bool {
    // \.[0-9]+([eE][-+]?[0-9]+)?
    let b = s.as_bytes();
    let mut i = 1;
    let start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    if i == start {
        return false;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let ds = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == ds {
            return false;
        }
    }
    i == b.len()
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn is_yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
        i += 1;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let ds = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == ds {
            return false;
        }
    } else {
        let ds = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == ds {
            return false;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let ds = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == ds {
            return false;
        }
    }
    i == b.len()
}

/// `strconv.ParseInt(s, 0, 64)` or `strconv.ParseUint(s, 0, 64)` succeeds.
fn go_parses_int(s: &str) -> bool {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if digits.is_empty() {
        return false;
    }
    let Ok(mag) = u128::from_str_radix(digits, radix) else {
        return false;
    };
    if digits.starts_with('+') || digits.starts_with('-') {
        return false;
    }
    if neg {
        mag <= (i64::MAX as u128) + 1
    } else {
        mag <= u64::MAX as u128
    }
}

/// go-yaml v2 `parseTimestamp`: `YYYY-M-D`, `YYYY-M-DTh:m:s[.f](Z|±hh:mm)` (also `t`), or
/// `YYYY-M-D h:m:s[.f]`, with Go `time.Parse` range checks.
fn is_go_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    let num = |i: &mut usize, max_digits: usize| -> Option<u32> {
        let start = *i;
        while *i < b.len() && *i - start < max_digits && b[*i].is_ascii_digit() {
            *i += 1;
        }
        if *i == start {
            return None;
        }
        s[start..*i].parse().ok()
    };
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return false;
    }
    let year: i32 = s[..4].parse().unwrap_or(0);
    let mut i = 5;
    let Some(month) = num(&mut i, 2) else {
        return false;
    };
    if i >= b.len() || b[i] != b'-' {
        return false;
    }
    i += 1;
    let Some(day) = num(&mut i, 2) else {
        return false;
    };
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return false;
    }
    if i == b.len() {
        return true;
    }
    let sep = b[i];
    if sep != b'T' && sep != b't' && sep != b' ' {
        return false;
    }
    i += 1;
    let Some(h) = num(&mut i, 2) else {
        return false;
    };
    if i >= b.len() || b[i] != b':' {
        return false;
    }
    i += 1;
    let Some(m) = num(&mut i, 2) else {
        return false;
    };
    if i >= b.len() || b[i] != b':' {
        return false;
    }
    i += 1;
    let Some(sec) = num(&mut i, 2) else {
        return false;
    };
    if h > 23 || m > 59 || sec > 59 {
        return false;
    }
    if i + 1 < b.len() && (b[i] == b'.' || b[i] == b',') && b[i + 1].is_ascii_digit() {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
    }
    if sep == b' ' {
        return i == b.len();
    }
    // Zone is required by the layout "Z07:00".
    if i < b.len() && b[i] == b'Z' {
        return i + 1 == b.len();
    }
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        let z = &b[i + 1..];
        if z.len() != 5 || z[2] != b':' {
            return false;
        }
        if !(z[0].is_ascii_digit()
            && z[1].is_ascii_digit()
            && z[3].is_ascii_digit()
            && z[4].is_ascii_digit())
        {
            return false;
        }
        let hh = (z[0] - b'0') * 10 + (z[1] - b'0');
        let mm = (z[3] - b'0') * 10 + (z[4] - b'0');
        return hh <= 24 && mm <= 60;
    }
    false
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ => {
            if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 {
                29
            } else {
                28
            }
        }
    }
}

#[cfg(test)]
mod tests {
    /// The plain-safe shortcut must be exactly what the full analysis answers for such text.
    fn assert_all_allowed(t: &str) {
        assert!(super::is_plain_safe_text(t), "{t}");
        let chars: Vec<char> = t.chars().collect();
        assert_eq!(
            super::analyze(&chars),
            super::Analysis {
                multiline: false,
                flow_plain_allowed: true,
                block_plain_allowed: true,
                single_quoted_allowed: true,
                block_allowed: true,
            },
            "{t}"
        );
    }

    proptest::proptest! {
        #[test]
        fn plain_safe_shortcut_matches_the_full_analysis(t in "[A-Za-z0-9+/=_][A-Za-z0-9+/=._-]{0,12}") {
            assert_all_allowed(&t);
        }

        /// Text the shortcut refuses goes through the full analysis (nothing is lost by a too
        /// narrow shortcut; a too wide one is what the test above catches).
        #[test]
        fn plain_safe_text_is_only_that(t in "[a.:#\\- ]{0,4}") {
            let expected = !t.is_empty()
                && !t.starts_with(['.', '-'])
                && t.bytes().all(|c| c == b'a' || c == b'.' || c == b'-');
            proptest::prop_assert_eq!(super::is_plain_safe_text(&t), expected);
        }
    }

    #[test]
    fn base64_shortcut_matches_the_full_analysis() {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut texts: Vec<String> = (0..300u32)
            .map(|n| {
                let bytes: Vec<u8> = (0..n).map(|i| (i * 37 + n * 11) as u8).collect();
                b64.encode(bytes)
            })
            .filter(|t| !t.is_empty())
            .collect();
        texts.extend(
            ["=", "==", "+", "/", "0", "1e3", "true", "null", "+1", "A=B"].map(String::from),
        );
        texts.extend(
            [
                "a.b",
                "x_y-z",
                "bitnami.com/v1alpha1",
                "secret-000",
                "a-",
                "a.",
            ]
            .map(String::from),
        );
        for t in texts {
            assert_all_allowed(&t);
        }
        for t in ["", "a b", "-", "-a", ".", "...", ".a", "a:b", "a#b", "é"] {
            assert!(!super::is_plain_safe_text(t), "{t}");
        }
    }

    use super::*;

    fn y(v: serde_json::Value) -> String {
        json_to_go_yaml(&v)
    }

    #[test]
    fn quoting_rules() {
        let cases: &[(&str, &str)] = &[
            ("plain", "k: plain\n"),
            ("true", "k: \"true\"\n"),
            ("Yes", "k: \"Yes\"\n"),
            ("y", "k: \"y\"\n"),
            ("null", "k: \"null\"\n"),
            ("~", "k: \"~\"\n"),
            ("", "k: \"\"\n"),
            ("0777", "k: \"0777\"\n"),
            ("0x1F", "k: \"0x1F\"\n"),
            ("1e3", "k: \"1e3\"\n"),
            ("1_000", "k: \"1_000\"\n"),
            ("0o17", "k: \"0o17\"\n"),
            (".inf", "k: \".inf\"\n"),
            (".5", "k: \".5\"\n"),
            ("2001-12-14", "k: \"2001-12-14\"\n"),
            ("2001-02-30", "k: 2001-02-30\n"),
            ("1:20", "k: \"1:20\"\n"),
            ("1.10", "k: \"1.10\"\n"),
            ("v1.10", "k: v1.10\n"),
            ("a\tb", "k: \"a\\tb\"\n"),
            ("key: value", "k: 'key: value'\n"),
            (" x", "k: ' x'\n"),
            ("x ", "k: 'x '\n"),
            ("*star", "k: '*star'\n"),
            ("-", "k: '-'\n"),
            ("- x", "k: '- x'\n"),
            ("-x", "k: -x\n"),
            ("a #b", "k: 'a #b'\n"),
            ("a#b", "k: a#b\n"),
            ("it's", "k: it's\n"),
            ("'q'", "k: '''q'''\n"),
            ("<<", "k: <<\n"),
            ("<b>&</b>", "k: <b>&</b>\n"),
            ("héllo ✓ 😀", "k: \"héllo ✓ \\U0001F600\"\n"),
            ("line\n", "k: |\n  line\n"),
            ("a\nb", "k: |-\n  a\n  b\n"),
            ("a\n\n", "k: |+\n  a\n\n"),
            (" lead\nx", "k: |2-\n   lead\n  x\n"),
            ("a \nb", "k: \"a \\nb\"\n"),
            ("a\r\nb", "k: \"a\\r\\nb\"\n"),
            ("99999999999999999999", "k: \"99999999999999999999\"\n"),
        ];
        for (input, want) in cases {
            assert_eq!(
                y(serde_json::json!({ "k": input })),
                *want,
                "input {input:?}"
            );
        }
    }

    /// Places where tools/seal.py (PyYAML-based) differs from go-yaml v2 and we follow go-yaml:
    /// `resolve()` keeps a string when `ParseFloat` overflows and when a `T` time has no zone
    /// (layout `2006-1-2T15:4:5.999999999Z07:00` needs one); libyaml's `is_break` includes `\r`
    /// (a key with one is not simple) and writes no indentation after a trailing break inside
    /// single quotes.
    #[test]
    fn go_yaml_specifics_beyond_the_reference_renderer() {
        assert_eq!(y(serde_json::json!({"k": "1e999"})), "k: 1e999\n");
        assert_eq!(
            y(serde_json::json!({"k": "2001-12-14T21:59:43"})),
            "k: 2001-12-14T21:59:43\n"
        );
        assert_eq!(
            y(serde_json::json!({"k": "2001-12-14T21:59:43Z"})),
            "k: \"2001-12-14T21:59:43Z\"\n"
        );
        assert_eq!(
            y(serde_json::json!({"k": "2001-12-14 1:2:3.5"})),
            "k: \"2001-12-14 1:2:3.5\"\n"
        );
        assert_eq!(y(serde_json::json!({"a\rb": 1})), "? \"a\\rb\"\n: 1\n");
        assert_eq!(y(serde_json::json!({"k": "\u{2028}"})), "k: '\u{2028}'\n");
    }

    #[test]
    fn structure_and_scalars() {
        let v = serde_json::json!({
            "b": {"x": [1, "two", {"z": true, "a": null}], "e": {}, "s": []},
            "a": 1.5,
        });
        assert_eq!(
            y(v),
            "a: 1.5\nb:\n  e: {}\n  s: []\n  x:\n  - 1\n  - two\n  - a: null\n    z: true\n"
        );
        assert_eq!(y(serde_json::json!([["a"]])), "- - a\n");
        assert_eq!(y(serde_json::json!({})), "{}\n");
    }

    #[test]
    fn folding_at_80_columns() {
        let long = "word ".repeat(30).trim_end().to_string();
        let out = y(serde_json::json!({ "key": long }));
        for line in out.lines() {
            // Go folds at the first space after column 80.
            assert!(line.len() <= 86, "{line}");
        }
        assert!(out.starts_with("key: word word"));
        assert!(out.lines().nth(1).unwrap().starts_with("  word"));
        // Folding never changes the value.
        let back: serde_json::Value = serde_yaml_ng::from_str(&out).unwrap();
        assert_eq!(back["key"], long);
    }

    #[test]
    fn long_keys_use_the_complex_form() {
        let k = "k".repeat(129);
        assert_eq!(
            y(serde_json::json!({ k.clone(): "v" })),
            format!("? {k}\n: v\n")
        );
        let k128 = "k".repeat(128);
        assert_eq!(
            y(serde_json::json!({ k128.clone(): "v" })),
            format!("{k128}: v\n")
        );
    }

    /// Keys on which the natural order is cyclic come out as Go's `insertionSort` leaves them
    /// (traced by hand: "9a" moves before "19", "91" stays last).
    #[test]
    fn cyclic_keys_in_go_insertion_sort_order() {
        // In this order (a JSON object would arrive sorted); a merge sort gives 19, 91, 9a.
        let v = GoValue::Map(
            ["19", "9a", "91"]
                .iter()
                .map(|k| (k.to_string(), GoValue::str("x")))
                .collect(),
        );
        let out = to_go_yaml(&v);
        let order: Vec<&str> = out.lines().map(|l| l.split(':').next().unwrap()).collect();
        assert_eq!(order, ["9a", "\"19\"", "\"91\""]);
    }

    #[test]
    fn natural_key_order() {
        let keys = [
            "node10", "node9", "Zebra", "_private", "alpha", ".dot", "a1", "a01", "b",
        ];
        let mut m = serde_json::Map::new();
        for k in keys {
            m.insert(k.into(), "x".into());
        }
        let out = y(serde_json::Value::Object(m));
        let order: Vec<&str> = out.lines().map(|l| l.split(':').next().unwrap()).collect();
        assert_eq!(
            order,
            [".dot", "_private", "Zebra", "a1", "a01", "alpha", "b", "node9", "node10"]
        );
    }

    #[test]
    fn go_json_escaping_and_layout() {
        let v = GoValue::Map(vec![
            ("b".into(), GoValue::str("<&>\u{2028}\u{1}\u{8}é")),
            ("a".into(), GoValue::Map(vec![])),
            (
                "c".into(),
                GoValue::Seq(vec![GoValue::Bool(true), GoValue::Null]),
            ),
        ]);
        assert_eq!(
            to_go_json(&v),
            "{\n  \"b\": \"\\u003c\\u0026\\u003e\\u2028\\u0001\\bé\",\n  \"a\": {},\n  \"c\": [\n    true,\n    null\n  ]\n}\n"
        );
    }

    #[test]
    fn go_float_format() {
        assert_eq!(go_format_float_g(1.5), "1.5");
        assert_eq!(go_format_float_g(1e21), "1e+21");
        assert_eq!(go_format_float_g(100000.0), "100000");
        assert_eq!(go_format_float_g(1234567.0), "1.234567e+06");
        assert_eq!(go_format_float_g(0.0001), "0.0001");
        assert_eq!(go_format_float_g(0.00001), "1e-05");
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    fn text() -> impl Strategy<Value = String> {
        proptest::string::string_regex(
            "[a-zA-Z0-9 :#'\"\\\\?\\n\\t.é✓😀_~<>!&*|\\[\\]{},%@`+-]{0,24}|[a-z ]{60,120}",
        )
        .unwrap()
        .prop_filter("known resolver differences with serde_yaml_ng", |s| {
            // Overflowing floats are strings for go-yaml (written plain) but infinities for
            // serde_yaml_ng; the merge key is special to both.
            !(s.replace('_', "")
                .parse::<f64>()
                .is_ok_and(|f| f.is_infinite())
                || s == "<<")
        })
    }

    fn value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::Bool),
            any::<i32>().prop_map(|i| serde_json::json!(i)),
            text().prop_map(serde_json::Value::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
                proptest::collection::btree_map(text(), inner, 0..4)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// The in-place comparison of ASCII keys answers as the rune-by-rune one.
        #[test]
        fn ascii_natural_less_is_the_rune_comparison(a in "[a0Z1_9.b-]{0,6}", b in "[a0Z1_9.b-]{0,6}") {
            let (ar, br): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
            prop_assert_eq!(natural_less(&a, &b), natural_less_runes(&ar, &br));
        }

        /// Short maps (insertion sort, as Go sorts them) and long ones (merge sort) come out in the
        /// same order for keys on which the natural order is total: without digits. (With digit
        /// runs it is not: "91" < "9a" < "19" < "91".)
        #[test]
        fn insertion_and_merge_sort_agree(keys in proptest::collection::vec("[aZ_.bé-]{0,4}", 0..13)) {
            let entries: Vec<(String, GoValue)> =
                keys.iter().map(|k| (k.clone(), GoValue::Null)).collect();
            let mut short: Vec<&(String, GoValue)> = entries.iter().collect();
            let mut long = short.clone();
            natural_sort(&mut short);
            merge_sort(&mut long);
            let names = |v: &[&(String, GoValue)]| v.iter().map(|e| e.0.clone()).collect::<Vec<_>>();
            prop_assert_eq!(names(&short), names(&long));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]
        /// Whatever the quoting/folding decisions, the YAML reads back as the same data.
        #[test]
        fn yaml_round_trips(m in proptest::collection::btree_map(text(), value(), 1..5)) {
            let v = serde_json::Value::Object(m.into_iter().collect());
            let out = json_to_go_yaml(&v);
            let back: serde_json::Value = serde_yaml_ng::from_str(&out)
                .map_err(|e| TestCaseError::fail(format!("{e}\n{out}")))?;
            prop_assert_eq!(back, v, "{}", out);
        }

        /// The JSON writer's output is valid JSON with the same content.
        #[test]
        fn json_round_trips(v in value()) {
            let out = to_go_json(&GoValue::from(&v));
            let back: serde_json::Value = serde_json::from_str(&out).unwrap();
            prop_assert_eq!(back, v);
        }
    }
}
