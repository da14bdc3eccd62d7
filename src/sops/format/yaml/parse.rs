//! YAML bytes → [`Tree`], as sops 3.11 loads a file through go-yaml v3 (SOPS.md §8.2, §4).
//!
//! The libyaml event stream gives structure, styles and exact marks; comments are recovered from
//! the source text between events and placed with go-yaml's head/line/foot behaviour as observed
//! on the real sops. Errors carry line numbers and key names only, never a scalar's value.

use super::resolve::{parse_timestamp, resolve_plain, Resolved};
use crate::secret::SecretBytes;
use crate::sops::format::FormatError;
use crate::sops::tree::{Comment, Entry, Item, Mapping, Node, Scalar, Tree};
use base64::Engine;
use libyaml_safer::{EventData, MappingStyle, Parser, ScalarStyle, SequenceStyle};

const TAG_PREFIX: &str = "tag:yaml.org,2002:";

struct RScalar {
    value: String,
    style: ScalarStyle,
    tag: Option<String>,
    /// 1-based line, for duplicate-key messages.
    line: usize,
}

struct RColl<T> {
    items: Vec<T>,
    flow: bool,
    /// Column of the keys (mapping) or dashes (sequence); block collections only.
    col: usize,
    parent: Option<usize>,
    /// `slots[i]` = comments before item i; `slots[len]` = trailing comments.
    slots: Vec<Vec<String>>,
    /// Byte offset just past the collection (its closing bracket, for a flow collection).
    end: usize,
}

enum RNode {
    Scalar(RScalar),
    Map(RColl<(usize, usize)>),
    Seq(RColl<usize>),
    Alias(usize),
}

/// One block-collection entry (map key or sequence item), in document order.
struct EntryPos {
    container: usize,
    index: usize,
    pos: usize,
    line: usize,
    doc: usize,
}

struct SrcComment {
    pos: usize,
    line: usize,
    col: usize,
    inline: bool,
    text: String,
}

enum Frame {
    Map { id: usize, key: Option<usize> },
    Seq { id: usize },
}

struct Builder {
    nodes: Vec<RNode>,
    entries: Vec<EntryPos>,
    anchors: std::collections::HashMap<String, usize>,
    stack: Vec<Frame>,
    /// Byte spans that belong to scalars/aliases/properties (never comments).
    spans: Vec<(usize, usize)>,
    docs: Vec<DocInfo>,
    /// Alias expansion accounting for `convert` and `collect_duplicates` (see `AliasBudget`).
    convert_budget: AliasBudget,
    dup_budget: AliasBudget,
    /// Set by `finish` when no node is an alias: `convert` may then move scalar text out.
    movable: bool,
}

impl Drop for Builder {
    /// Scalar text left here (all of it when aliases forbade moving it into the tree) may be a
    /// plaintext value: wiped, as the tree's copies are.
    fn drop(&mut self) {
        use zeroize::Zeroize;
        for n in &mut self.nodes {
            // Text moved into the tree left an empty string behind: nothing to wipe.
            if let RNode::Scalar(s) = n {
                if s.value.capacity() > 0 {
                    s.value.zeroize();
                }
            }
        }
    }
}

struct DocInfo {
    start: usize,
    root: Option<usize>,
}

/// One parser event, as the tree builder needs it: from libyaml, or from [`super::fast`] for the
/// plain block subset (which must give exactly what libyaml gives). No `Debug`: a scalar's value
/// may be a secret.
#[derive(PartialEq)]
pub(super) struct Ev {
    pub(super) kind: EvKind,
    /// Byte offsets of the event's start and end marks.
    pub(super) start: usize,
    pub(super) end: usize,
    /// 0-based line of the start mark.
    pub(super) line: usize,
}

#[derive(PartialEq)]
pub(super) enum EvKind {
    DocumentStart,
    Alias {
        anchor: String,
    },
    Scalar {
        anchor: Option<String>,
        tag: Option<String>,
        value: String,
        style: ScalarStyle,
    },
    SequenceStart {
        anchor: Option<String>,
        flow: bool,
    },
    SequenceEnd,
    MappingStart {
        anchor: Option<String>,
        flow: bool,
    },
    MappingEnd,
}

impl Ev {
    /// The builder's view of a libyaml event; `None` for the ones it ignores (stream start and
    /// end, document end).
    pub(super) fn from_libyaml(ev: libyaml_safer::Event) -> Option<Ev> {
        let kind = match ev.data {
            EventData::StreamStart { .. }
            | EventData::StreamEnd
            | EventData::DocumentEnd { .. } => return None,
            EventData::DocumentStart { .. } => EvKind::DocumentStart,
            EventData::Alias { anchor } => EvKind::Alias { anchor },
            EventData::Scalar {
                anchor,
                tag,
                value,
                style,
                ..
            } => EvKind::Scalar {
                anchor,
                tag,
                value,
                style,
            },
            EventData::SequenceStart { anchor, style, .. } => EvKind::SequenceStart {
                anchor,
                flow: style == SequenceStyle::Flow,
            },
            EventData::SequenceEnd => EvKind::SequenceEnd,
            EventData::MappingStart { anchor, style, .. } => EvKind::MappingStart {
                anchor,
                flow: style == MappingStyle::Flow,
            },
            EventData::MappingEnd => EvKind::MappingEnd,
        };
        Some(Ev {
            kind,
            start: ev.start_mark.index as usize,
            end: ev.end_mark.index as usize,
            line: ev.start_mark.line as usize,
        })
    }
}

fn syntax_error(e: &libyaml_safer::Error) -> FormatError {
    let line = e.problem_mark().map(|m| m.line as usize + 1);
    let msg = match (line, e.context()) {
        (Some(l), _) => format!("yaml: line {l}: {}", e.problem()),
        (None, _) => format!("yaml: {}", e.problem()),
    };
    FormatError::syntax(msg, None)
}

