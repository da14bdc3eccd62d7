//! The three report formats: a readable report grouped by file, JSON for tools, and GitHub
//! workflow annotations (`::error file=…,line=…::…`).

use super::{Report, Severity};
use std::fmt::Write as _;

pub fn human(r: &Report) -> String {
    let mut out = String::new();
    let mut current: Option<&std::path::Path> = None;
    for f in &r.findings {
        if current != Some(f.file.as_path()) {
            let _ = writeln!(out, "{}", f.file.display());
            current = Some(f.file.as_path());
        }
        let sev = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Notice => "note",
        };
        let line = f.line.map(|l| format!(":{l}")).unwrap_or_default();
        let _ = writeln!(out, "  {sev}{line} [{}] {}", f.code, f.message);
    }
    let warnings = r
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Warning)
        .count();
    let _ = writeln!(
        out,
        "{} SOPS file(s) checked, {} decrypted and MAC-verified; {} file(s) scanned for leaks; {} error(s), {} warning(s)",
        r.sops_files,
        r.decrypted,
        r.files_scanned,
        r.errors(),
        warnings
    );
    if let Some(why) = &r.decrypt_skipped {
        let _ = writeln!(out, "decrypt skipped: {why}");
    }
    out
}

pub fn json(r: &Report) -> String {
    let mut s = serde_json::to_string_pretty(r).expect("report serialises");
    s.push('\n');
    s
}

/// GitHub Actions workflow commands; `%`, CR and LF are escaped as the runner requires.
pub fn github(r: &Report) -> String {
    fn esc(s: &str, prop: bool) -> String {
        let mut o = s
            .replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A");
        if prop {
            o = o.replace(':', "%3A").replace(',', "%2C");
        }
        o
    }
    let mut out = String::new();
    for f in &r.findings {
        let cmd = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Notice => "notice",
        };
        let mut props = format!("file={}", esc(&f.file.to_string_lossy(), true));
        if let Some(l) = f.line {
            let _ = write!(props, ",line={l}");
        }
        let _ = write!(props, ",title={}", esc(f.code, true));
        let _ = writeln!(out, "::{cmd} {props}::{}", esc(&f.message, false));
    }
    if let Some(why) = &r.decrypt_skipped {
        let _ = writeln!(out, "::notice title=decrypt skipped::{}", esc(why, false));
    }
    out
}
