//! The YAML store (SOPS.md §8.2): parses and emits YAML byte-compatibly with sops 3.11, which
//! reads and writes through go-yaml v3.
//!
//! It exists so that a file we write is the file sops would have written — same quoting, same
//! indentation, same comment placement — and so that we read every file sops reads with the same
//! types. It must never put a scalar's value into an error, a log line or a `Debug` string, and
//! never drop a comment (comments are tree entries the engine may encrypt, SOPS.md §4).

mod emit;
mod parse;
mod resolve;

use super::{EmitOptions, FormatError};
use crate::sops::tree::{Scalar, Tree};

/// Parses YAML bytes into one mapping per document (SOPS.md §8.2 "Parsing").
pub fn parse(input: &[u8]) -> Result<Tree, FormatError> {
    parse::parse(input)
}

/// Emits a tree as sops writes it, `opts.yaml_indent` spaces per level (SOPS.md §8.2 "Emitting").
pub fn emit(tree: &Tree, opts: &EmitOptions) -> Result<Vec<u8>, FormatError> {
    Ok(emit::emit(tree, opts.yaml_indent))
}

/// How `sops decrypt --extract` prints one non-collection value in YAML (`1\n`, `true\n`).
pub fn emit_scalar(s: &Scalar) -> Vec<u8> {
    emit::emit_scalar(s)
}

#[cfg(test)]
mod tests;
