//! The event stream of the plain block YAML that sops, kubectl and people write, without libyaml.
//!
//! libyaml (and so libyaml-safer) spends about 10 ns per input byte: in `check`, parsing a
//! sops-encrypted Secret cost as much as its X25519 unwrap. Nearly every real file is block
//! mappings and sequences of one-line scalars and literal blocks, which can be read a line at a
//! time. [`events`] reads that subset and returns exactly the events libyaml would — same order,
//! values, styles and marks — or `None` at the first thing outside it (a tab, a flow collection
//! other than `[]`/`{}`, an anchor or tag, a folded or multi-line scalar, a document marker,
//! non-ASCII text, …), and then libyaml parses the whole input as before. So the subset
//! only decides speed, never meaning, and every error message still comes from libyaml.
//!
//! Equivalence is tested against libyaml-safer on the fixtures and on generated documents
//! (`tests.rs`, `fast_reader_matches_libyaml_*`), and fuzzed by `fuzz/fuzz_targets/yaml_fast.rs`.

use super::parse::{Ev, EvKind};
use libyaml_safer::ScalarStyle;

/// One open block collection: its column (libyaml's `indent`) and whether it is a sequence whose
/// dashes sit at its parent key's column (`key:\n- a`), which libyaml ends at the next key.
struct Level {
    seq: bool,
    indent: usize,
    indentless: bool,
}

/// libyaml rejects a simple key longer than this; stay well inside it.
const MAX_KEY: usize = 1000;

/// The events of `text` as libyaml emits them (without STREAM-START, DOCUMENT-END and
/// STREAM-END, which the tree builder ignores), or `None` if `text` is outside the subset.
pub(super) fn events(text: &str) -> Option<Vec<Ev>> {
    let b = text.as_bytes();
    // Printable ASCII and `\n` only: no tabs, carriage returns, other line breaks (NEL, LS,
    // PS), control characters or multi-byte characters, so a byte is a character and a column.
    // Folded a block at a time without early exit, which the compiler vectorizes.
    let plain = |c: &[u8]| {
        c.iter().fold(true, |ok, &x| {
            ok & ((x == b'\n') | (x.wrapping_sub(0x20) < 0x5f))
        })
    };
    if !b.chunks(256).all(plain) {
        return None;
    }
    let mut s = Scan {
        b,
        text,
        out: Vec::with_capacity(64),
        stack: Vec::with_capacity(8),
    };
    s.document()?;
    Some(s.out)
}

struct Scan<'a> {
    b: &'a [u8],
    text: &'a str,
    out: Vec<Ev>,
    stack: Vec<Level>,
}

/// Where a line's content starts.
struct Line {
    /// Byte offset of the line's first character.
    start: usize,
    /// Byte offset of its first non-space character.
    at: usize,
    /// Offset of the `\n` ending it, or the input length.
    end: usize,
    /// 0-based line number.
    no: usize,
}

