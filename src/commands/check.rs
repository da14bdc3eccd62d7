//! `check`: one command that says whether the secrets side of a repository is sound (issue 6).
//! Exit 0 clean, 1 findings (errors; or warnings too with --strict), 2 usage/IO error.

use super::Ctx;
use crate::check::{files, leaks, render, sops_files, Finding, Report};
use crate::cli::{CheckArgs, CheckFormat};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::sops::keys::Identities;
use crate::sops::rules::SopsConfig;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

pub fn run(ctx: &Ctx, a: CheckArgs) -> Result<()> {
    let cwd = std::env::current_dir().map_err(|e| Error::io(".", e))?;
    // The repository is the nearest folder (from the working directory up) holding
    // overworld-secrets.yaml or .sops.yaml: a sops-only repository nested inside another project
    // is checked on its own.
    let nearest_sops_only = ctx.config.is_none()
        && cwd
            .ancestors()
            .find(|d| d.join(crate::config::FILE_NAME).is_file() || d.join(".sops.yaml").is_file())
            .is_some_and(|d| !d.join(crate::config::FILE_NAME).is_file());
    let found = if nearest_sops_only {
        Err(crate::config::ConfigError::NotFound(cwd.clone()))
    } else {
        Config::find(&cwd, ctx.config.as_deref())
    };
    let config = match found {
        Ok(c) => Some(c),
        Err(crate::config::ConfigError::NotFound(_)) => None,
        Err(e) => return Err(Error::Usage(e.to_string())),
    };
    let mut warnings = Vec::new();
    let sops_config = SopsConfig::find(
        config.as_ref().map(|c| c.root.as_path()).unwrap_or(&cwd),
        ctx.sops_config.as_deref(),
        &mut warnings,
    )
    .map_err(|e| Error::Usage(format!("error loading .sops.yaml: {e}")))?;
    let root: PathBuf =
        match (&config, &sops_config) {
            (Some(c), _) => c.root.clone(),
            (None, Some(s)) => s.dir().to_path_buf(),
            (None, None) => return Err(Error::Usage(
                "neither overworld-secrets.yaml nor .sops.yaml found in this folder or its parents"
                    .into(),
            )),
        };
    let rel = |p: &Path| p.strip_prefix(&root).unwrap_or(p).to_path_buf();
    let clusters = match &config {
        Some(c) => c
            .select(a.cluster.as_deref())
            .map_err(|e| Error::Usage(e.to_string()))?,
        None => vec![],
    };

    let all_files = files::list(&root);
    let mut report = Report {
        files_scanned: all_files.len(),
        ..Default::default()
    };
    for w in warnings {
        report
            .findings
            .push(Finding::warning(".sops.yaml", "sops.config", w));
    }

    // Every text file is read once, on every core, for all the checks below. A killed write's
    // temp file (next case) is not read at all.
    let texts = crate::par::map(
        all_files.iter().collect(),
        |f: &PathBuf| -> Option<Zeroizing<String>> {
            if f.file_name().is_some_and(crate::fsutil::is_write_temp) {
                return None;
            }
            read_text(&root.join(f))
        },
    );

    // Leaks: private keys and plaintext Secrets outside the TEST-ONLY places.
    for (f, text) in all_files.iter().zip(&texts) {
        // fsutil::atomic_write's temp file, left beside its target when a run was killed
        // mid-write (the target itself is whole: old or new).
        if f.file_name().is_some_and(crate::fsutil::is_write_temp) {
            report.findings.push(Finding::warning(
                f,
                "stale-temp-file",
                "left by an interrupted overworld-secrets write; it holds (part of) what was being written next to it: delete it",
            ));
            continue;
        }
        let Some(text) = text else {
            continue; // unreadable, binary or over 5 MiB
        };
        if leaks::allowed(f, &a.allow) {
            continue;
        }
        leaks::scan_keys(f, text, &mut report.findings);
        if matches!(
            f.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml" | "json")
        ) {
            leaks::scan_plain_secrets(f, text, &mut report.findings);
        }
    }

    // SOPS files.
    let identities = super::load_identities(ctx).map_err(Error::Usage)?;
    if identities.is_empty() {
        report.decrypt_skipped = Some(
            "no age identity available (set SOPS_AGE_KEY or SOPS_AGE_KEY_FILE): structure and recipients were checked, values and MACs were not".into(),
        );
        if a.require_decrypt {
            report.findings.push(Finding::error(
                ".",
                "sops.decrypt-skipped",
                "--require-decrypt: no age identity is available to decrypt and verify the SOPS files",
            ));
        }
    }
    let sealed_roots: Vec<PathBuf> = clusters.iter().map(|c| rel(&c.sources)).collect();
    let sc = sops_files::SopsCheck {
        root: &root,
        files: &all_files,
        config: sops_config.as_ref(),
        source_roots: sealed_roots.clone(),
        sealed_roots,
        identities: Some(&identities),
        flux_decryption_secrets: sops_files::flux_decryption_secret_names(&all_files, &texts),
        texts: &texts,
    };
    sops_files::run(&sc, &mut report);

    // Generated manifests are current, certificates valid (per cluster).
    if let Some(cfg) = &config {
        for cluster in &clusters {
            check_cluster(ctx, cfg, cluster, &identities, &root, &mut report);
        }
        check_external_secrets(cfg, a.cluster.as_deref(), &root, &mut report);
    }

    report.sort();
    let out = match a.format {
        CheckFormat::Human => render::human(&report),
        CheckFormat::Json => render::json(&report),
        CheckFormat::Github => render::github(&report),
    };
    match a.format {
        CheckFormat::Human if report.findings.is_empty() => ctx.printer.info(out.trim_end()),
        _ => crate::output::stdout_write(out.as_bytes())?,
    }
    let failing = report.errors() > 0
        || (a.strict
            && report
                .findings
                .iter()
                .any(|f| f.severity == crate::check::Severity::Warning));
    if failing {
        return Err(Error::Findings(format!(
            "check failed: {} error(s)",
            report.errors()
        )));
    }
    Ok(())
}

