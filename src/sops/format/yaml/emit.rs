//! [`Tree`] → YAML bytes exactly as sops 3.11 writes them through go-yaml v3 (SOPS.md §8.2, §7.2).
//!
//! This reproduces go-yaml's block emitter for the shapes a sops tree can have: its indentation
//! rules, its scalar style choice (plain / single / double / literal) and escapes, and how sops
//! turns comment entries into head and foot comments. It must never fold long lines (sops sets no
//! width) and never lose a comment.

use super::resolve::{format_float, is_base60_float, is_old_bool, resolve_plain, Resolved};
use crate::sops::tree::{Entry, Item, Mapping, Node, Scalar, Tree};
use base64::Engine;

struct Emitter {
    out: Vec<u8>,
    best: usize,
}

pub(crate) fn emit(tree: &Tree, indent: usize) -> Vec<u8> {
    let mut e = Emitter {
        out: Vec::new(),
        best: indent.clamp(2, 9),
    };
    for (i, doc) in tree.documents.iter().enumerate() {
        if i > 0 {
            e.out.extend_from_slice(b"---\n");
        }
        if doc.pairs().next().is_none() {
            // An empty document is `{}` (SOPS.md §8.2); its comments, if any, follow it.
            e.out.extend_from_slice(b"{}\n");
            for entry in &doc.entries {
                if let Entry::Comment(c) = entry {
                    e.comment_line(0, c.0.expose());
                }
            }
        } else {
            e.mapping(doc, 0, false);
        }
    }
    e.out
}

/// How `sops decrypt --extract` prints a single value in YAML (observed): a string is written
/// raw, without quoting or newline (`hello`, `yes`, an empty string prints nothing); anything else
/// is go-yaml's document for it (`1\n`, `true\n`, `1e+10\n`, `2024-01-01T00:00:00Z\n`).
pub(crate) fn emit_scalar(s: &Scalar) -> Vec<u8> {
    if let Scalar::Str(b) = s {
        return b.expose().to_vec();
    }
    let mut e = Emitter {
        out: Vec::new(),
        best: 4,
    };
    e.scalar_value(&Node::Scalar(s.clone()), 0, false);
    e.out
}

/// `sops decrypt --extract` of any node: strings raw (see [`emit_scalar`]), `null\n`, and
/// collections as a YAML document of their own (`- 1\n- 2\n`, `a: 1\n`, `[]\n`, `{}\n`).
pub(crate) fn emit_node(n: &Node, indent: usize) -> Vec<u8> {
    let mut e = Emitter {
        out: Vec::new(),
        best: indent.clamp(2, 9),
    };
    match n {
        Node::Scalar(s) => return emit_scalar(s),
        Node::Null => e.out.extend_from_slice(b"null\n"),
        Node::Mapping(m) if m.pairs().next().is_some() => e.mapping(m, 0, false),
        Node::Sequence(items) if items.iter().any(|i| matches!(i, Item::Node(_))) => {
            e.sequence(items, 0, false)
        }
        Node::Mapping(_) => e.out.extend_from_slice(b"{}\n"),
        Node::Sequence(_) => e.out.extend_from_slice(b"[]\n"),
    }
    e.out
}

impl Emitter {
    /// go-yaml's "everything else aligns to the chosen indentation" step.
    fn deeper(&self, indent: usize) -> usize {
        self.best * ((indent + self.best) / self.best)
    }

    fn spaces(&mut self, n: usize) {
        self.out.extend(std::iter::repeat_n(b' ', n));
    }

    fn comment_line(&mut self, indent: usize, text: &[u8]) {
        self.spaces(indent);
        self.comment_inline(text);
    }

    fn comment_inline(&mut self, text: &[u8]) {
        self.out.push(b'#');
        self.out.extend_from_slice(text);
        self.out.push(b'\n');
    }