/// Counts nodes and alias expansions while the tree is built, so a "billion laughs" document
/// (aliases of aliases) fails instead of expanding exponentially (found in issue 10: 4.8 GB and
/// still running). Same rule as go-yaml, which sops uses: past 100 aliased and 1000 nodes, the
/// share of nodes reached through an alias may not exceed 0.99, falling linearly from 400 000
/// nodes to 0.10 at 4 000 000.
#[derive(Default)]
struct AliasBudget {
    nodes: std::cell::Cell<u64>,
    aliases: std::cell::Cell<u64>,
    depth: std::cell::Cell<u32>,
}

impl AliasBudget {
    /// Runs `f` (the expansion of one alias) with every node it visits counted as aliased.
    fn inside_alias<T>(&self, f: impl FnOnce() -> T) -> T {
        self.enter_alias();
        let out = f();
        self.leave_alias();
        out
    }

    /// [`Self::inside_alias`] in two halves, for a caller that needs `&mut` access in between.
    fn enter_alias(&self) {
        self.depth.set(self.depth.get() + 1);
    }
    fn leave_alias(&self) {
        self.depth.set(self.depth.get() - 1);
    }

    /// Records one node; false once the document is over budget.
    fn take(&self) -> bool {
        let nodes = self.nodes.get() + 1;
        let aliases = self.aliases.get() + u64::from(self.depth.get() > 0);
        self.nodes.set(nodes);
        self.aliases.set(aliases);
        if aliases <= 100 || nodes <= 1000 {
            return true;
        }
        let allowed = match nodes {
            0..=400_000 => 0.99,
            4_000_000.. => 0.10,
            n => 0.99 - 0.89 * ((n - 400_000) as f64 / 3_600_000.0),
        };
        (aliases as f64 / nodes as f64) <= allowed
    }
}

/// How deep collections may nest. go-yaml (sops) stops at 10000, but the tree, the walkers and
/// `Drop` recurse per level and a debug build overflows an 8 MiB stack near 5000 (found by
/// fuzz/sops_load, issue 10); reseal's worker threads have less. Real files nest a few levels.
const MAX_DEPTH: usize = 512;

fn check_depth(depth: usize, line: usize) -> Result<(), FormatError> {
    if depth > MAX_DEPTH {
        return Err(FormatError::syntax(
            format!("yaml: exceeded max depth of {MAX_DEPTH}"),
            Some(line + 1),
        ));
    }
    Ok(())
}

/// The guard in `parse` turns libyaml-safer's panics into syntax errors; this keeps the default
/// hook from also printing "thread panicked" for them. Installed once, it wraps whatever hook is
/// current and only silences panics raised inside libyaml-safer itself.
fn quiet_libyaml_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let in_libyaml = info
                .location()
                .is_some_and(|l| l.file().contains("libyaml-safer"));
            if !in_libyaml {
                previous(info);
            }
        }));
    });
}

pub(crate) fn parse(input: &[u8]) -> Result<Tree, FormatError> {
    // A UTF-8 byte order mark is skipped like libyaml does; the encoding is then fixed to UTF-8
    // because libyaml-safer's detection rejects text that merely starts with byte 0xEF (U+FFxx).
    let input = input.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(input);
    let text = std::str::from_utf8(input).map_err(|e| {
        FormatError::syntax(
            "yaml: invalid UTF-8 in input",
            Some(line_of(input, e.valid_up_to())),
        )
    })?;
    let mut b = Builder {
        nodes: Vec::new(),
        entries: Vec::new(),
        anchors: Default::default(),
        stack: Vec::new(),
        spans: Vec::new(),
        docs: Vec::new(),
        convert_budget: AliasBudget::default(),
        dup_budget: AliasBudget::default(),
        movable: false,
    };
    match super::fast::events(text) {
        Some(events) => {
            for ev in events {
                b.event(text, ev)?;
            }
        }
        None => libyaml_events(input, |ev| b.event(text, ev))?,
    }
    if b.docs.is_empty() {
        return Err(FormatError::Empty);
    }
    b.fix_seq_columns(text);
    for n in b.nodes.iter_mut() {
        match n {
            RNode::Map(c) => c.slots = vec![Vec::new(); c.items.len() + 1],
            RNode::Seq(c) => c.slots = vec![Vec::new(); c.items.len() + 1],
            _ => {}
        }
    }
    let comments = scan_comments(text, &mut b.spans);
    b.place_comments(text, &comments);
    b.finish()
}

/// Feeds `f` libyaml's events for `input` (UTF-8, no byte order mark) up to the end of the
/// stream, stopping at the first error.
pub(super) fn libyaml_events(
    input: &[u8],
    mut f: impl FnMut(Ev) -> Result<(), FormatError>,
) -> Result<(), FormatError> {
    let mut parser = Parser::new();
    let mut slice = input;
    parser.set_input_string(&mut slice);
    parser.set_encoding(libyaml_safer::Encoding::Utf8);
    loop {
        // libyaml-safer 0.3 panics ("unexpected end of input") inside some malformed block
        // scalars, e.g. `|\n )` (found by fuzz/sops_load, issue 10): a broken file must be a
        // syntax error with exit 1, not a crash.
        quiet_libyaml_panics();
        let ev = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| parser.parse()))
            .map_err(|_| FormatError::syntax("yaml: unexpected end of input", None))?
            .map_err(|e| syntax_error(&e))?;
        if ev.data == EventData::StreamEnd {
            return Ok(());
        }
        if let Some(ev) = Ev::from_libyaml(ev) {
            f(ev)?;
        }
    }
}

fn line_of(input: &[u8], pos: usize) -> usize {
    input[..pos].iter().filter(|&&c| c == b'\n').count() + 1
}