impl Scan<'_> {
    fn line_end(&self, from: usize) -> usize {
        memchr::memchr(b'\n', &self.b[from..]).map_or(self.b.len(), |i| from + i)
    }

    /// The next line holding a node, skipping blank and comment lines, from byte `pos` (a line
    /// start) on line `no`. `None` at the end of the input; the outer `None` declines the input.
    fn next_content(&self, mut pos: usize, mut no: usize) -> Option<Option<Line>> {
        while pos < self.b.len() {
            let end = self.line_end(pos);
            let at = pos + self.spaces(pos, end);
            if at < end && self.b[at] != b'#' {
                let line = &self.b[pos..end];
                if line.starts_with(b"---") || line.starts_with(b"...") {
                    return None; // a document marker (or a scalar that starts like one)
                }
                return Some(Some(Line {
                    start: pos,
                    at,
                    end,
                    no,
                }));
            }
            pos = end + 1;
            no += 1;
        }
        Some(None)
    }

    fn push(&mut self, kind: EvKind, start: usize, end: usize, line: usize) {
        self.out.push(Ev {
            kind,
            start,
            end,
            line,
        });
    }

    fn document(&mut self) -> Option<()> {
        let mut next = self.next_content(0, 0)?;
        let first = next.as_ref()?;
        self.push(EvKind::DocumentStart, first.at, first.at, first.no);
        let mut pending = Some(Pending {
            parent: -1,
            empty_at: 0,
            line: 0,
        });
        while let Some(line) = next {
            let col = line.at - line.start;
            let entry = self.is_entry(line.at);
            let opened = match pending.take() {
                Some(p) => self.open(&p, &line, entry)?,
                None => false,
            };
            if !opened {
                // libyaml closes every block more indented than the new line, and an indentless
                // sequence when a key appears at its column.
                while let Some(top) = self.stack.last() {
                    if top.indent > col || (top.indentless && top.indent == col && !entry) {
                        let kind = end_kind(top);
                        self.stack.pop();
                        self.push(kind, line.at, line.at, line.no);
                    } else {
                        break;
                    }
                }
                let top = self.stack.last()?;
                if top.indent != col || top.seq != entry {
                    return None; // a continuation line, bad indentation or a second root
                }
            }
            let resume = if entry {
                self.item(&line)?
            } else {
                let key = self.key_end(line.at, line.end)?;
                self.key_value(&line, line.at, key)?
            };
            pending = resume.pending;
            next = self.next_content(resume.pos, resume.no)?;
        }
        if let Some(p) = pending {
            self.empty_value(&p)?;
        }
        // At the end libyaml first closes the blocks deeper than the last line's column (on
        // that line), then the rest at the stream end, which it puts on a new line.
        let len = self.b.len();
        let last_start = memchr::memrchr(b'\n', self.b).map_or(0, |i| i + 1);
        let last_col = len - last_start;
        let lines = memchr::memchr_iter(b'\n', self.b).count();
        while let Some(top) = self.stack.pop() {
            let kind = end_kind(&top);
            let line = lines + usize::from(last_col > 0 && top.indent <= last_col);
            self.push(kind, len, len, line);
        }
        Some(())
    }

    /// The node after `key:` (or the root) starting on `line`: opens a block mapping or sequence
    /// there and returns true, or gives the key an empty value and returns false when the line
    /// belongs to an enclosing block.
    fn open(&mut self, p: &Pending, line: &Line, entry: bool) -> Option<bool> {
        let col = line.at - line.start;
        let deeper = col as isize > p.parent;
        let top_is_map = self.stack.last().is_some_and(|l| !l.seq);
        // `key:` then `- a` at the key's own column: libyaml's "indentless" sequence, whose
        // start event spans the dash.
        let indentless = entry && !deeper && col as isize == p.parent && top_is_map;
        if !deeper && !indentless {
            self.empty_value(p)?;
            return Some(false);
        }
        self.stack.push(Level {
            seq: entry,
            indent: col,
            indentless,
        });
        let (kind, end) = if entry {
            let end = line.at + usize::from(indentless);
            let kind = EvKind::SequenceStart {
                anchor: None,
                flow: false,
            };
            (kind, end)
        } else {
            let kind = EvKind::MappingStart {
                anchor: None,
                flow: false,
            };
            (kind, line.at)
        };
        self.push(kind, line.at, end, line.no);
        Some(true)
    }

    /// libyaml's empty plain scalar for `key:` with no node after it, just past the `:`.
    fn empty_value(&mut self, p: &Pending) -> Option<()> {
        if p.parent < 0 {
            return None; // the document itself would be empty
        }
        let kind = scalar(String::new(), ScalarStyle::Plain);
        self.push(kind, p.empty_at, p.empty_at, p.line);
        Some(())
    }

    /// `-` followed by a space or the end of the line: a block sequence entry.
    fn is_entry(&self, at: usize) -> bool {
        self.b[at] == b'-' && matches!(self.b.get(at + 1), None | Some(b' ' | b'\n'))
    }

    /// A sequence entry: its node starts on the dash's line (`- a`, `- k: v`, `- |`).
    fn item(&mut self, line: &Line) -> Option<Resume> {
        let seq_indent = line.at - line.start;
        let q = line.at + 1 + self.spaces(line.at + 1, line.end);
        if q >= line.end || self.b[q] == b'#' || self.is_entry(q) {
            return None; // node on the next line, or a nested sequence on this one
        }
        if let Some(key) = self.key_end(q, line.end) {
            let col = q - line.start;
            self.stack.push(Level {
                seq: false,
                indent: col,
                indentless: false,
            });
            self.push(
                EvKind::MappingStart {
                    anchor: None,
                    flow: false,
                },
                q,
                q,
                line.no,
            );
            return self.key_value(line, q, key);
        }
        self.value(line, q, seq_indent)
    }

    /// `key: value` or `key:` at `at` on `line`, in the block mapping whose column is `at`'s;
    /// `key` is what [`Self::key_end`] found there.
    fn key_value(&mut self, line: &Line, at: usize, key: (usize, usize)) -> Option<Resume> {
        let (key_end, colon) = key;
        self.push_scalar(at, key_end, line.no);
        let v = colon + 1 + self.spaces(colon + 1, line.end);
        if v >= line.end || self.b[v] == b'#' {
            // Nothing after the key (a comment at most): its value is the next line's node.
            let pending = Pending {
                parent: (at - line.start) as isize,
                empty_at: colon + 1,
                line: line.no,
            };
            return Some(Resume::line_after(line, Some(pending)));
        }
        self.value(line, v, at - line.start)
    }

    /// The scalar value starting at `v` on `line`, inside a block collection at column `indent`.
    fn value(&mut self, line: &Line, v: usize, indent: usize) -> Option<Resume> {
        let end = match self.b[v] {
            b'|' => return self.literal(line, v, indent),
            b'[' | b'{' => {
                let close = if self.b[v] == b'[' { b']' } else { b'}' };
                if self.b.get(v + 1) != Some(&close) {
                    return None;
                }
                let flow = true;
                let (open, shut) = if close == b']' {
                    (
                        EvKind::SequenceStart { anchor: None, flow },
                        EvKind::SequenceEnd,
                    )
                } else {
                    (
                        EvKind::MappingStart { anchor: None, flow },
                        EvKind::MappingEnd,
                    )
                };
                self.push(open, v, v + 1, line.no);
                self.push(shut, v + 1, v + 2, line.no);
                v + 2
            }
            b'"' | b'\'' => {
                let close = self.quoted_end(v, line.end)?;
                self.push_scalar(v, close, line.no);
                close
            }
            _ => {
                let end = self.plain_end(v, line.end)?;
                let end = end - self.trailing_spaces(v, end);
                self.push_scalar(v, end, line.no);
                end
            }
        };
        // Only spaces and a comment may follow on the line: not a `:` (a key where a value
        // belongs, `k: a: b`, an error in libyaml) or anything else.
        let rest = end + self.spaces(end, line.end);
        if rest < line.end && !(self.b[rest] == b'#' && rest > end) {
            return None;
        }
        Some(Resume::line_after(line, None))
    }

    /// Where the key starting at `at` ends (after its last character) and its `:` — for a plain
    /// key the first `: ` or line-ending `:` before any ` #`; for a quoted key a `:` right after
    /// the closing quote. `None` if the line holds no such key.
    fn key_end(&self, at: usize, eol: usize) -> Option<(usize, usize)> {
        let (end, colon) = if matches!(self.b[at], b'"' | b'\'') {
            let close = self.quoted_end(at, eol)?;
            (close, close + self.spaces(close, eol))
        } else {
            let end = self.plain_end(at, eol)?;
            (end - self.trailing_spaces(at, end), end)
        };
        let is_colon = self.b.get(colon) == Some(&b':')
            && matches!(self.b.get(colon + 1), None | Some(b' ' | b'\n'));
        (is_colon && colon - at <= MAX_KEY).then_some((end, colon))
    }

    /// The end of a plain scalar starting at `at` on a line ending at `eol`: the position of a
    /// `:` that ends it, of the space before a ` #` comment, or `eol`. `None` if `at` holds an
    /// indicator libyaml reads differently (`&`, `*`, `!`, `?`, `>`, `%`, `@`, …).
    fn plain_end(&self, at: usize, eol: usize) -> Option<usize> {
        match self.b[at] {
            b'-' if matches!(self.b.get(at + 1), Some(c) if *c != b' ' && *c != b'\n') => {}
            b'-' | b'?' | b':' | b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!'
            | b'|' | b'>' | b'\'' | b'"' | b'%' | b'@' | b'`' => return None,
            _ => {}
        }
        let line = &self.b[at..eol];
        let mut from = 0;
        while let Some(i) = memchr::memchr2(b':', b'#', &line[from..]) {
            let i = from + i;
            match line[i] {
                b':' if matches!(line.get(i + 1), None | Some(b' ')) => return Some(at + i),
                b'#' if line[i - 1] == b' ' => return Some(at + i - 1),
                _ => from = i + 1,
            }
        }
        Some(eol)
    }

    /// The position just past the closing quote of a one-line quoted scalar starting at `at`;
    /// `None` for an escape (`\` in double quotes) or a scalar that goes on to the next line.
    fn quoted_end(&self, at: usize, eol: usize) -> Option<usize> {
        let quote = self.b[at];
        let mut i = at + 1;
        while i < eol {
            match self.b[i] {
                b'\\' if quote == b'"' => return None,
                c if c == quote => {
                    if quote == b'\'' && self.b.get(i + 1) == Some(&b'\'') {
                        i += 2;
                        continue;
                    }
                    return Some(i + 1);
                }
                _ => i += 1,
            }
        }
        None
    }

    /// Pushes the one-line scalar at `start..end` (a plain or quoted key or value) on `line`.
    fn push_scalar(&mut self, start: usize, end: usize, line: usize) {
        let (value, style) = match self.b[start] {
            b'"' => (
                self.text[start + 1..end - 1].to_owned(),
                ScalarStyle::DoubleQuoted,
            ),
            b'\'' => (
                self.text[start + 1..end - 1].replace("''", "'"),
                ScalarStyle::SingleQuoted,
            ),
            _ => (self.text[start..end].to_owned(), ScalarStyle::Plain),
        };
        self.push(scalar(value, style), start, end, line);
    }

    /// A literal block scalar whose `|` is at `v`, inside a block collection at column
    /// `parent`: `|`, `|-` or `|+` then the end of the line, and lines indented as its first one.
    fn literal(&mut self, line: &Line, v: usize, parent: usize) -> Option<Resume> {
        let mut h = v + 1;
        let chomp = match self.b.get(h) {
            Some(b'-') | Some(b'+') => {
                h += 1;
                self.b[h - 1]
            }
            _ => b' ',
        };
        if h + self.spaces(h, line.end) != line.end || line.end == self.b.len() {
            return None; // an indentation indicator, a comment, or nothing after the header
        }
        // The first non-blank line fixes the indentation. libyaml also counts the spaces of
        // blank lines before it, so those may not be longer; a first line not past the
        // parent's column makes an empty scalar. Both are left to libyaml.
        let mut pos = line.end + 1;
        let mut no = line.no + 1;
        let mut longest_blank = 0;
        let mut first = pos;
        let indent = loop {
            let end = self.line_end(first);
            let lead = self.spaces(first, end);
            if first + lead < end {
                break lead;
            }
            if end == self.b.len() {
                return None; // blank to the end of the input
            }
            longest_blank = longest_blank.max(lead);
            first = end + 1;
        };
        if indent <= parent || longest_blank > indent {
            return None;
        }
        // A literal may be a plaintext secret (a key, a certificate): what it grows out of and what
        // an early return leaves behind are wiped.
        let mut value = zeroize::Zeroizing::new(String::new());
        // Line breaks seen since the last content line, to be written before the next one.
        let mut breaks = 0usize;
        let mut ended_by_break = false;
        let mut end_mark;
        loop {
            end_mark = pos;
            if pos >= self.b.len() {
                break;
            }
            let end = self.line_end(pos);
            let lead = self.spaces(pos, end);
            let blank = pos + lead == end;
            if blank && lead <= indent {
                if end == self.b.len() {
                    break; // spaces at the very end: libyaml's block ends before them
                }
                breaks += 1; // an empty line, whatever spaces it has up to the indentation
            } else if lead >= indent {
                // `breaks` counts the break ending the previous content line, then the empty
                // lines; a literal keeps them all between two content lines.
                for _ in 0..breaks {
                    push_wiped(&mut value, "\n");
                }
                if end == self.b.len() {
                    // libyaml-safer fails on a block that ends the input without a line break
                    // (sops reads it); its error stays its own.
                    return None;
                }
                push_wiped(&mut value, &self.text[pos + indent..end]);
                breaks = 0;
                ended_by_break = end < self.b.len();
                if ended_by_break {
                    breaks = 1;
                }
            } else {
                break; // a less indented line ends the scalar
            }
            if end >= self.b.len() {
                end_mark = self.b.len();
                pos = self.b.len();
                break;
            }
            pos = end + 1;
            no += 1;
        }
        match chomp {
            b'-' => {}
            b'+' => {
                for _ in 0..breaks {
                    push_wiped(&mut value, "\n");
                }
            }
            _ => {
                if ended_by_break {
                    push_wiped(&mut value, "\n");
                }
            }
        }
        let value = std::mem::take(&mut *value);
        self.push(scalar(value, ScalarStyle::Literal), v, end_mark, line.no);
        Some(Resume {
            pos,
            no,
            pending: None,
        })
    }

    fn spaces(&self, from: usize, to: usize) -> usize {
        self.b[from..to].iter().take_while(|&&c| c == b' ').count()
    }

    fn trailing_spaces(&self, from: usize, to: usize) -> usize {
        self.b[from..to]
            .iter()
            .rev()
            .take_while(|&&c| c == b' ')
            .count()
    }
}