    /// Entries at column `indent`; `inline` = the first line is already started (after `- `).
    fn mapping(&mut self, m: &Mapping, indent: usize, mut inline: bool) {
        for entry in &m.entries {
            match entry {
                Entry::Comment(c) => {
                    if inline {
                        inline = false;
                        self.comment_inline(c.0.expose());
                    } else {
                        self.comment_line(indent, c.0.expose());
                    }
                }
                Entry::Pair(k, v) => {
                    if !inline {
                        self.spaces(indent);
                    }
                    inline = false;
                    if k.starts_with('\t') && choose_style(k.as_bytes(), false) == Style::Literal {
                        // The tab-led multi-line quirk of values (`scalar_value`) hits keys too:
                        // sops 3.11 writes such a key as `null` (and then cannot decrypt its own
                        // file: "non-string key"); byte compatibility means the same.
                        self.out.extend_from_slice(b"null:");
                        self.value_after_key(v, indent);
                    } else if needs_explicit_key(k) {
                        self.explicit_pair(k, v, indent);
                    } else {
                        self.key(k);
                        self.value_after_key(v, indent);
                    }
                }
            }
        }
    }

    fn key(&mut self, k: &str) {
        if k == "<<" {
            // sops keeps the merge key's tag (SOPS.md §8.2: `!!merge <<:`).
            self.out.extend_from_slice(b"!!merge <<:");
            return;
        }
        let style = choose_style(k.as_bytes(), true);
        self.write_scalar_text(k.as_bytes(), style, 0);
        self.out.push(b':');
    }

    /// go-yaml's explicit key (`? key` / `: value`), used when a key cannot be a simple key:
    /// longer than 128 bytes or spanning lines. The key is written as a block node (so a
    /// multi-line key is a literal block), the value after `:` on the next line, a collection
    /// value starting on that line at the nested column (found by fuzz/sops_store_roundtrip: a
    /// key over 1,024 bytes written plain made output no YAML parser reads).
    fn explicit_pair(&mut self, k: &str, v: &Node, indent: usize) {
        let inner = self.deeper(indent);
        self.out.extend_from_slice(b"? ");
        let style = choose_style(k.as_bytes(), false);
        self.write_scalar_text(k.as_bytes(), style, inner);
        if style != Style::Literal {
            self.out.push(b'\n');
        }
        self.spaces(indent);
        self.out.push(b':');
        match v {
            Node::Mapping(m) if m.pairs().next().is_some() => {
                self.spaces(inner - indent - 1);
                self.mapping(m, inner, true);
            }
            Node::Sequence(items) if items.iter().any(|i| matches!(i, Item::Node(_))) => {
                self.spaces(inner - indent - 1);
                self.sequence(items, inner, true);
            }
            _ => self.value_after_key(v, indent),
        }
    }

    fn value_after_key(&mut self, v: &Node, indent: usize) {
        match v {
            Node::Mapping(m) if m.pairs().next().is_some() => {
                self.out.push(b'\n');
                self.mapping(m, self.deeper(indent), false);
            }
            Node::Sequence(items) if items.iter().any(|i| matches!(i, Item::Node(_))) => {
                self.out.push(b'\n');
                self.sequence(items, self.deeper(indent), false);
            }
            Node::Mapping(m) => {
                self.out.extend_from_slice(b" {}\n");
                self.orphan_comments(
                    m.entries.iter().filter_map(entry_comment),
                    self.deeper(indent),
                );
            }
            Node::Sequence(items) => {
                self.out.extend_from_slice(b" []\n");
                self.orphan_comments(items.iter().filter_map(item_comment), self.deeper(indent));
            }
            _ => {
                self.out.push(b' ');
                self.scalar_value(v, self.deeper(indent), false);
            }
        }
    }