impl Builder {
    /// Adds one event's node to the tree.
    fn event(&mut self, text: &str, ev: Ev) -> Result<(), FormatError> {
        match ev.kind {
            EvKind::DocumentStart => {
                self.docs.push(DocInfo {
                    start: ev.start,
                    root: None,
                });
                self.anchors.clear();
            }
            EvKind::Alias { anchor } => {
                self.spans.push((ev.start, ev.end));
                self.register_entry(ev.start, ev.line);
                let target = *self.anchors.get(&anchor).ok_or_else(|| {
                    FormatError::syntax("yaml: unknown anchor referenced", Some(ev.line + 1))
                })?;
                let id = self.push(RNode::Alias(target));
                self.complete(id);
            }
            EvKind::Scalar {
                anchor,
                tag,
                value,
                style,
            } => {
                let (s, e) = (ev.start, ev.end);
                if matches!(style, ScalarStyle::Literal | ScalarStyle::Folded) {
                    // The header line (`| # c`) may carry a comment; the content may not.
                    let header_end = next_break(text, s).min(e);
                    self.spans.push((s, (s + 1).min(header_end)));
                    self.spans.push((header_end, e));
                } else {
                    self.spans.push((s, e));
                }
                self.register_entry(s, ev.line);
                let id = self.push(RNode::Scalar(RScalar {
                    value,
                    style,
                    tag,
                    line: ev.line + 1,
                }));
                if let Some(a) = anchor {
                    self.anchors.insert(a, id);
                }
                self.complete(id);
            }
            EvKind::SequenceStart { anchor, flow } => {
                self.note_property_span(text, ev.start, ev.end);
                self.register_entry(ev.start, ev.line);
                let parent = self.current_container();
                let id = self.push(RNode::Seq(RColl {
                    items: Vec::new(),
                    flow,
                    col: usize::MAX,
                    parent,
                    slots: Vec::new(),
                    end: 0,
                }));
                if let Some(a) = anchor {
                    self.anchors.insert(a, id);
                }
                self.stack.push(Frame::Seq { id });
                check_depth(self.stack.len(), ev.line)?;
            }
            EvKind::MappingStart { anchor, flow } => {
                self.note_property_span(text, ev.start, ev.end);
                self.register_entry(ev.start, ev.line);
                let parent = self.current_container();
                let id = self.push(RNode::Map(RColl {
                    items: Vec::new(),
                    flow,
                    col: usize::MAX,
                    parent,
                    slots: Vec::new(),
                    end: 0,
                }));
                if let Some(a) = anchor {
                    self.anchors.insert(a, id);
                }
                self.stack.push(Frame::Map { id, key: None });
                check_depth(self.stack.len(), ev.line)?;
            }
            EvKind::SequenceEnd | EvKind::MappingEnd => {
                let id = match self.stack.pop() {
                    Some(Frame::Map { id, .. }) | Some(Frame::Seq { id }) => id,
                    None => unreachable!("libyaml balances collection events"),
                };
                match &mut self.nodes[id] {
                    RNode::Map(c) => c.end = ev.end,
                    RNode::Seq(c) => c.end = ev.end,
                    _ => {}
                }
                self.complete(id);
            }
        }
        Ok(())
    }

    fn push(&mut self, n: RNode) -> usize {
        self.nodes.push(n);
        self.nodes.len() - 1
    }

    fn current_container(&self) -> Option<usize> {
        match self.stack.last() {
            Some(Frame::Map { id, .. }) | Some(Frame::Seq { id }) => Some(*id),
            None => None,
        }
    }

    /// Anchors and tags on a collection are not comments; only single-line property spans are
    /// recorded so that a comment after them stays visible.
    fn note_property_span(&mut self, text: &str, s: usize, e: usize) {
        if e > s && next_break(text, s) >= e {
            self.spans.push((s, e));
        }
    }

    /// A node starts: if it begins a block-mapping key or a block-sequence item, remember where.
    fn register_entry(&mut self, pos: usize, line0: usize) {
        let doc = self.docs.len().saturating_sub(1);
        let (container, index) = match self.stack.last() {
            Some(Frame::Map { id, key: None }) => {
                let RNode::Map(c) = &mut self.nodes[*id] else {
                    unreachable!()
                };
                if c.flow {
                    return;
                }
                if c.items.is_empty() {
                    // Column of the first key = the mapping's column.
                    c.col = usize::MAX - 1; // filled in just below from the mark
                }
                (*id, c.items.len())
            }
            Some(Frame::Seq { id }) => {
                let RNode::Seq(c) = &self.nodes[*id] else {
                    unreachable!()
                };
                if c.flow {
                    return;
                }
                (*id, c.items.len())
            }
            _ => return,
        };
        self.entries.push(EntryPos {
            container,
            index,
            pos,
            line: line0,
            doc,
        });
    }

    fn complete(&mut self, id: usize) {
        match self.stack.last_mut() {
            Some(Frame::Map { id: m, key }) => {
                let m = *m;
                match key.take() {
                    None => *key = Some(id),
                    Some(k) => {
                        let RNode::Map(c) = &mut self.nodes[m] else {
                            unreachable!()
                        };
                        c.items.push((k, id));
                    }
                }
            }
            Some(Frame::Seq { id: s }) => {
                let s = *s;
                let RNode::Seq(c) = &mut self.nodes[s] else {
                    unreachable!()
                };
                c.items.push(id);
            }
            None => {
                if let Some(d) = self.docs.last_mut() {
                    d.root = Some(id);
                }
            }
        }
    }

    /// Block columns: a mapping's is its first key's, a sequence's its first dash's.
    fn fix_seq_columns(&mut self, text: &str) {
        let mut first: std::collections::HashMap<usize, usize> = Default::default();
        for e in &self.entries {
            first.entry(e.container).or_insert(e.pos);
        }
        for (id, pos) in first {
            let col = match &self.nodes[id] {
                RNode::Map(_) => {
                    // An explicit key (`? key`) starts at its `?`, not at the key text.
                    let bytes = text.as_bytes();
                    let mut p = pos;
                    while p > 0 && matches!(bytes[p - 1], b' ' | b'\t') {
                        p -= 1;
                    }
                    if p > 0 && bytes[p - 1] == b'?' && p != pos {
                        column_of(text, p - 1)
                    } else {
                        column_of(text, pos)
                    }
                }
                RNode::Seq(_) => {
                    // The item starts after `- `: walk back to the dash.
                    let bytes = text.as_bytes();
                    let mut p = pos;
                    while p > 0 && bytes[p - 1] != b'-' && bytes[p - 1].is_ascii_whitespace() {
                        p -= 1;
                    }
                    if p > 0 && bytes[p - 1] == b'-' {
                        column_of(text, p - 1)
                    } else {
                        column_of(text, pos)
                    }
                }
                _ => continue,
            };
            match &mut self.nodes[id] {
                RNode::Map(c) => c.col = col,
                RNode::Seq(c) => c.col = col,
                _ => {}
            }
        }
    }

