//! The YAML store (SOPS.md §8.2): parses and emits YAML byte-compatibly with sops 3.11, which
//! reads and writes through go-yaml v3.
//!
//! It exists so that a file we write is the file sops would have written — same quoting, same
//! indentation, same comment placement — and so that we read every file sops reads with the same
//! types. It must never put a scalar's value into an error, a log line or a `Debug` string, and
//! never drop a comment (comments are tree entries the engine may encrypt, SOPS.md §4).

mod emit;
mod fast;
mod parse;
mod resolve;

use super::{EmitOptions, FormatError};
use crate::sops::tree::{Node, Scalar, Tree};

/// Parses YAML bytes into one mapping per document (SOPS.md §8.2 "Parsing").
pub fn parse(input: &[u8]) -> Result<Tree, FormatError> {
    parse::parse(input)
}

/// Emits a tree as sops writes it, `opts.yaml_indent` spaces per level (SOPS.md §8.2 "Emitting").
pub fn emit(tree: &Tree, opts: &EmitOptions) -> Result<Vec<u8>, FormatError> {
    Ok(emit::emit(tree, opts.yaml_indent))
}

/// How `sops decrypt --extract` prints one scalar with YAML output: non-strings as a YAML
/// document (`1\n`, `true\n`, `1e+10\n`), strings raw without a newline (as sops does).
pub fn emit_scalar(s: &Scalar) -> Vec<u8> {
    emit::emit_scalar(s)
}

/// How `sops decrypt --extract` prints any node with YAML output (collections as their own
/// document, e.g. `- 1\n- 2\n`), `opts.yaml_indent` spaces per level.
pub fn emit_node(node: &Node, opts: &EmitOptions) -> Vec<u8> {
    emit::emit_node(node, opts.yaml_indent)
}

/// Whether the fast reader for plain block YAML (`fast.rs`) agrees with libyaml on `input`:
/// `Ok(true)` if it read the input and its events equal libyaml's, `Ok(false)` if it left the
/// input to libyaml, `Err` describing the first difference otherwise (never a value, which may
/// differ in content only). For the tests and `fuzz/fuzz_targets/yaml_fast.rs`; never called by
/// the tool.
#[doc(hidden)]
pub fn fast_path_agrees(input: &[u8]) -> Result<bool, String> {
    let Ok(text) = std::str::from_utf8(input) else {
        return Ok(false);
    };
    let Some(fast) = fast::events(text) else {
        return Ok(false);
    };
    let mut slow = Vec::new();
    parse::libyaml_events(input, |ev| {
        slow.push(ev);
        Ok(())
    })
    .map_err(|e| format!("fast reader accepted what libyaml rejects: {e}"))?;
    if let Some(i) = (0..fast.len().max(slow.len())).find(|&i| fast.get(i) != slow.get(i)) {
        let (f, l) = (describe(fast.get(i)), describe(slow.get(i)));
        let what = if f == l {
            " (in the scalar's value)"
        } else {
            ""
        };
        return Err(format!(
            "event {i} differs{what}:\n fast:    {f}\n libyaml: {l}"
        ));
    }
    Ok(true)
}

/// An event without its scalar's value (which may be a secret): kind, style, value length,
/// whether it has an anchor or tag, and its marks.
fn describe(ev: Option<&parse::Ev>) -> String {
    use parse::EvKind as K;
    let Some(ev) = ev else {
        return "(none)".into();
    };
    let kind = match &ev.kind {
        K::DocumentStart => "DocumentStart".to_string(),
        K::Alias { .. } => "Alias".to_string(),
        K::Scalar {
            anchor,
            tag,
            value,
            style,
        } => format!(
            "Scalar {style:?}, {} bytes, anchor {}, tag {}",
            value.len(),
            anchor.is_some(),
            tag.is_some()
        ),
        K::SequenceStart { anchor, flow } => {
            format!("SequenceStart flow {flow}, anchor {}", anchor.is_some())
        }
        K::MappingStart { anchor, flow } => {
            format!("MappingStart flow {flow}, anchor {}", anchor.is_some())
        }
        K::SequenceEnd => "SequenceEnd".to_string(),
        K::MappingEnd => "MappingEnd".to_string(),
    };
    format!("{kind} at {}..{} (line {})", ev.start, ev.end, ev.line + 1)
}

#[cfg(test)]
mod tests;