/// `reseal --check` for one cluster, and its certificate's validity, as findings.
fn check_cluster(
    ctx: &Ctx,
    cfg: &Config,
    cluster: &crate::config::Cluster,
    ids: &Identities,
    root: &Path,
    report: &mut Report,
) {
    let rel = |p: &Path| p.strip_prefix(root).unwrap_or(p).to_path_buf();
    let cert_rel = rel(&cluster.cert);
    match std::fs::read(&cluster.cert)
        .map_err(|e| e.to_string())
        .and_then(|pem| crate::sealed::SealingCert::from_pem(&pem).map_err(|e| e.to_string()))
    {
        Err(e) => report.findings.push(Finding::error(
            &cert_rel,
            "cert.invalid",
            format!(
                "cluster {}: cannot read the sealing certificate: {e}",
                cluster.name
            ),
        )),
        Ok(cert) => {
            let now = chrono::Utc::now();
            let days = cert.days_left(now);
            if cert.is_expired(now) {
                report.findings.push(Finding::error(
                    &cert_rel,
                    "cert.expired",
                    format!(
                        "cluster {}: the sealing certificate expired on {}; fetch the current one (`overworld-secrets cert fetch --cluster {}`)",
                        cluster.name,
                        cert.not_after().format("%Y-%m-%d"),
                        cluster.name
                    ),
                ));
            } else if days < 30 {
                report.findings.push(Finding::warning(
                    &cert_rel,
                    "cert.expiring",
                    format!(
                        "cluster {}: the sealing certificate expires in {days} day(s)",
                        cluster.name
                    ),
                ));
            }
        }
    }
    if ids.is_empty() {
        return; // Staleness needs the sources' data keys; the report already says decrypt was skipped.
    }
    let quiet = Ctx {
        printer: crate::output::Printer::new(true, 0, false, true),
        sops_config: ctx.sops_config.clone(),
        config: ctx.config.clone(),
    };
    let args = crate::cli::ResealArgs {
        cluster: Some(cluster.name.clone()),
        cert: None,
        check: true,
        prune: false,
        force: false,
        allow_expired: true,
    };
    match super::reseal::reseal_cluster(&quiet, cfg, cluster, &args, ids) {
        Ok(res) => {
            for s in res.stale {
                let (file, msg) = s.split_once(": ").unwrap_or((&s, "stale"));
                report.findings.push(Finding::error(
                    file,
                    "generated.stale",
                    format!(
                        "{msg}: run `overworld-secrets reseal --cluster {}`",
                        cluster.name
                    ),
                ));
            }
        }
        Err(e) => report.findings.push(Finding::error(
            rel(&cluster.sources),
            "generated.unchecked",
            format!(
                "cluster {}: cannot check the SealedSecrets: {e}",
                cluster.name
            ),
        )),
    }
}

/// `external-secrets --check` as findings: every generated file present and identical, nothing
/// left over that is no longer generated. Needs no key (seed key names are readable).
fn check_external_secrets(cfg: &Config, only: Option<&str>, root: &Path, report: &mut Report) {
    let rel = |p: &Path| p.strip_prefix(root).unwrap_or(p).to_path_buf();
    let outputs = match crate::external_secrets::generate(cfg, only) {
        Ok(o) => o,
        Err(e) => {
            report.findings.push(Finding::error(
                rel(&cfg.path),
                "external-secrets.config",
                format!("cannot generate the ExternalSecrets: {e}"),
            ));
            return;
        }
    };
    for out in outputs {
        for f in &out.files {
            let why = match std::fs::read(&f.path) {
                Ok(old) if old == f.bytes => continue,
                Ok(_) => "differs from what the config generates",
                Err(_) => "is missing",
            };
            report.findings.push(Finding::error(
                rel(&f.path),
                "generated.stale",
                format!(
                    "{why}: run `overworld-secrets external-secrets --cluster {}`",
                    out.cluster
                ),
            ));
        }
        for p in &out.stale {
            report.findings.push(Finding::error(
                rel(p),
                "generated.stale",
                format!(
                    "is no longer generated: run `overworld-secrets external-secrets --cluster {}`",
                    out.cluster
                ),
            ));
        }
    }
}

/// A file's text for the scans: `None` when it cannot be read, is not UTF-8 (binary) or is over
/// 5 MiB (no secrets file is that big; the size comes from the open file, one stat).
fn read_text(path: &Path) -> Option<Zeroizing<String>> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    if len > 5 * 1024 * 1024 {
        return None;
    }
    let mut s = Zeroizing::new(String::with_capacity(len as usize));
    f.read_to_string(&mut s).ok()?;
    Some(s)
}