    fn parent_of(&self, id: usize) -> Option<usize> {
        match &self.nodes[id] {
            RNode::Map(c) => c.parent,
            RNode::Seq(c) => c.parent,
            _ => None,
        }
    }

    fn col_of(&self, id: usize) -> usize {
        match &self.nodes[id] {
            RNode::Map(c) => c.col,
            RNode::Seq(c) => c.col,
            _ => 0,
        }
    }

    fn slot_mut(&mut self, id: usize, index: usize) -> &mut Vec<String> {
        match &mut self.nodes[id] {
            RNode::Map(c) => &mut c.slots[index],
            RNode::Seq(c) => &mut c.slots[index],
            _ => unreachable!("comments only go into collections"),
        }
    }

    fn trailing_index(&self, id: usize) -> usize {
        match &self.nodes[id] {
            RNode::Map(c) => c.items.len(),
            RNode::Seq(c) => c.items.len(),
            _ => 0,
        }
    }

    fn doc_of(&self, pos: usize) -> usize {
        let mut d = 0;
        for (i, doc) in self.docs.iter().enumerate() {
            if doc.start <= pos {
                d = i;
            }
        }
        d
    }

    /// Places every comment (SOPS.md §4, §8.2). go-yaml's head/line/foot rules, as observed with
    /// sops 3.11, reduce to: an inline comment goes before the deepest entry that starts on its
    /// line; own-line comments go before the next entry unless the next entry closes blocks, in
    /// which case the rules in [`Builder::place_gap`] decide which closing block keeps them.
    fn place_comments(&mut self, text: &str, comments: &[SrcComment]) {
        if comments.is_empty() {
            return; // the usual SOPS file: nothing to place, no line table to build
        }
        let starts = line_starts(text);
        // Entry lines as this module counts them (libyaml's breaks), only needed here.
        for e in self.entries.iter_mut() {
            e.line = starts.partition_point(|&s| s <= e.pos) - 1;
        }
        let lines: Vec<&str> = starts
            .iter()
            .enumerate()
            .map(|(i, &st)| {
                let end = starts
                    .get(i + 1)
                    .map_or(text.len(), |_| next_break(text, st));
                &text[st..end]
            })
            .collect();
        let mut i = 0;
        while i < comments.len() {
            let c = &comments[i];
            let doc = self.doc_of(c.pos);
            if c.inline {
                // A comment after a flow collection that is a block mapping's value belongs to
                // that collection: go-yaml makes it the collection's line comment, which sops
                // writes above the first item once the collection is written in block style
                // (`d: [1, 2] # w` → `d:` / `# w` / `- 1`; observed with sops 3.11).
                if let Some(flow) = self.flow_value_closed_before(text, c) {
                    self.slot_mut(flow, 0).push(c.text.clone());
                    i += 1;
                    continue;
                }
                // The outermost entry starting on the line: `- k: v # c` is a comment of the
                // sequence item, not of `k` (observed with sops).
                let owner = self
                    .entries
                    .iter()
                    .find(|e| e.doc == doc && e.line == c.line && e.pos < c.pos)
                    .map(|e| (e.container, e.index));
                if let Some((cont, idx)) = owner {
                    self.slot_mut(cont, idx).push(c.text.clone());
                    i += 1;
                    continue;
                }
            }
            // Gather the whole run of own-line comments sharing the same neighbours.
            let prev = self
                .entries
                .iter()
                .rposition(|e| e.doc == doc && e.pos < c.pos);
            let next = self
                .entries
                .iter()
                .position(|e| e.doc == doc && e.pos > c.pos);
            let mut j = i + 1;
            while j < comments.len() {
                let d = &comments[j];
                let dn = self
                    .entries
                    .iter()
                    .position(|e| e.doc == doc && e.pos > d.pos);
                if self.doc_of(d.pos) != doc
                    || dn != next
                    || (d.inline
                        && self
                            .entries
                            .iter()
                            .any(|e| e.doc == doc && e.line == d.line && e.pos < d.pos))
                {
                    break;
                }
                j += 1;
            }
            let group: Vec<&SrcComment> = comments[i..j].iter().collect();
            self.place_gap(&lines, doc, prev, next, &group);
            i = j;
        }
    }

