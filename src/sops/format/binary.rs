//! The binary store (SOPS.md §8). Placeholder until the store lands.

use super::FormatError;
use crate::sops::tree::Tree;

pub fn parse(_input: &[u8]) -> Result<Tree, FormatError> {
    Err(FormatError::Unsupported(
        "the binary store is not implemented yet".into(),
    ))
}

pub fn emit(_tree: &Tree) -> Result<Vec<u8>, FormatError> {
    Err(FormatError::Emit(
        "the binary store is not implemented yet".into(),
    ))
}
