//! The five SOPS stores (SOPS.md §8): each turns file bytes into a [`Tree`] and back.
//!
//! Stores know nothing of encryption or of the `sops` metadata block: they parse and emit trees
//! exactly as sops's stores do, byte for byte. Where the metadata lives in each format (a `sops`
//! key, `sops_*` lines, a `[sops]` section) is the engine's business (`sops::metadata`).
//! Errors never carry a value from the file: a line number and what was wrong, nothing more.

pub mod binary;
pub mod dotenv;
pub mod ini;
pub mod json;
pub mod yaml;

use super::tree::Tree;
use std::path::Path;

/// Which store reads/writes a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    Yaml,
    Json,
    Dotenv,
    Ini,
    Binary,
}

impl Format {
    /// By file name suffix, case-sensitive, anything else binary (SOPS.md §8.1).
    pub fn from_path(path: &Path) -> Format {
        let name = path.to_string_lossy();
        if name.ends_with(".yaml") || name.ends_with(".yml") {
            Format::Yaml
        } else if name.ends_with(".json") {
            Format::Json
        } else if name.ends_with(".env") {
            Format::Dotenv
        } else if name.ends_with(".ini") {
            Format::Ini
        } else {
            Format::Binary
        }
    }

    /// The `--input-type`/`--output-type` names.
    pub fn from_name(name: &str) -> Option<Format> {
        Some(match name {
            "yaml" => Format::Yaml,
            "json" => Format::Json,
            "dotenv" => Format::Dotenv,
            "ini" => Format::Ini,
            "binary" => Format::Binary,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Yaml => "yaml",
            Format::Json => "json",
            Format::Dotenv => "dotenv",
            Format::Ini => "ini",
            Format::Binary => "binary",
        }
    }
}

/// Output layout knobs from `.sops.yaml` `stores:` (SOPS.md §9.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EmitOptions {
    /// YAML indentation (default 4).
    pub yaml_indent: usize,
    /// JSON indentation: `None` = one tab per level (the default), `Some(n)` = n spaces
    /// (`Some(0)` = newlines without indentation).
    pub json_indent: Option<usize>,
}

impl Default for EmitOptions {
    fn default() -> Self {
        EmitOptions {
            yaml_indent: 4,
            json_indent: None,
        }
    }
}

/// Why a store could not read or write a file. Carries positions, never content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// Malformed input (`Error unmarshalling file: …`, sops exit 2).
    #[error("{message}{}", line.map(|l| format!(" (line {l})")).unwrap_or_default())]
    Syntax {
        message: String,
        line: Option<usize>,
    },
    /// The file holds no document at all (sops exit 92).
    #[error("File cannot be completely empty, it must contain at least one document")]
    Empty,
    /// A tree sops cannot walk: non-string key, unsigned 64-bit int (sops exit 23).
    #[error("{0}")]
    Unsupported(String),
    /// The tree cannot be written in this format (e.g. NaN in JSON, no `data` for binary; sops exit 4).
    #[error("{0}")]
    Emit(String),
}

impl FormatError {
    pub fn syntax(message: impl Into<String>, line: Option<usize>) -> Self {
        FormatError::Syntax {
            message: message.into(),
            line,
        }
    }
}

/// Parses plaintext-or-encrypted file bytes of `format` into a tree (the `sops` metadata, when
/// present, is still in the tree as the store found it).
pub fn parse(format: Format, input: &[u8]) -> Result<Tree, FormatError> {
    match format {
        Format::Yaml => yaml::parse(input),
        Format::Json => json::parse(input),
        Format::Dotenv => dotenv::parse(input),
        Format::Ini => ini::parse(input),
        Format::Binary => binary::parse(input),
    }
}

/// Emits a tree in `format`, byte-compatible with what sops writes.
pub fn emit(format: Format, tree: &Tree, opts: &EmitOptions) -> Result<Vec<u8>, FormatError> {
    match format {
        Format::Yaml => yaml::emit(tree, opts),
        Format::Json => json::emit(tree, opts),
        Format::Dotenv => dotenv::emit(tree),
        Format::Ini => ini::emit(tree),
        Format::Binary => binary::emit(tree),
    }
}