    fn place_gap(
        &mut self,
        lines: &[&str],
        doc: usize,
        prev: Option<usize>,
        next: Option<usize>,
        group: &[&SrcComment],
    ) {
        let root = self.docs[doc].root;
        // Where "before next" is: N's slot, or the root's end at the end of the document.
        let next_slot = match next {
            Some(n) => Some((self.entries[n].container, self.entries[n].index)),
            None => root
                .filter(|r| matches!(self.nodes[*r], RNode::Map(_) | RNode::Seq(_)))
                .map(|r| (r, self.trailing_index(r))),
        };
        let Some(next_slot) = next_slot else {
            return; // an empty document: sops keeps nothing for it (`{}`)
        };
        let Some(p) = prev else {
            for c in group {
                self.slot_mut(next_slot.0, next_slot.1).push(c.text.clone());
            }
            return;
        };
        // Chain of containers closing here: P's container up to N's container.
        let mut chain = vec![self.entries[p].container];
        let target = next_slot.0;
        while *chain.last().unwrap() != target {
            match self.parent_of(*chain.last().unwrap()) {
                Some(par) => chain.push(par),
                None => break,
            }
        }
        if *chain.last().unwrap() != target {
            // N opens a block below P: head comments of N. But when the comment lines step back
            // to a smaller column, go-yaml keeps only the last such run as N's head; the runs
            // before it become the foot of N's pair and sops writes them after that first entry
            // (observed with sops; block mappings only).
            let n = next.expect("a deeper entry exists");
            let (n_cont, n_idx) = (self.entries[n].container, self.entries[n].index);
            let own: Vec<&SrcComment> = group.iter().copied().filter(|c| !c.inline).collect();
            let last_run = own
                .windows(2)
                .rposition(|w| w[1].col < w[0].col)
                .map_or(0, |i| i + 1);
            let after_slot = match &self.nodes[n_cont] {
                RNode::Map(m) if n_idx == 0 && !m.flow && last_run > 0 => {
                    let value = m.items.first().map(|&(_, v)| v);
                    Some(match value.map(|v| &self.nodes[v]) {
                        Some(RNode::Seq(sq)) if !sq.flow => {
                            let v = value.expect("checked");
                            (v, self.trailing_index(v))
                        }
                        _ => (n_cont, n_idx + 1),
                    })
                }
                _ => None,
            };
            let split_pos = own.get(last_run).map_or(usize::MAX, |c| c.pos);
            for c in group {
                match after_slot {
                    Some(slot) if !c.inline && c.pos < split_pos => {
                        self.slot_mut(slot.0, slot.1).push(c.text.clone())
                    }
                    _ => self.slot_mut(next_slot.0, next_slot.1).push(c.text.clone()),
                }
            }
            return;
        }
        if chain.len() == 1 {
            for c in group {
                self.slot_mut(next_slot.0, next_slot.1).push(c.text.clone());
            }
            return;
        }
        let blank = |l: usize| lines.get(l).is_none_or(|s| s.trim().is_empty());
        let next_line = next.map_or(usize::MAX, |n| self.entries[n].line);
        let next_col = next.map_or(0, |_| self.col_of(target));
        // 1. Head run: comment lines right above N, at N's column, without blank lines.
        let mut head_from = group.len();
        // At the end of the document the "next line" is right below the last comment.
        let mut below = next.map_or(group[group.len() - 1].line + 1, |_| next_line);
        while head_from > 0 {
            let c = group[head_from - 1];
            if c.col != next_col || c.line + 1 != below {
                break;
            }
            below = c.line;
            head_from -= 1;
        }
        // 2. Foot comments, group by group (blank lines separate groups).
        let depth_for_col = |col: usize, chain: &[usize], this: &Builder| {
            chain
                .iter()
                .position(|&c| this.col_of(c) <= col)
                .unwrap_or(chain.len() - 1)
        };
        let p_line = self.last_content_line_before(lines, group[0].line);
        let mut prev_group_depth: Option<usize> = None;
        let mut prev_line_depth = 0usize;
        let mut k = 0;
        let mut placements: Vec<(usize, String)> = Vec::new();
        while k < head_from {
            let mut end = k + 1;
            while end < head_from && group[end].line == group[end - 1].line + 1 {
                end += 1;
            }
            for (n, c) in group[k..end].iter().enumerate() {
                let d = if n == 0 {
                    match prev_group_depth {
                        None => {
                            let directly_after = p_line.is_some_and(|l| l + 1 == c.line);
                            if directly_after && blank(c.line + 1) {
                                depth_for_col(c.col, &chain, self)
                            } else if !directly_after && c.col == next_col {
                                chain.len() - 1
                            } else {
                                0
                            }
                        }
                        Some(pd) => depth_for_col(c.col, &chain, self).max(pd + 1),
                    }
                } else if c.col == group[k + n - 1].col {
                    prev_line_depth
                } else {
                    depth_for_col(c.col, &chain, self).max(prev_line_depth)
                };
                let mut d = d.min(chain.len() - 1);
                // An indentless sequence (`k:\n- a`) is no indentation level of its own: its
                // foot comments belong to the mapping around it, except at the very end of the
                // document after a scalar item (observed with sops).
                while d + 1 < chain.len()
                    && self.is_indentless_seq(chain[d])
                    && !(next.is_none() && d == 0)
                {
                    d += 1;
                }
                prev_line_depth = d;
                placements.push((d, c.text.clone()));
            }
            prev_group_depth = Some(prev_line_depth);
            k = end;
        }
        for (d, t) in placements {
            if d == chain.len() - 1 {
                self.slot_mut(next_slot.0, next_slot.1).push(t);
            } else {
                let id = chain[d];
                let ti = self.trailing_index(id);
                self.slot_mut(id, ti).push(t);
            }
        }
        // At the end of the document a head run after an indentless sequence stays in it.
        let head_directly_after =
            head_from < group.len() && p_line.is_some_and(|l| l + 1 == group[head_from].line);
        let head_slot = if next.is_none() && head_directly_after && self.is_indentless_seq(chain[0])
        {
            (chain[0], self.trailing_index(chain[0]))
        } else {
            next_slot
        };
        for c in &group[head_from..] {
            self.slot_mut(head_slot.0, head_slot.1).push(c.text.clone());
        }
    }

    /// A block sequence written at its parent mapping's column (`key:\n- item`).
    fn is_indentless_seq(&self, id: usize) -> bool {
        match &self.nodes[id] {
            RNode::Seq(c) => {
                !c.flow
                    && c.parent
                        .is_some_and(|p| matches!(&self.nodes[p], RNode::Map(m) if m.col == c.col))
            }
            _ => false,
        }
    }

    /// The non-empty flow collection, the value of a block mapping entry, that closes on the
    /// inline comment's line with only blanks between its bracket and the `#`. (An empty one
    /// keeps the comment elsewhere or drops it in go-yaml; not reproduced, see fuzz/README.md.)
    fn flow_value_closed_before(&self, text: &str, c: &SrcComment) -> Option<usize> {
        if !text[..c.pos]
            .trim_end_matches([' ', '\t'])
            .ends_with([']', '}'])
        {
            return None;
        }
        self.nodes.iter().enumerate().find_map(|(id, n)| {
            let (flow, len, end, parent) = match n {
                RNode::Map(m) => (m.flow, m.items.len(), m.end, m.parent),
                RNode::Seq(q) => (q.flow, q.items.len(), q.end, q.parent),
                _ => return None,
            };
            let in_block_map =
                matches!(parent.map(|p| &self.nodes[p]), Some(RNode::Map(m)) if !m.flow);
            let is_value = parent.is_some_and(|p| match &self.nodes[p] {
                RNode::Map(m) => m.items.iter().any(|&(_, v)| v == id),
                _ => false,
            });
            let adjacent = end <= c.pos
                && text.as_bytes()[end..c.pos]
                    .iter()
                    .all(|&b| b == b' ' || b == b'\t');
            (flow && len > 0 && in_block_map && is_value && adjacent).then_some(id)
        })
    }

