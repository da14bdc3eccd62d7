//! `adopt`: scan, plan (`crate::onboard::adopt`), print the plan, and apply it only once
//! confirmed (`--yes`, or a prompt on a terminal; refused otherwise).

use super::Ctx;
use crate::cli::AdoptArgs;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::onboard::adopt::{self, AdoptError, AdoptOptions, AdoptPlan, Origin};
use crate::sealed::UnsealingKeys;
use crate::sops::rules::SopsConfig;
use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

fn err(e: AdoptError) -> Error {
    match e {
        AdoptError::Plan(m) => Error::Usage(m),
        AdoptError::Io { path, msg } => Error::Usage(format!("{}: {msg}", path.display())),
    }
}

/// Files git tracks below `root` (empty outside a git checkout).
fn tracked(root: &Path) -> BTreeSet<PathBuf> {
    std::process::Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["ls-files", "-z", "--cached"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| {
            o.stdout
                .split(|b| *b == 0)
                .filter(|s| !s.is_empty())
                .map(|s| PathBuf::from(String::from_utf8_lossy(s).into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

pub fn run(ctx: &Ctx, a: AdoptArgs) -> Result<()> {
    let cwd = std::env::current_dir().map_err(|e| Error::io(".", e))?;
    let config = Config::find(&cwd, ctx.config.as_deref()).map_err(|e| {
        Error::Usage(format!(
            "{e}\n(adopt needs the config: `overworld-secrets init --cluster {}` creates it and leaves an existing .sops.yaml alone)",
            a.cluster
        ))
    })?;
    let cluster = config
        .select(Some(&a.cluster))
        .map_err(|e| Error::Usage(e.to_string()))?[0];
    let mut warnings = Vec::new();
    let sops = SopsConfig::find(&config.root, ctx.sops_config.as_deref(), &mut warnings)
        .map_err(|e| Error::Usage(format!("error loading .sops.yaml: {e}")))?
        .ok_or_else(|| {
            Error::Usage(format!(
                "no .sops.yaml in {} or above: create one with your age recipients (overworld-secrets init prints the rule)",
                config.root.display()
            ))
        })?;
    for w in warnings {
        ctx.printer.warn(&w);
    }
    let sops_text = std::fs::read_to_string(&sops.path).map_err(|e| Error::io(&sops.path, e))?;
    let config_text =
        std::fs::read_to_string(&config.path).map_err(|e| Error::io(&config.path, e))?;
    let keys = match &a.sealing_key {
        None => None,
        Some(f) => {
            let bytes = zeroize::Zeroizing::new(std::fs::read(f).map_err(|e| Error::io(f, e))?);
            let k = UnsealingKeys::load(&bytes)
                .map_err(|e| Error::Usage(format!("{}: {e}", f.display())))?;
            Some(k)
        }
    };
    let tracked = tracked(&config.root);
    // What this tool already manages is not "existing secrets".
    let exclude: Vec<PathBuf> = config
        .clusters
        .values()
        .flat_map(|c| [c.sources.clone(), c.sealed.clone()])
        .collect();
    let inv = adopt::scan(&config.root, &exclude);
    let plan = adopt::plan(
        &inv,
        &AdoptOptions {
            config: &config,
            cluster,
            sops: &sops,
            sops_text: &sops_text,
            config_text: &config_text,
            keys: keys.as_ref(),
            move_to_standard: a.move_to_standard,
            tracked: &tracked,
        },
    )
    .map_err(err)?;
    let text = render(&plan, &config, a.delete_plaintext, a.sealing_key.is_some());
    crate::output::stdout_write(text.as_bytes())?;
    if a.dry_run {
        ctx.printer.info("dry run: nothing was changed");
        return Ok(());
    }
    if !plan.changes_anything() && !a.delete_plaintext {
        ctx.printer.info("nothing to adopt");
        return Ok(());
    }
    if !a.yes {
        if !std::io::stdin().is_terminal() {
            return Err(Error::Usage(
                "not applying the plan: confirm with --yes (no terminal to ask on), or review it with --dry-run".into(),
            ));
        }
        eprint!("Apply this plan? [y/N] ");
        let mut answer = String::new();
        std::io::stdin()
            .read_line(&mut answer)
            .map_err(|e| Error::io("<stdin>", e))?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            return Err(Error::Usage("not confirmed: nothing was changed".into()));
        }
    }
    let written = adopt::apply(&plan, &config.root, a.delete_plaintext).map_err(err)?;
    for w in &written {
        ctx.printer.detail(&format!(
            "wrote {}",
            config.display_path(&config.root.join(w))
        ));
    }
    ctx.printer.info(&format!(
        "adopted {} Secret(s) into {}; next: overworld-secrets reseal --cluster {}",
        plan.sources.len(),
        config.display_path(&cluster.sources),
        cluster.name
    ));
    if a.delete_plaintext && !plan.deletable_plaintext.is_empty() {
        ctx.printer.info(&format!(
            "deleted {} plaintext file(s)",
            plan.deletable_plaintext.len()
        ));
    }
    Ok(())
}

/// The plan as people read it (stdout: it is the command's output, also with --dry-run).
pub fn render(plan: &AdoptPlan, config: &Config, delete: bool, have_key: bool) -> String {
    let mut s = format!("adopt plan for cluster {}:\n", plan.cluster);
    let section = |s: &mut String, title: &str, lines: &[String]| {
        if !lines.is_empty() {
            s.push_str(&format!("\n{title}:\n"));
            for l in lines {
                s.push_str(&format!("  {l}\n"));
            }
        }
    };
    let sources: Vec<String> = plan
        .sources
        .iter()
        .map(|n| {
            let from = match &n.origin {
                Origin::Plaintext(f) => format!("from plaintext {}", f.display()),
                Origin::Unsealed(f) => format!("unsealed from {}", f.display()),
            };
            let to = match (&n.replaces, plan.sealed_paths.get(&n.key)) {
                (Some(r), Some(_)) => format!("; reseal writes {}", r.display()),
                (Some(r), None) => format!("; replaces {} (moved, see below)", r.display()),
                (None, _) => String::new(),
            };
            format!("{} ({}) {from}{to}", n.file.display(), n.key)
        })
        .collect();
    section(&mut s, "new SOPS sources", &sources);
    let already: Vec<String> = plan
        .already
        .iter()
        .map(|f| format!("{} exists: left alone", f.display()))
        .collect();
    section(&mut s, "already adopted", &already);
    if let Some((path, _)) = &plan.sops_yaml {
        let rule = plan.sops_rule_note.clone().unwrap_or_default();
        s.push_str(&format!(
            "\n{}: add as the first creation rule:\n{rule}",
            config.display_path(path)
        ));
    }
    if plan.config_text.is_some() {
        let lines: Vec<String> = plan
            .sealed_paths
            .iter()
            .map(|(k, v)| format!("{k} → {v}"))
            .collect();
        section(
            &mut s,
            &format!(
                "{}: clusters.{}.sealed_paths (reseal keeps writing the files the kustomizations reference)",
                crate::config::FILE_NAME,
                plan.cluster
            ),
            &lines,
        );
    }
    section(
        &mut s,
        "kustomization entries to update",
        &plan.kustomization_updates,
    );
    let sealed_only: Vec<String> = plan
        .sealed_only
        .iter()
        .map(|(f, k)| format!("{k} in {}: sealed only, source missing", f.display()))
        .collect();
    section(
        &mut s,
        if have_key {
            "sealed only (left unchanged)"
        } else {
            "sealed only, source missing (left unchanged; --sealing-key recovers them)"
        },
        &sealed_only,
    );
    let plain: Vec<String> = plan
        .deletable_plaintext
        .iter()
        .map(|f| {
            let tracked = if plan.tracked_plaintext.contains(f) {
                " (tracked by git: its values are in the history — rotate them)"
            } else {
                ""
            };
            format!("{}{tracked}", f.display())
        })
        .collect();
    section(
        &mut s,
        if delete {
            "plaintext files to delete (--delete-plaintext)"
        } else {
            "plaintext files that can be deleted once applied (--delete-plaintext deletes them)"
        },
        &plain,
    );
    let es: Vec<String> = plan
        .external_secrets
        .iter()
        .map(|e| {
            format!(
                "{}/{} in {}",
                e.namespace.as_deref().unwrap_or("-"),
                e.name,
                e.file.display()
            )
        })
        .collect();
    section(
        &mut s,
        "hand-written ExternalSecrets (import into workloads: with `overworld-secrets external-secrets import`; adopt leaves them as they are)",
        &es,
    );
    section(&mut s, "notes", &plan.notes);
    if !plan.changes_anything() {
        s.push_str("\nnothing to change\n");
    }
    s
}
