//! `check`: the CI decrypt check for a repository's secrets side (issue 6).
//!
//! Findings name a file (and a line where there is one) and what to do; they never carry a secret
//! value. The check also works in a repository that has only a `.sops.yaml`.

pub mod files;
pub mod leaks;
pub mod render;
pub mod sops_files;

use serde::Serialize;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Notice,
}

/// One thing `check` found.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// Path relative to the repository root.
    pub file: PathBuf,
    pub line: Option<usize>,
    pub severity: Severity,
    /// A stable identifier (`sops.not-encrypted`, `leak.age-key`, …) for tools and suppression.
    pub code: &'static str,
    pub message: String,
}

impl Finding {
    pub fn error(file: impl Into<PathBuf>, code: &'static str, message: impl Into<String>) -> Self {
        Finding {
            file: file.into(),
            line: None,
            severity: Severity::Error,
            code,
            message: message.into(),
        }
    }
    pub fn warning(
        file: impl Into<PathBuf>,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Finding {
            severity: Severity::Warning,
            ..Finding::error(file, code, message)
        }
    }
    pub fn notice(
        file: impl Into<PathBuf>,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Finding {
            severity: Severity::Notice,
            ..Finding::error(file, code, message)
        }
    }
    pub fn at(mut self, line: usize) -> Self {
        self.line = Some(line);
        self
    }
}

/// The outcome of a check run.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub findings: Vec<Finding>,
    /// SOPS files examined.
    pub sops_files: usize,
    /// SOPS files whose values were decrypted and MAC-verified.
    pub decrypted: usize,
    /// Why decryption was skipped, if it was.
    pub decrypt_skipped: Option<String>,
    pub files_scanned: usize,
}

impl Report {
    pub fn errors(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count()
    }
    pub fn sort(&mut self) {
        self.findings.sort_by(|a, b| {
            (&a.file, a.line, a.severity, a.code).cmp(&(&b.file, b.line, b.severity, b.code))
        });
    }
}