    /// The last line above `line` (0-based) holding something other than blanks and comments.
    fn last_content_line_before(&self, lines: &[&str], line: usize) -> Option<usize> {
        (0..line).rev().find(|&l| {
            let t = lines[l].trim_start();
            !t.is_empty() && !t.starts_with('#')
        })
    }

    fn finish(mut self) -> Result<Tree, FormatError> {
        // Without aliases every node becomes exactly one node of the tree, so scalar text can be
        // moved into it instead of copied: one allocation and copy fewer per scalar, and no
        // second, unwiped copy of a plaintext value (issue 9).
        self.movable = !self.nodes.iter().any(|n| matches!(n, RNode::Alias(_)));
        let mut documents = Vec::new();
        for i in 0..self.docs.len() {
            let root = self.docs[i].root;
            let mapping = match root {
                None => Mapping::new(),
                Some(r) if matches!(self.nodes[r], RNode::Map(_)) => {
                    if i == 0 {
                        self.check_duplicates(r)?;
                    }
                    match self.convert(r, 0)? {
                        Node::Mapping(m) => m,
                        _ => unreachable!(),
                    }
                }
                Some(r) => match &self.nodes[r] {
                    RNode::Map(_) => unreachable!("taken above"),
                    RNode::Seq(c) => {
                        // go-yaml's decoder message when sops decodes the first document.
                        let line = self
                            .entries
                            .iter()
                            .find(|e| e.container == r)
                            .map_or(1, |e| e.line + 1);
                        let _ = c;
                        return Err(FormatError::syntax(
                            format!("yaml: unmarshal errors:\n  line {line}: cannot unmarshal !!seq into map[string]interface {{}}"),
                            None,
                        ));
                    }
                    RNode::Scalar(s) => {
                        if s.tag.is_none()
                            && s.style == ScalarStyle::Plain
                            && resolve_plain(&s.value) == Resolved::Null
                        {
                            Mapping::new()
                        } else {
                            return Err(FormatError::syntax(
                                "YAML documents that are values are not supported",
                                None,
                            ));
                        }
                    }
                    RNode::Alias(_) => {
                        return Err(FormatError::syntax(
                            "YAML documents that are values are not supported",
                            None,
                        ))
                    }
                },
            };
            documents.push(mapping);
        }
        Ok(Tree { documents })
    }

