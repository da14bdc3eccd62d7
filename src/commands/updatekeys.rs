//! `updatekeys`: re-wrap each file's data key to the recipients `.sops.yaml` demands now, for
//! single files or every SOPS file under a folder (SOPS.md §10; sops#1071). Shows per file what is
//! added and removed, asks once for everything (or `--yes`), and leaves values, `mac`,
//! `lastmodified` and `version` untouched. Key-group and `shamir_threshold` changes take effect
//! with new shares (sops#810: sops ignores them).
//!
//! Must never change a value, write a file that is already up to date, or proceed without
//! confirmation when it cannot ask.

use super::Ctx;
use crate::cli::UpdatekeysArgs;
use crate::error::{Error, Result};
use crate::sops::engine::{self, EncryptedFile};
use crate::sops::format::Format;
use crate::sops::keys::{self, Identities};
use crate::sops::lifecycle::{self, KeysPlan};
use crate::sops::metadata::Selection;
use crate::sops::rules::{CreationRule, SopsConfig};
use crate::sops::SopsError;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

/// Every regular file under `dir`, sorted, skipping hidden entries (`.git`, `.sops.yaml`).
fn files_under(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok())
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        if e.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let p = e.path();
        let ft = e.file_type().map_err(|err| Error::io(&p, err))?;
        if ft.is_dir() {
            files_under(&p, out)?;
        } else if ft.is_file() {
            out.push(p);
        }
    }
    Ok(())
}

struct Pending {
    path: PathBuf,
    format: Format,
    file: EncryptedFile,
    rule: CreationRule,
    plan: KeysPlan,
}

fn format_of(path: &Path, input_type: &Option<String>) -> Result<Format> {
    match input_type {
        Some(t) => Format::from_name(t).ok_or_else(|| {
            Error::Usage(format!(
                "unknown store type {t:?}: use yaml, json, dotenv, ini or binary"
            ))
        }),
        None => Ok(Format::from_path(path)),
    }
}

/// Loads and plans one file. In folder mode (`explicit == false`) files that are not SOPS files
/// or that no rule matches are skipped silently.
fn plan_file(
    ctx: &Ctx,
    cfg: &SopsConfig,
    path: &Path,
    a: &UpdatekeysArgs,
    explicit: bool,
) -> Result<Option<Pending>> {
    let fail = |e: SopsError| Error::sops(path, e);
    if explicit && !path.exists() {
        return Err(fail(SopsError::NoSuchFile(path.to_path_buf())));
    }
    let format = format_of(path, &a.input_type)?;
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if !explicit && !matches!(engine::is_encrypted(format, &bytes), Ok(true)) {
        return Ok(None);
    }
    let rule = match cfg.rule_for(path) {
        Ok(r) => r,
        Err(_) if !explicit => return Ok(None),
        Err(e) => return Err(fail(SopsError::Config(e.to_string()))),
    };
    let file = engine::load(format, &bytes).map_err(fail)?;
    let plan = lifecycle::plan_keys(&file.metadata, &rule, a.shamir_threshold);
    // Keys are all updatekeys changes; which values are encrypted is fixed at encryption time.
    let wanted = rule
        .selection
        .clone()
        .unwrap_or_else(Selection::default_rule);
    if format != Format::Binary
        && (file.metadata.selection.as_ref() != Some(&wanted)
            || file.metadata.mac_only_encrypted != rule.mac_only_encrypted)
    {
        ctx.printer.warn(&format!(
            "{}: creation rule {} selects values differently ({} / mac_only_encrypted) than the file; updatekeys changes only keys: decrypt and re-encrypt the file to apply it",
            path.display(),
            rule.index,
            wanted.field()
        ));
    }
    Ok(Some(Pending {
        path: path.to_path_buf(),
        format,
        file,
        rule,
        plan,
    }))
}

fn confirm() -> Result<bool> {
    if !std::io::stdin().is_terminal() {
        return Err(Error::Usage(
            "updatekeys needs confirmation but stdin is not a terminal: pass --yes to apply the changes above".into(),
        ));
    }
    print!("Is this okay? (y/n):");
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Error::io("<stdin>", e))?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes"))
}

fn apply(ctx: &Ctx, cfg: &SopsConfig, ids: &Identities, p: &Pending) -> Result<()> {
    let fail = |e: SopsError| Error::sops(&p.path, e);
    let key = keys::recover_data_key(&p.file.metadata, ids)
        .map_err(|e| fail(SopsError::NoDataKey(e.report)))?;
    let groups = lifecycle::rewrap(&p.file.metadata, &p.rule, &p.plan, &key, false)
        .map_err(|e| fail(SopsError::Keys(e.to_string())))?;
    let mut file = p.file.clone();
    file.metadata.key_groups = groups;
    file.metadata.shamir_threshold = p.plan.new_threshold;
    let bytes = engine::emit_encrypted(&file, &cfg.emit_for(p.format)).map_err(fail)?;
    super::set::write_back(&p.path, &bytes)?;
    ctx.printer
        .info(&format!("File {} synced with new keys", p.path.display()));
    Ok(())
}

pub fn run(ctx: &Ctx, a: UpdatekeysArgs) -> Result<()> {
    let cfg = ctx
        .sops_config()?
        .filter(|c| c.has_creation_rules())
        .ok_or_else(|| {
            Error::sops(
                ".sops.yaml",
                SopsError::Config(
                    "config file not found, or has no creation rules; updatekeys needs a .sops.yaml"
                        .into(),
                ),
            )
        })?;
    let mut pending = Vec::new();
    let mut failures: Vec<Error> = Vec::new();
    for root in &a.paths {
        let (files, explicit) = if root.is_dir() {
            let mut v = Vec::new();
            files_under(root, &mut v)?;
            (v, false)
        } else {
            (vec![root.clone()], true)
        };
        for f in files {
            match plan_file(ctx, &cfg, &f, &a, explicit) {
                Ok(Some(p)) if p.plan.is_up_to_date() => ctx
                    .printer
                    .info(&format!("File {} already up to date", f.display())),
                Ok(Some(p)) => pending.push(p),
                Ok(None) => ctx.printer.detail(&format!(
                    "{}: not a SOPS file matched by a creation rule; skipped",
                    f.display()
                )),
                Err(e) => failures.push(e),
            }
        }
    }
    if !pending.is_empty() {
        let mut out = String::new();
        for p in &pending {
            out.push_str(&format!(
                "The following changes will be made to the file's groups ({}):\n{}",
                p.path.display(),
                p.plan.render()
            ));
        }
        crate::output::stdout_write(out.as_bytes())?;
        if !a.yes && !confirm()? {
            ctx.printer.info("Changes aborted; no file was written.");
            return finish(ctx, failures);
        }
        let ids = super::load_identities(ctx).map_err(|e| Error::sops(".", SopsError::Keys(e)))?;
        for p in &pending {
            if let Err(e) = apply(ctx, &cfg, &ids, p) {
                failures.push(e);
            }
        }
    }
    finish(ctx, failures)
}

/// One failure keeps its own (sops) exit code; several are summed up with exit 1.
fn finish(ctx: &Ctx, mut failures: Vec<Error>) -> Result<()> {
    match failures.len() {
        0 => Ok(()),
        1 => Err(failures.remove(0)),
        n => {
            for e in &failures {
                ctx.printer.error(&e.to_string());
            }
            Err(Error::Findings(format!("failed updating {n} file(s)")))
        }
    }
}
