//! The yaml store (SOPS.md §8). Placeholder until the store lands.

use super::{EmitOptions, FormatError};
use crate::sops::tree::Tree;

pub fn parse(_input: &[u8]) -> Result<Tree, FormatError> {
    Err(FormatError::Unsupported(
        "the yaml store is not implemented yet".into(),
    ))
}

pub fn emit(_tree: &Tree, _opts: &EmitOptions) -> Result<Vec<u8>, FormatError> {
    Err(FormatError::Emit(
        "the yaml store is not implemented yet".into(),
    ))
}