    /// go-yaml's decoder rejects repeated keys (compared by their text) in every mapping of the
    /// document sops decodes (SOPS.md §8.2: `mapping key "a" already defined at line 1`).
    fn check_duplicates(&self, id: usize) -> Result<(), FormatError> {
        let mut errors = Vec::new();
        self.collect_duplicates(id, &mut errors, 0);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(FormatError::syntax(
                format!("yaml: unmarshal errors:\n  {}", errors.join("\n  ")),
                None,
            ))
        }
    }

    fn collect_duplicates(&self, id: usize, errors: &mut Vec<String>, depth: usize) {
        // Past the alias budget `convert` fails the file anyway; stop expanding here.
        if !self.dup_budget.take() {
            return;
        }
        if depth > 64 {
            return;
        }
        match &self.nodes[id] {
            RNode::Map(c) => {
                for (i, (k, _)) in c.items.iter().enumerate() {
                    for (k2, _) in &c.items[i + 1..] {
                        if let (RNode::Scalar(a), RNode::Scalar(b)) =
                            (&self.nodes[*k], &self.nodes[*k2])
                        {
                            if a.value == b.value {
                                errors.push(format!(
                                    "line {}: mapping key {} already defined at line {}",
                                    b.line,
                                    go_quote(&a.value),
                                    a.line
                                ));
                            }
                        }
                    }
                }
                for (_, v) in &c.items {
                    self.collect_duplicates(*v, errors, depth + 1);
                }
            }
            RNode::Seq(c) => {
                for v in &c.items {
                    self.collect_duplicates(*v, errors, depth + 1);
                }
            }
            RNode::Alias(t) => self
                .dup_budget
                .inside_alias(|| self.collect_duplicates(*t, errors, depth + 1)),
            RNode::Scalar(_) => {}
        }
    }

    /// The tree under node `id`, aliases expanded; `depth` counts collection levels from the root.
    fn convert(&mut self, id: usize, depth: usize) -> Result<Node, FormatError> {
        if !self.convert_budget.take() {
            return Err(FormatError::syntax(
                "yaml: document contains excessive aliasing",
                None,
            ));
        }
        // The parser bounds nesting as written, but an alias repeats a whole subtree wherever it
        // is used, so anchors chained inside deep collections nest thousands of levels once
        // expanded; every later walk recurses per level and would overflow the stack (found by
        // fuzz/sops_store_roundtrip, a SIGSEGV). Expanded nesting gets the same bound.
        if depth >= MAX_DEPTH && matches!(self.nodes[id], RNode::Map(_) | RNode::Seq(_)) {
            return Err(FormatError::syntax(
                format!("yaml: exceeded max depth of {MAX_DEPTH} (once aliases are expanded)"),
                None,
            ));
        }
        // Children are converted through `&mut self` (to move their text), so each collection
        // is looked up again per item rather than borrowed across the recursion.
        Ok(match &mut self.nodes[id] {
            RNode::Alias(t) => {
                let t = *t;
                self.convert_budget.enter_alias();
                let node = self.convert(t, depth);
                self.convert_budget.leave_alias();
                node?
            }
            RNode::Scalar(s) => scalar_node(s, self.movable)?,
            RNode::Map(c) => {
                let n = c.items.len();
                let mut m = Mapping::new();
                let comments: usize = c.slots.iter().map(Vec::len).sum();
                m.entries.reserve_exact(n + comments);
                for i in 0..=n {
                    let RNode::Map(c) = &self.nodes[id] else {
                        unreachable!()
                    };
                    for t in c.slots.get(i).into_iter().flatten() {
                        m.entries.push(Entry::Comment(comment(t)));
                    }
                    if let Some(&(k, v)) = c.items.get(i) {
                        let key = self.key_text(k)?;
                        m.entries
                            .push(Entry::Pair(key, self.convert(v, depth + 1)?));
                    }
                }
                Node::Mapping(m)
            }
            RNode::Seq(c) => {
                let n = c.items.len();
                let comments: usize = c.slots.iter().map(Vec::len).sum();
                let mut items = Vec::with_capacity(n + comments);
                for i in 0..=n {
                    let RNode::Seq(c) = &self.nodes[id] else {
                        unreachable!()
                    };
                    for t in c.slots.get(i).into_iter().flatten() {
                        items.push(Item::Comment(comment(t)));
                    }
                    if let Some(&v) = c.items.get(i) {
                        items.push(Item::Node(self.convert(v, depth + 1)?));
                    }
                }
                Node::Sequence(items)
            }
        })
    }

    /// Keys must be strings (SOPS.md §8.2); the merge key `<<` is kept literally.
    fn key_text(&mut self, id: usize) -> Result<String, FormatError> {
        let node = match &self.nodes[id] {
            RNode::Alias(t) => *t,
            _ => id,
        };
        let movable = self.movable;
        match &mut self.nodes[node] {
            RNode::Scalar(s) => {
                if s.tag.is_none() && s.style == ScalarStyle::Plain && s.value == "<<" {
                    return Ok("<<".into());
                }
                let typed = match convert_scalar(s)? {
                    Conv::Text if movable => return Ok(std::mem::take(&mut s.value)),
                    Conv::Text => return Ok(s.value.clone()),
                    Conv::Typed(n) => n,
                };
                match typed {
                    Node::Scalar(Scalar::Str(b)) => match b.as_str() {
                        Some(t) => Ok(t.to_string()),
                        None => Err(non_string_key("[]uint8", "[binary]".into())),
                    },
                    Node::Null => Err(non_string_key("<nil>", "%!s(<nil>)".into())),
                    Node::Scalar(Scalar::Int(i)) => {
                        Err(non_string_key("int", format!("%!s(int={i})")))
                    }
                    Node::Scalar(Scalar::Float(f)) => Err(non_string_key(
                        "float64",
                        format!(
                            "%!s(float64={})",
                            super::resolve::format_float(f)
                                .replace(".inf", "+Inf")
                                .replace(".nan", "NaN")
                        ),
                    )),
                    Node::Scalar(Scalar::Bool(b)) => {
                        Err(non_string_key("bool", format!("%!s(bool={b})")))
                    }
                    Node::Scalar(Scalar::Time(t)) => Err(non_string_key("time.Time", t)),
                    _ => Err(non_string_key("unknown", String::new())),
                }
            }
            RNode::Map(_) => Err(non_string_key("map[string]interface {}", "map[…]".into())),
            RNode::Seq(_) => Err(non_string_key("[]interface {}", "[…]".into())),
            RNode::Alias(_) => Err(non_string_key("unknown", String::new())),
        }
    }
}

/// sops's message, typo included (SOPS.md §8.2). Keys are never secret (SOPS.md §1), so the
/// key's text may appear; a collection used as a key is only named, not printed.
fn non_string_key(ty: &str, shown: String) -> FormatError {
    FormatError::Unsupported(format!(
        "Tree contains a non-string key (type {ty}): {shown}. Only string keys aresupported"
    ))
}

fn comment(t: &str) -> Comment {
    Comment(SecretBytes::from_str(t))
}

/// Go's `%#v` of a key string (double-quoted, escaped).
fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn column_of(text: &str, pos: usize) -> usize {
    // Back to the end of the previous line break: its last byte is `\n`, a lone `\r`, or the
    // last byte of U+0085 / U+2028 / U+2029 (see `break_len`).
    let b = text.as_bytes();
    let ls = (0..pos)
        .rev()
        .find(|&i| match b[i] {
            b'\n' | b'\r' => true,
            0x85 => i >= 1 && b[i - 1] == 0xC2,
            0xA8 | 0xA9 => i >= 2 && b[i - 2] == 0xE2 && b[i - 1] == 0x80,
            _ => false,
        })
        .map_or(0, |i| i + 1);
    text[ls..pos].chars().count()
}

/// Length of the line break at byte `i`, by libyaml's (and go-yaml's) rules: `\r\n`, `\n`, a
/// lone `\r`, U+0085, U+2028 and U+2029 all end a line; 0 when there is none. Counting only
/// `\n` let a comment run past a lone CR or a U+2028 and swallow the next line's data (fuzz
/// findings 4, 5 and 6 of fuzz/README.md).
fn break_len(b: &[u8], i: usize) -> usize {
    match b[i] {
        b'\n' => 1,
        b'\r' if b.get(i + 1) == Some(&b'\n') => 2,
        b'\r' => 1,
        0xC2 if b.get(i + 1) == Some(&0x85) => 2,
        0xE2 if b.get(i + 1) == Some(&0x80) && matches!(b.get(i + 2), Some(0xA8 | 0xA9)) => 3,
        _ => 0,
    }
}

/// Byte offset of the first line break at or after `from` (the text's length when none).
fn next_break(text: &str, from: usize) -> usize {
    let b = text.as_bytes();
    (from..b.len())
        .find(|&i| break_len(b, i) > 0)
        .unwrap_or(b.len())
}