    fn orphan_comments<'a>(&mut self, it: impl Iterator<Item = &'a [u8]>, indent: usize) {
        for c in it {
            self.comment_line(indent, c);
        }
    }

    /// Dashes at column `indent`; items' content at `indent + 2` (go-yaml's sequence-item rule).
    fn sequence(&mut self, items: &[Item], indent: usize, mut inline: bool) {
        for item in items {
            match item {
                Item::Comment(c) => {
                    if inline {
                        inline = false;
                        self.comment_inline(c.0.expose());
                    } else {
                        self.comment_line(indent, c.0.expose());
                    }
                }
                Item::Node(n) => {
                    if !inline {
                        self.spaces(indent);
                    }
                    inline = false;
                    self.out.extend_from_slice(b"- ");
                    match n {
                        Node::Mapping(m) if m.pairs().next().is_some() => {
                            self.mapping(m, indent + 2, true)
                        }
                        Node::Sequence(s) if s.iter().any(|i| matches!(i, Item::Node(_))) => {
                            self.sequence(s, indent + 2, true)
                        }
                        Node::Mapping(m) => {
                            self.out.extend_from_slice(b"{}\n");
                            self.orphan_comments(
                                m.entries.iter().filter_map(entry_comment),
                                indent + 2,
                            );
                        }
                        Node::Sequence(s) => {
                            self.out.extend_from_slice(b"[]\n");
                            self.orphan_comments(s.iter().filter_map(item_comment), indent + 2);
                        }
                        _ => self.scalar_value(n, indent + 2, false),
                    }
                }
            }
        }
    }

    /// Writes a scalar node and its line break; `block_indent` is where literal content goes.
    fn scalar_value(&mut self, n: &Node, block_indent: usize, _key: bool) {
        match n {
            Node::Null => self.out.extend_from_slice(b"null"),
            Node::Scalar(Scalar::Bool(b)) => {
                self.out
                    .extend_from_slice(if *b { b"true" } else { b"false" })
            }
            Node::Scalar(Scalar::Int(i)) => self.out.extend_from_slice(i.to_string().as_bytes()),
            Node::Scalar(Scalar::Float(f)) => {
                self.out.extend_from_slice(format_float(*f).as_bytes())
            }
            Node::Scalar(Scalar::Time(t)) => self.out.extend_from_slice(t.as_bytes()),
            Node::Scalar(Scalar::Str(s)) => {
                let bytes = s.expose();
                if std::str::from_utf8(bytes).is_err() {
                    // Not text: go-yaml writes it as `!!binary` base64 (SOPS.md §8.2).
                    let b64 = binary_base64(bytes);
                    self.out.extend_from_slice(b"!!binary ");
                    let style = choose_style(b64.as_bytes(), false);
                    self.write_scalar_text(b64.as_bytes(), style, block_indent);
                    if style == Style::Literal {
                        return;
                    }
                } else {
                    let style = choose_style(bytes, false);
                    if style == Style::Literal && bytes.first() == Some(&b'\t') {
                        // sops 3.11 writes `null` for a multi-line string that starts with a tab
                        // (observed: `a: "\tx\n"` decrypts to `a: null`); byte compatibility
                        // means doing the same. See tests/fixtures/yaml-store/README.md.
                        self.out.extend_from_slice(b"null\n");
                        return;
                    }
                    self.write_scalar_text(bytes, style, block_indent);
                    if style == Style::Literal {
                        return; // literal blocks end their own lines
                    }
                }
            }
            Node::Mapping(_) | Node::Sequence(_) => unreachable!("collections are not scalars"),
        }
        self.out.push(b'\n');
    }

    fn write_scalar_text(&mut self, v: &[u8], style: Style, block_indent: usize) {
        match style {
            Style::Plain => self.out.extend_from_slice(v),
            Style::Single => {
                // Only U+2028/U+2029 can be line breaks here (`\n` goes literal or double); the
                // writer re-indents the text that follows one (observed with sops).
                self.out.push(b'\'');
                let mut i = 0;
                let mut after_break = false;
                while i < v.len() {
                    let (c, w) = char_at(v, i);
                    if is_break(c) {
                        after_break = true;
                    } else if after_break {
                        self.spaces(block_indent);
                        after_break = false;
                    }
                    if c == 0x27 {
                        self.out.push(b'\'');
                    }
                    self.out.extend_from_slice(&v[i..i + w]);
                    i += w;
                }
                self.out.push(b'\'');
            }
            Style::Double => write_double(&mut self.out, v),
            Style::Literal => self.write_literal(v, block_indent),
        }
    }

    /// go-yaml's literal block: `|`, an indentation indicator when the text starts with a space or
    /// a break, the chomping indicator, then each line at `indent` (empty lines unindented).
    /// U+2028/U+2029 are line breaks to go-yaml's writer as to libyaml's reader: it copies them
    /// as they are and indents the text after them, and they count for the header's hints. A
    /// value with one written unindented read back as a new top-level line (fuzz finding 5).
    /// `\r` and U+0085 never get here: they are not printable, so the style is double-quoted.
    fn write_literal(&mut self, v: &[u8], indent: usize) {
        let brk = |i: usize| is_break(char_at(v, i).0);
        let last_char = |end: usize| {
            let mut i = end - 1;
            while i > 0 && v[i] & 0xC0 == 0x80 {
                i -= 1;
            }
            i
        };
        self.out.push(b'|');
        if v.first() == Some(&b' ') || (!v.is_empty() && brk(0)) {
            self.out.push(b'0' + self.best as u8);
        }
        if v.is_empty() || !brk(last_char(v.len())) {
            self.out.push(b'-');
        } else {
            let last = last_char(v.len());
            if last == 0 || brk(last_char(last)) {
                self.out.push(b'+');
            }
        }
        self.out.push(b'\n');
        let mut at_line_start = true;
        let mut i = 0;
        while i < v.len() {
            let (c, w) = char_at(v, i);
            if c == 0x0A {
                self.out.push(b'\n');
                at_line_start = true;
            } else {
                if at_line_start && !is_break(c) {
                    self.spaces(indent);
                }
                at_line_start = is_break(c);
                self.out.extend_from_slice(&v[i..i + w]);
            }
            i += w;
        }
        if !at_line_start {
            self.out.push(b'\n');
        }
    }
}

