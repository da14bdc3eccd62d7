//! The one printer: data to stdout, everything for people to stderr; knows `--quiet`,
//! `--verbose`, `--json`, `NO_COLOR`, and hides progress bars when stderr is not a terminal or in
//! CI. Nothing passed here may contain a secret value — callers pass names and paths only.

use std::io::{IsTerminal, Write};

#[derive(Debug, Clone)]
pub struct Printer {
    pub quiet: bool,
    pub verbose: u8,
    pub json: bool,
    color: bool,
    progress: bool,
}

impl Printer {
    pub fn new(quiet: bool, verbose: u8, json: bool, no_color: bool) -> Self {
        let stderr_tty = std::io::stderr().is_terminal();
        let ci = std::env::var_os("CI").is_some();
        let color = stderr_tty && !no_color && std::env::var_os("NO_COLOR").is_none();
        Printer {
            quiet,
            verbose,
            json,
            color,
            progress: stderr_tty && !ci && !quiet && !json,
        }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    /// An error line: `error: …`, always shown.
    pub fn error(&self, msg: &str) {
        eprintln!("{} {msg}", self.paint("1;31", "error:"));
    }

    /// A warning, shown unless `--quiet`.
    pub fn warn(&self, msg: &str) {
        if !self.quiet {
            eprintln!("{} {msg}", self.paint("1;33", "warning:"));
        }
    }

    /// A hint following an error: what to do about it.
    pub fn hint(&self, msg: &str) {
        eprintln!("{} {msg}", self.paint("1;36", "hint:"));
    }

    /// Progress/status text for people, unless `--quiet` or `--json`.
    pub fn info(&self, msg: &str) {
        if !self.quiet && !self.json {
            eprintln!("{msg}");
        }
    }

    /// Detail shown with `-v`.
    pub fn detail(&self, msg: &str) {
        if self.verbose > 0 && !self.quiet {
            eprintln!("{msg}");
        }
    }

    /// A progress bar on a terminal; a hidden one otherwise (CI stays quiet).
    pub fn progress(&self, len: u64, what: &str) -> indicatif::ProgressBar {
        if !self.progress {
            return indicatif::ProgressBar::hidden();
        }
        let pb = indicatif::ProgressBar::new(len);
        pb.set_style(
            indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len}")
                .expect("static template")
                .progress_chars("=> "),
        );
        pb.set_message(what.to_string());
        pb
    }
}

/// Writes data to stdout. A closed pipe (`… | head`) is reported as `BrokenPipe` so the caller can
/// end quietly with success.
pub fn stdout_write(bytes: &[u8]) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()
}