/// A `key:` with nothing after it on its line, whose value is the next line's node (or empty).
struct Pending {
    /// The key's column, which a nested node must pass (-1 for the document's root node).
    parent: isize,
    /// Just past the `:`, where libyaml puts an empty value, and that line.
    empty_at: usize,
    line: usize,
}

/// Where scanning goes on after a line's node.
struct Resume {
    pos: usize,
    no: usize,
    pending: Option<Pending>,
}

fn end_kind(level: &Level) -> EvKind {
    if level.seq {
        EvKind::SequenceEnd
    } else {
        EvKind::MappingEnd
    }
}

impl Resume {
    fn line_after(line: &Line, pending: Option<Pending>) -> Resume {
        Resume {
            pos: line.end + 1,
            no: line.no + 1,
            pending,
        }
    }
}

fn scalar(value: String, style: ScalarStyle) -> EvKind {
    EvKind::Scalar {
        anchor: None,
        tag: None,
        value,
        style,
    }
}

/// `value.push_str(s)`, but a buffer outgrown is wiped before it is freed, not left behind with
/// part of the text in it.
fn push_wiped(value: &mut String, s: &str) {
    use zeroize::Zeroize;
    if value.capacity() - value.len() < s.len() {
        let mut grown = String::with_capacity((value.len() + s.len()).max(value.capacity() * 2));
        grown.push_str(value);
        value.zeroize();
        *value = grown;
    }
    value.push_str(s);
}