fn entry_comment(e: &Entry) -> Option<&[u8]> {
    match e {
        Entry::Comment(c) => Some(c.0.expose()),
        _ => None,
    }
}

fn item_comment(i: &Item) -> Option<&[u8]> {
    match i {
        Item::Comment(c) => Some(c.0.expose()),
        _ => None,
    }
}

/// go-yaml's `encodeBase64`: 70-column lines, each ending in a newline, when longer than one line.
fn binary_base64(bytes: &[u8]) -> String {
    let enc = base64::engine::general_purpose::STANDARD.encode(bytes);
    if enc.len() < 70 {
        return enc;
    }
    let mut out = String::new();
    for chunk in enc.as_bytes().chunks(70) {
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        out.push('\n');
    }
    out
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

/// go-yaml v3's choice for a string: the encoder asks for double quotes when the plain text would
/// read back as another type; libyaml's analysis then downgrades plain → single → double and
/// literal → double as the characters require (SOPS.md §8.2).
/// go-yaml's `yaml_emitter_check_simple_key` for a scalar key: at most 128 bytes, one line.
/// The merge key is always written `!!merge <<:`.
fn needs_explicit_key(k: &str) -> bool {
    k != "<<" && (k.len() > 128 || analyze(k.as_bytes()).multiline)
}

fn choose_style(v: &[u8], key: bool) -> Style {
    let s = std::str::from_utf8(v).unwrap_or("");
    let a = analyze(v);
    let mut style = if v.contains(&b'\n') {
        Style::Literal
    } else if resolve_plain(s) != Resolved::Str || is_old_bool(s) || is_base60_float(s) {
        Style::Double
    } else {
        Style::Plain
    };
    if key && a.multiline {
        style = Style::Double;
    }
    if style == Style::Plain && !a.block_plain_allowed {
        style = Style::Single;
    }
    if style == Style::Single && !a.single_quoted_allowed {
        style = Style::Double;
    }
    if style == Style::Literal && (!a.block_allowed || key) {
        style = Style::Double;
    }
    style
}

struct Analysis {
    multiline: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

fn char_at(v: &[u8], i: usize) -> (u32, usize) {
    let w = utf8_width(v[i]);
    let s = std::str::from_utf8(&v[i..(i + w).min(v.len())]).ok();
    match s.and_then(|s| s.chars().next()) {
        Some(c) => (c as u32, w),
        None => (0xFFFD, 1),
    }
}

fn utf8_width(b: u8) -> usize {
    match b {
        0x00..=0x7F => 1,
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

/// libyaml `is_printable` (go-yaml copy): BMP minus controls, surrogates, BOM and U+FFFE/F.
fn is_printable(c: u32) -> bool {
    c == 0x0A
        || (0x20..=0x7E).contains(&c)
        || (0xA0..=0xD7FF).contains(&c)
        || ((0xE000..=0xFFFD).contains(&c) && c != 0xFEFF)
}

fn is_break(c: u32) -> bool {
    matches!(c, 0x0D | 0x0A | 0x85 | 0x2028 | 0x2029)
}

fn is_blankz(c: Option<u32>) -> bool {
    match c {
        None => true,
        Some(c) => c == 0x20 || c == 0x09 || c == 0 || is_break(c),
    }
}

/// libyaml `yaml_emitter_analyze_scalar` as go-yaml v3 has it (tabs forbid plain and single
/// quotes but not literal blocks — observed with sops).
fn analyze(v: &[u8]) -> Analysis {
    if v.is_empty() {
        return Analysis {
            multiline: false,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
        };
    }
    let chars: Vec<u32> = {
        let mut out = Vec::new();
        let mut i = 0;
        while i < v.len() {
            let (c, w) = char_at(v, i);
            out.push(c);
            i += w;
        }
        out
    };
    let mut block_ind = v.starts_with(b"---") || v.starts_with(b"...");
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) =
        (false, false, false, false);
    let (mut break_space, mut space_break, mut previous_space, mut previous_break) =
        (false, false, false, false);
    let (mut line_breaks, mut special, mut tabs) = (false, false, false);
    let mut preceded_by_ws = true;
    let n = chars.len();
    for i in 0..n {
        let c = chars[i];
        let followed_by_ws = is_blankz(chars.get(i + 1).copied());
        if i == 0 {
            match c {
                0x23 | 0x2C | 0x5B | 0x5D | 0x7B | 0x7D | 0x26 | 0x2A | 0x21 | 0x7C | 0x3E
                | 0x27 | 0x22 | 0x25 | 0x40 | 0x60 => block_ind = true,
                0x3F | 0x3A | 0x2D if followed_by_ws => block_ind = true,
                _ => {}
            }
        } else {
            match c {
                0x3A if followed_by_ws => block_ind = true,
                0x23 if preceded_by_ws => block_ind = true,
                _ => {}
            }
        }
        if c == 0x09 {
            tabs = true;
        } else if !is_printable(c) {
            special = true;
        }
        if c == 0x20 {
            if i == 0 {
                leading_space = true;
            }
            if i == n - 1 {
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
            if i == n - 1 {
                trailing_break = true;
            }
            if previous_space {
                space_break = true;
            }
            previous_break = true;
            previous_space = false;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_ws = is_blankz(Some(c));
    }
    let mut block_plain = true;
    let mut single = true;
    let mut block = true;
    if leading_space || leading_break || trailing_space || trailing_break {
        block_plain = false;
    }
    if trailing_space {
        block = false;
    }
    if break_space {
        block_plain = false;
        single = false;
    }
    if space_break || tabs || special {
        block_plain = false;
        single = false;
    }
    if space_break || special {
        block = false;
    }
    if line_breaks {
        block_plain = false;
    }
    if block_ind {
        block_plain = false;
    }
    Analysis {
        multiline: line_breaks,
        block_plain_allowed: block_plain,
        single_quoted_allowed: single,
        block_allowed: block,
    }
}

/// libyaml's double-quoted writer with go-yaml's escapes (`\t`, `\U0001F680`, `\N`, `\L`…).
fn write_double(out: &mut Vec<u8>, v: &[u8]) {
    // go-yaml tests for a BOM at the start of the whole value instead of at each character, so a
    // value that starts with U+FEFF has every character escaped (observed with sops).
    let escape_all = v.starts_with(&[0xEF, 0xBB, 0xBF]);
    out.push(b'"');
    let mut i = 0;
    while i < v.len() {
        let (c, w) = char_at(v, i);
        let escape =
            escape_all || !is_printable(c) || c == 0xFEFF || is_break(c) || c == 0x22 || c == 0x5C;
        if escape {
            out.push(b'\\');
            let simple: Option<u8> = match c {
                0x00 => Some(b'0'),
                0x07 => Some(b'a'),
                0x08 => Some(b'b'),
                0x09 => Some(b't'),
                0x0A => Some(b'n'),
                0x0B => Some(b'v'),
                0x0C => Some(b'f'),
                0x0D => Some(b'r'),
                0x1B => Some(b'e'),
                0x22 => Some(b'"'),
                0x5C => Some(b'\\'),
                0x85 => Some(b'N'),
                0xA0 => Some(b'_'),
                0x2028 => Some(b'L'),
                0x2029 => Some(b'P'),
                _ => None,
            };
            match simple {
                Some(e) => out.push(e),
                None if c <= 0xFF => out.extend_from_slice(format!("x{c:02X}").as_bytes()),
                None if c <= 0xFFFF => out.extend_from_slice(format!("u{c:04X}").as_bytes()),
                None => out.extend_from_slice(format!("U{c:08X}").as_bytes()),
            }
        } else {
            out.extend_from_slice(&v[i..i + w]);
        }
        i += w;
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn style_choice_matches_go_yaml() {
        let st = |s: &str| choose_style(s.as_bytes(), false);
        assert_eq!(st("plain string"), Style::Plain);
        assert_eq!(st("yes"), Style::Double);
        assert_eq!(st("123"), Style::Double);
        assert_eq!(st(""), Style::Double);
        assert_eq!(st("a: b"), Style::Single);
        assert_eq!(st("a #b"), Style::Single);
        assert_eq!(st("a#b"), Style::Plain);
        assert_eq!(st("abc  "), Style::Single);
        assert_eq!(st("x\ty"), Style::Double);
        assert_eq!(st("a\nb"), Style::Literal);
        assert_eq!(st("trail \nx"), Style::Double);
        assert_eq!(st("a\nb "), Style::Double);
        assert_eq!(st("🚀"), Style::Double);
        assert_eq!(st("-"), Style::Single);
        assert_eq!(st("1:20"), Style::Double);
    }

    #[test]
    fn extract_prints_like_sops() {
        // Observed with `sops decrypt --extract '["k"]'` (sops 3.11).
        assert_eq!(emit_scalar(&Scalar::Int(1)), b"1\n");
        assert_eq!(emit_scalar(&Scalar::Bool(true)), b"true\n");
        assert_eq!(emit_scalar(&Scalar::Float(2.0)), b"2\n");
        assert_eq!(emit_scalar(&Scalar::Float(1e10)), b"1e+10\n");
        assert_eq!(
            emit_scalar(&Scalar::Time("2024-01-01T00:00:00Z".into())),
            b"2024-01-01T00:00:00Z\n"
        );
        assert_eq!(emit_scalar(&Scalar::str("yes")), b"yes");
        assert_eq!(emit_node(&Node::Null, 4), b"null\n");
        let seq = Node::Sequence(vec![
            Item::Node(Node::Scalar(Scalar::Int(1))),
            Item::Node(Node::Scalar(Scalar::Int(2))),
        ]);
        assert_eq!(emit_node(&seq, 4), b"- 1\n- 2\n");
    }

    #[test]
    fn double_quoted_escapes() {
        let mut out = Vec::new();
        write_double(&mut out, "é\u{85}\u{feff}\u{2028}\t\x01🚀\"\\".as_bytes());
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#""é\N\uFEFF\L\t\x01\U0001F680\"\\""#
        );
    }
}
