//! `edit`: decrypt a SOPS file into a private temp file, open the user's editor, and re-encrypt
//! what was saved with the same data key, re-using the IVs of unchanged values so a git diff shows
//! only what changed (SOPS.md §10 `edit`, §2.6). A file that does not exist yet is created from
//! the matching `.sops.yaml` rule, starting from an example document.
//!
//! The plaintext exists only in a 0600 file inside a 0700 temp dir, which is removed on every exit
//! path: success, unchanged, invalid input, editor failure, Ctrl-C, SIGTERM, SIGHUP. It must never
//! write anything to the target unless the edited document parsed and encrypted completely.

use super::exec::{catch_signals, private_dir, take_signal, wait_child, write_private};
use super::set::{open, reencrypt, settings_of, write_back};
use super::{formats, Ctx};
use crate::cli::EditArgs;
use crate::error::{Error, Result};
use crate::sops::engine::{self, EncryptParams};
use crate::sops::format::{self, Format};
use crate::sops::metadata;
use crate::sops::tree::Tree;
use crate::sops::SopsError;
use sha2::{Digest, Sha256};
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

/// The editor command: `$SOPS_EDITOR`, else `$EDITOR` (both shell-split), else the first of
/// vim, nano, vi on `PATH` (SOPS.md §10).
fn editor() -> Result<Vec<String>> {
    for var in ["SOPS_EDITOR", "EDITOR"] {
        if let Some(v) = std::env::var(var).ok().filter(|v| !v.trim().is_empty()) {
            let argv = shell_words::split(&v)
                .map_err(|e| Error::Usage(format!("cannot split ${var}: {e}")))?;
            if !argv.is_empty() {
                return Ok(argv);
            }
        }
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in ["vim", "nano", "vi"] {
        if std::env::split_paths(&path).any(|d| d.join(name).is_file()) {
            return Ok(vec![name.to_string()]);
        }
    }
    Err(Error::sops(
        "edit",
        SopsError::NoEditor(
            "no editor available: set SOPS_EDITOR or EDITOR, or install vim, nano or vi".into(),
        ),
    ))
}

/// What a new file starts with, per store (sops starts from a built-in example too).
fn example(format: Format) -> &'static [u8] {
    match format {
        Format::Yaml => b"# New SOPS file: replace this example with your secrets.\nexample_key: example_value\nexample_list:\n    - example_value1\n    - example_value2\n",
        Format::Json => b"{\n\t\"example_key\": \"example_value\"\n}\n",
        Format::Dotenv => b"example_key=example_value\n",
        Format::Ini => b"[example]\nexample_key = example_value\n",
        Format::Binary => b"",
    }
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Asks on the terminal whether to re-open the editor; false when not interactive.
fn ask_reopen(ctx: &Ctx, problem: &str) -> bool {
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return false;
    }
    ctx.printer.error(problem);
    eprint!("Re-open the editor to fix it? (y/n): ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).is_err() {
        return false;
    }
    let yes = matches!(line.trim(), "y" | "Y" | "yes");
    if !yes {
        ctx.printer.info("Not saved; the file is unchanged.");
    }
    yes
}

/// Runs the editor on `path` until it saves a document that parses; returns the tree, or
/// `None` if the bytes did not change.
fn edit_loop(ctx: &Ctx, name: &Path, path: &Path, format: Format) -> Result<Option<Tree>> {
    let argv = editor()?;
    let before = digest(&std::fs::read(path).map_err(|e| Error::io(path, e))?);
    loop {
        let mut cmd = std::process::Command::new(&argv[0]);
        cmd.args(&argv[1..]).arg(path);
        let mut child = cmd.spawn().map_err(|e| {
            Error::sops(
                name,
                SopsError::NoEditor(format!("could not run the editor {}: {e}", argv[0])),
            )
        })?;
        let status =
            wait_child(&mut child).map_err(|sig| Error::sops(name, SopsError::Interrupted(sig)))?;
        if !status.success() {
            return Err(Error::sops(
                name,
                SopsError::Edit(format!(
                    "the editor exited with {status}; nothing was written"
                )),
            ));
        }
        let bytes = zeroize::Zeroizing::new(std::fs::read(path).map_err(|e| Error::io(path, e))?);
        if digest(&bytes) == before {
            return Ok(None);
        }
        let problem = match format::parse(format, &bytes) {
            Ok(tree) if metadata::has_metadata(format, &tree) => {
                "the document has a top-level 'sops' entry (or sops_ keys), which is reserved for the metadata".to_string()
            }
            Ok(tree) => return Ok(Some(tree)),
            Err(e) => format!("the edited file is not valid {}: {e}", format.name()),
        };
        if !ask_reopen(ctx, &format!("{}: {problem}", name.display())) {
            return Err(Error::sops(
                name,
                SopsError::Edit(format!("{problem}; nothing was written")),
            ));
        }
    }
}

