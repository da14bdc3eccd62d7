//! `external-secrets [--cluster NAME] [--check]` and `external-secrets import FOLDER`: reads the
//! config, calls `crate::external_secrets`, and writes (or compares) the output folders. Files are
//! written only when their bytes change (`fsutil::write_if_changed`), so a re-run is a no-op; with
//! `--check` nothing is written and stale output is exit 1. Never prints a secret value (there
//! are none here: only key names and paths).

use super::Ctx;
use crate::cli::{ExternalSecretsAction, ExternalSecretsArgs};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::external_secrets::{self as eso, EsoError};

fn usage(e: EsoError) -> Error {
    Error::Usage(e.to_string())
}

fn load_config(explicit: Option<&std::path::Path>) -> Result<Config> {
    let cwd = std::env::current_dir().map_err(|e| Error::io(".", e))?;
    Config::find(&cwd, explicit).map_err(|e| Error::Usage(e.to_string()))
}

pub fn run(ctx: &Ctx, a: ExternalSecretsArgs) -> Result<()> {
    if let Some(ExternalSecretsAction::Import {
        folder,
        infisical_store,
    }) = a.action
    {
        if a.check || a.cluster.is_some() {
            return Err(Error::Usage(
                "--check and --cluster apply to generation, not to `import`".into(),
            ));
        }
        return import(ctx, ctx.config.as_deref(), &folder, infisical_store);
    }
    let config = load_config(ctx.config.as_deref())?;
    let outputs = eso::generate(&config, a.cluster.as_deref()).map_err(usage)?;
    if outputs.is_empty() {
        ctx.printer
            .warn("no cluster has an `external_secrets:` block; nothing to generate");
        return Ok(());
    }
    // Never replace a file someone wrote by hand (e.g. the ExternalSecrets just imported): only
    // files that carry our header are ours. Checked for every file before anything is written.
    let foreign: Vec<String> = outputs
        .iter()
        .flat_map(|o| o.files.iter())
        .filter(|f| {
            std::fs::read(&f.path)
                .is_ok_and(|old| !old.starts_with(eso::generate::HEADER.as_bytes()))
        })
        .map(|f| config.display_path(&f.path).into_owned())
        .collect();
    if !foreign.is_empty() {
        return Err(Error::Usage(format!(
            "these files were not written by overworld-secrets, so they are left alone; move or delete them (after `external-secrets import` if they hold ExternalSecrets) and run again:\n  {}",
            foreign.join("\n  ")
        )));
    }
    // --json: one object per cluster on stdout, {"cluster", "dir", "changed": [...], "stale": [...]}
    // (with --check, "stale" lists what differs and nothing is written).
    let mut report = Vec::new();
    let mut stale = Vec::new();
    for out in &outputs {
        let mut changed = Vec::new();
        let mut out_of_date = Vec::new();
        for f in &out.files {
            let rel = config.display_path(&f.path).into_owned();
            if a.check {
                match std::fs::read(&f.path) {
                    Ok(old) if old == f.bytes => {}
                    Ok(_) => out_of_date.push((rel, "differs")),
                    Err(_) => out_of_date.push((rel, "is missing")),
                }
            } else if crate::fsutil::write_if_changed(&f.path, &f.bytes, None)? {
                ctx.printer.detail(&format!("wrote {rel}"));
                changed.push(rel);
            }
        }
        for p in &out.stale {
            let rel = config.display_path(p).into_owned();
            if a.check {
                out_of_date.push((rel, "is no longer generated"));
            } else {
                std::fs::remove_file(p).map_err(|e| Error::io(p, e))?;
                ctx.printer.detail(&format!("removed {rel}"));
                changed.push(rel);
            }
        }
        if !a.check {
            ctx.printer.info(&format!(
                "cluster {}: {} file(s) in {}, {} changed",
                out.cluster,
                out.files.len(),
                config.display_path(&out.dir),
                changed.len()
            ));
        }
        report.push(serde_json::json!({
            "cluster": out.cluster,
            "dir": config.display_path(&out.dir),
            "changed": changed,
            "stale": out_of_date.iter().map(|(f, _)| f).collect::<Vec<_>>(),
        }));
        stale.extend(out_of_date.into_iter().map(|(f, why)| format!("{f} {why}")));
    }
    if ctx.printer.json {
        let mut text = serde_json::to_string(&report).expect("JSON of strings");
        text.push('\n');
        crate::output::stdout_write(text.as_bytes())?;
    }
    if a.check {
        if !stale.is_empty() {
            return Err(Error::Findings(format!(
                "ExternalSecret manifests are out of date (run `overworld-secrets external-secrets`):\n  {}",
                stale.join("\n  ")
            )));
        }
        ctx.printer.info("ExternalSecret manifests are up to date");
    }
    Ok(())
}

fn import(
    ctx: &Ctx,
    explicit: Option<&std::path::Path>,
    folder: &std::path::Path,
    mut stores: Vec<String>,
) -> Result<()> {
    // The config's Infisical store names, when there is a config; import works without one.
    if let Ok(config) = load_config(explicit) {
        if let Ok(cs) = eso::config::clusters(&config) {
            stores.extend(cs.into_iter().map(|c| c.store));
        }
    }
    if stores.is_empty() {
        stores.push(eso::config::DEFAULT_STORE.into());
    }
    stores.sort();
    stores.dedup();
    let docs = eso::read_folder(folder).map_err(usage)?;
    let w = eso::workloads_from(&docs, &stores).map_err(usage)?;
    let n = w.as_object().map(|m| m.len()).unwrap_or(0);
    crate::output::stdout_write(eso::render_workloads(&w).as_bytes())?;
    ctx.printer.info(&format!(
        "imported {n} ExternalSecret(s) from {}",
        folder.display()
    ));
    Ok(())
}