/// Where each line starts, lines being what libyaml counts as lines.
fn line_starts(text: &str) -> Vec<usize> {
    let b = text.as_bytes();
    let mut out = vec![0];
    let mut i = 0;
    while i < b.len() {
        // Only these bytes can start a break (`\n`, `\r`, U+0085's 0xC2, U+2028/9's 0xE2).
        if !matches!(b[i], b'\n' | b'\r' | 0xC2 | 0xE2) {
            i += 1;
            continue;
        }
        match break_len(b, i) {
            0 => i += 1,
            n => {
                i += n;
                out.push(i);
            }
        }
    }
    out
}

/// Types one scalar the way go-yaml v3 decodes it into an untyped value (SOPS.md §8.2).
/// What a scalar converts to: a typed value, or its own text as a string, which the caller
/// copies or moves out of the builder ([`scalar_node`]).
enum Conv {
    Typed(Node),
    Text,
}

/// A scalar's node; `take` moves its text into the tree (no alias can read it again).
fn scalar_node(s: &mut RScalar, take: bool) -> Result<Node, FormatError> {
    Ok(match convert_scalar(s)? {
        Conv::Typed(n) => n,
        Conv::Text if take => {
            Node::Scalar(Scalar::Str(SecretBytes::from(std::mem::take(&mut s.value))))
        }
        Conv::Text => Node::str(&s.value),
    })
}

fn convert_scalar(s: &RScalar) -> Result<Conv, FormatError> {
    let tag = s.tag.as_deref().map(|t| {
        t.strip_prefix(TAG_PREFIX)
            .map_or(t.to_string(), |x| format!("!!{x}"))
    });
    let plain = s.style == ScalarStyle::Plain;
    let from_resolved = |r: Resolved| -> Result<Conv, FormatError> {
        Ok(Conv::Typed(match r {
            Resolved::Null => Node::Null,
            Resolved::Bool(b) => Node::Scalar(Scalar::Bool(b)),
            Resolved::Int(i) => Node::Scalar(Scalar::Int(i)),
            Resolved::Uint => {
                return Err(FormatError::Unsupported(
                    "Cannot walk value, unknown type: uint64".into(),
                ))
            }
            Resolved::Float(f) => Node::Scalar(Scalar::Float(f)),
            Resolved::Time(t) => Node::Scalar(Scalar::Time(t)),
            Resolved::Merge | Resolved::Str => return Ok(Conv::Text),
        }))
    };
    match tag.as_deref() {
        Some("!!str") => Ok(Conv::Text),
        Some("!!binary") => {
            let compact: String = s.value.chars().filter(|c| !c.is_whitespace()).collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(compact.as_bytes())
                .map_err(|_| {
                    FormatError::syntax(
                        format!(
                            "yaml: line {}: !!binary value contains invalid base64 data",
                            s.line
                        ),
                        None,
                    )
                })?;
            Ok(Conv::Typed(Node::Scalar(Scalar::Str(SecretBytes::new(
                bytes,
            )))))
        }
        Some("!!timestamp") => match parse_timestamp(&s.value) {
            Some(t) => Ok(Conv::Typed(Node::Scalar(Scalar::Time(t)))),
            None => Ok(Conv::Text),
        },
        Some("!!int") | Some("!!float") | Some("!!bool") | Some("!!null") => {
            let r = resolve_plain(&s.value);
            let fits = matches!(
                (tag.as_deref(), &r),
                (Some("!!int"), Resolved::Int(_) | Resolved::Uint)
                    | (Some("!!float"), Resolved::Float(_))
                    | (Some("!!bool"), Resolved::Bool(_))
                    | (Some("!!null"), Resolved::Null)
            );
            if fits {
                from_resolved(r)
            } else if tag.as_deref() == Some("!!float") {
                if let Resolved::Int(i) = r {
                    return Ok(Conv::Typed(Node::Scalar(Scalar::Float(i as f64))));
                }
                Ok(Conv::Text)
            } else {
                Ok(Conv::Text)
            }
        }
        // Any other tag (`!Ref`, `!secret`, `!!merge`, even the non-specific `!`) is dropped and
        // the scalar typed as if untagged (SOPS.md §8.2; `! 12` is an int with sops).
        _ => {
            if plain {
                from_resolved(resolve_plain(&s.value))
            } else {
                Ok(Conv::Text)
            }
        }
    }
}

/// Finds `#` comments outside every scalar/alias span: at line start or after whitespace.
fn scan_comments(text: &str, spans: &mut [(usize, usize)]) -> Vec<SrcComment> {
    // Most SOPS files have no `#` at all (base64 and ENC[…] values never contain one).
    if !text.as_bytes().contains(&b'#') {
        return Vec::new();
    }
    spans.sort_unstable();
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut si = 0;
    let mut pos = 0;
    let mut line = 0;
    let mut line_start = 0;
    while pos < bytes.len() {
        while si < spans.len() && spans[si].1 <= pos {
            si += 1;
        }
        if si < spans.len() && spans[si].0 <= pos && pos < spans[si].1 {
            // Inside a scalar: count its line breaks and jump over it.
            let end = spans[si].1.min(bytes.len());
            let mut k = pos;
            while k < end {
                match break_len(bytes, k) {
                    0 => k += 1,
                    n => {
                        k += n;
                        line += 1;
                        line_start = k;
                    }
                }
            }
            // A `\r\n` straddling the span's end was counted once, whole.
            pos = k.max(end);
            continue;
        }
        let brk = break_len(bytes, pos);
        if brk > 0 {
            pos += brk;
            line += 1;
            line_start = pos;
            continue;
        }
        let c = bytes[pos];
        let after_blank = pos == 0 || matches!(bytes[pos - 1], b' ' | b'\t') || pos == line_start;
        if c == b'#' && after_blank {
            // A comment ends at the next line break, whichever of libyaml's it is.
            let eol = next_break(text, pos);
            let body = &text[pos + 1..eol];
            let before = &text[line_start..pos];
            out.push(SrcComment {
                pos,
                line,
                col: before.chars().count(),
                inline: !before.trim().is_empty(),
                text: body.to_string(),
            });
            pos = eol;
            continue;
        }
        pos += 1;
    }
    out
}