pub fn run(ctx: &Ctx, a: EditArgs) -> Result<()> {
    let (format, _) = formats(&a.file, &a.store)?;
    let file_name = a
        .file
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "file".into());
    // From here on a Ctrl-C/SIGTERM/SIGHUP only sets a flag, so the temp dir is always removed.
    catch_signals();
    let interrupted = |name: &Path| match take_signal() {
        Some(sig) => Err(Error::sops(name, SopsError::Interrupted(sig))),
        None => Ok(()),
    };
    if a.file.exists() {
        let o = open(ctx, &a.file, &a.store, a.ignore_mac)?;
        let plain = zeroize::Zeroizing::new(
            engine::emit_plain(&o.dec.tree, format, &o.opts)
                .map_err(|e| Error::sops(&a.file, e))?,
        );
        let dir = private_dir(".overworld-secrets-edit-")?;
        let tmp = dir.path().join(&file_name);
        write_private(&tmp, &plain)?;
        drop(plain);
        let edited = edit_loop(ctx, &a.file, &tmp, format);
        dir.close().map_err(|e| Error::io(&tmp, e))?;
        let Some(tree) = edited? else {
            return Err(Error::sops(&a.file, SopsError::FileUnchanged));
        };
        let bytes = reencrypt(&o, tree, &o.dec.data_key, settings_of(&o.file.metadata))?;
        interrupted(&a.file)?;
        return write_back(&a.file, &bytes);
    }

    // A new file: keys and rules from --age or the matching creation rule (SOPS.md §9.3).
    let fail = |e: SopsError| Error::sops(&a.file, e);
    let config = ctx.sops_config()?;
    let mut params = EncryptParams::default();
    let flag_age: Option<Vec<String>> = a.age.as_deref().map(|s| {
        s.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    });
    match flag_age {
        Some(r) => params.groups = vec![r],
        None => {
            let cfg = config.as_ref().filter(|c| c.has_creation_rules()).ok_or_else(|| {
                fail(SopsError::Config(
                    "config file not found, or has no creation rules, and no keys provided through command line options".into(),
                ))
            })?;
            let rule = cfg
                .rule_for(&a.file)
                .map_err(|e| fail(SopsError::Config(e.to_string())))?;
            if let Some((ty, _)) = rule.groups.iter().find_map(|g| g.others.first()) {
                return Err(fail(SopsError::Config(format!(
                    "creation rule {} in {} also demands {ty} keys, which overworld-secrets cannot encrypt to; use sops for this file",
                    rule.index,
                    cfg.path.display()
                ))));
            }
            params.groups = rule.groups.iter().map(|g| g.age.clone()).collect();
            params.shamir_threshold = rule.shamir_threshold;
            params.selection = rule.selection.clone();
            params.mac_only_encrypted = rule.mac_only_encrypted;
        }
    }
    let opts = config
        .as_ref()
        .map(|c| c.emit_for(format))
        .unwrap_or_default();
    let dir = private_dir(".overworld-secrets-edit-")?;
    let tmp = dir.path().join(&file_name);
    write_private(&tmp, example(format))?;
    let edited = edit_loop(ctx, &a.file, &tmp, format);
    dir.close().map_err(|e| Error::io(&tmp, e))?;
    let Some(tree) = edited? else {
        return Err(fail(SopsError::FileUnchanged));
    };
    let enc = engine::encrypt(tree, format, &params).map_err(fail)?;
    let bytes = engine::emit_encrypted(&enc, &opts).map_err(fail)?;
    interrupted(&a.file)?;
    write_back(&a.file, &bytes)
}
