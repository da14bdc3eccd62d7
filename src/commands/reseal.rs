//! `reseal`: decrypt a cluster's SOPS sources and write its SealedSecrets, idempotently
//! (see `crate::reseal` for the design). `--check` changes nothing and fails when anything is
//! stale; `--prune` deletes SealedSecrets whose source is gone.

use super::Ctx;
use crate::cli::ResealArgs;
use crate::config::{Cluster, Config};
use crate::error::{Error, Result};
use crate::fsutil;
use crate::reseal::{self, Planned, Source};
use crate::sealed::{BuildOptions, SealedSecret, SealingCert};
use crate::sops::engine;
use crate::sops::format::Format;
use crate::sops::keys::Identities;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};

#[derive(Debug, Default, Serialize)]
pub struct ClusterResult {
    pub cluster: String,
    pub cert_sha256: String,
    pub secrets: usize,
    pub written: Vec<String>,
    pub unchanged: usize,
    pub items_sealed: usize,
    pub items_kept: usize,
    pub stale: Vec<String>,
    pub orphans: Vec<String>,
    pub pruned: Vec<String>,
}

pub fn run(ctx: &Ctx, a: ResealArgs) -> Result<()> {
    let cwd = std::env::current_dir().map_err(|e| Error::io(".", e))?;
    let config =
        Config::find(&cwd, ctx.config.as_deref()).map_err(|e| Error::Usage(e.to_string()))?;
    let clusters = config
        .select(a.cluster.as_deref())
        .map_err(|e| Error::Usage(e.to_string()))?;
    if clusters.is_empty() {
        return Err(Error::Usage(format!(
            "{} has no clusters: add one under `clusters:`",
            config.path.display()
        )));
    }
    let ids = super::load_identities(ctx).map_err(Error::Usage)?;
    let mut results = Vec::new();
    for cluster in clusters {
        results.push(reseal_cluster(ctx, &config, cluster, &a, &ids)?);
    }
    if ctx.printer.json {
        let mut s = serde_json::to_string_pretty(&results).expect("serialisable");
        s.push('\n');
        crate::output::stdout_write(s.as_bytes())?;
    }
    let stale: usize = results.iter().map(|r| r.stale.len()).sum();
    if a.check && stale > 0 {
        return Err(Error::Findings(format!(
            "{stale} SealedSecret file(s) are stale: run `overworld-secrets reseal` (and `--prune` for orphans)"
        )));
    }
    Ok(())
}

/// Loads and validates the sealing certificate (SEALED-SECRETS.md §4.6).
pub fn load_cert(ctx: &Ctx, source: &str, allow_expired: bool) -> Result<SealingCert> {
    let pem = super::cert_source::read(source)?;
    let cert = SealingCert::from_pem(&pem).map_err(|e| Error::Usage(format!("{source}: {e}")))?;
    let now = chrono::Utc::now();
    if let Err(e) = cert.check_not_expired(now) {
        if !allow_expired {
            return Err(Error::Usage(format!(
                "{source}: {e} (fetch the controller's current certificate, or pass --allow-expired)"
            )));
        }
        ctx.printer
            .warn(&format!("{source}: {e}; sealing anyway (--allow-expired)"));
    } else if cert.days_left(now) < 30 {
        ctx.printer.warn(&format!(
            "{source}: the certificate expires in {} day(s) ({}); the controller renews keys on its own, fetch the new certificate",
            cert.days_left(now),
            cert.not_after().format("%Y-%m-%d")
        ));
    }
    Ok(cert)
}

/// Every YAML/JSON file below `dir`, sorted.
fn source_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    fn walk(d: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
        for e in std::fs::read_dir(d)? {
            let e = e?;
            let p = e.path();
            if e.file_type()?.is_dir() {
                walk(&p, out)?;
            } else if matches!(Format::from_path(&p), Format::Yaml | Format::Json)
                // Dotfiles (a `.sops.yaml` next to the sources) are configuration, not sources.
                && !e.file_name().to_string_lossy().starts_with('.')
            {
                out.push(p);
            }
        }
        Ok(())
    }
    if !dir.exists() {
        return Err(Error::Usage(format!(
            "the sources folder {} does not exist (clusters.<name>.sources in the config)",
            dir.display()
        )));
    }
    walk(dir, &mut out).map_err(|e| Error::io(dir, e))?;
    out.sort();
    Ok(out)
}

fn load_source(config: &Config, file: &Path, ids: &Identities) -> Result<Vec<Source>> {
    let mut sources = Vec::new();
    let shown = PathBuf::from(config.display_path(file).into_owned());
    let bytes = std::fs::read(file).map_err(|e| Error::io(&shown, e))?;
    let enc = engine::load(Format::from_path(file), &bytes).map_err(|e| Error::sops(&shown, e))?;
    let dec = engine::decrypt(&enc, ids, false).map_err(|e| Error::sops(&shown, e))?;
    for (i, doc) in dec.tree.documents.iter().enumerate() {
        if doc.entries.is_empty() {
            continue;
        }
        // Named only in an error.
        let where_ = || {
            if dec.tree.documents.len() > 1 {
                format!("{} (document {})", shown.display(), i + 1)
            } else {
                shown.display().to_string()
            }
        };
        let manifest = reseal::manifest_from_tree(doc)
            .map_err(|e| Error::Usage(format!("{}: {e}", where_())))?;
        let prepared = SealedSecret::prepare(&manifest, &BuildOptions::default())
            .map_err(|e| Error::Usage(format!("{}: {e}", where_())))?;
        sources.push(Source {
            file: shown.clone(),
            prepared,
            digest_key: reseal::DigestKey::from_data_key(&dec.data_key),
        });
    }
    Ok(sources)
}

/// What one walk of the sealed folder finds: the existing `*.sealed.yaml` files (relative to the
/// folder, in no particular order) and how many temp files of killed runs it removed.
#[derive(Default)]
struct SealedScan {
    outputs: Vec<PathBuf>,
    swept: usize,
}

/// Walks the sealed folder once, before any file is processed: collecting the existing outputs
/// and, when `sweep` (not with `--check`, which changes nothing), removing killed runs' temp files.
/// Entry types come from the folder listing (no stat per file); only a symlink is followed.
fn scan_sealed(dir: &Path, sweep: bool) -> SealedScan {
    fn walk(root: &Path, d: &Path, sweep: bool, out: &mut SealedScan) {
        let Ok(rd) = std::fs::read_dir(d) else { return };
        for e in rd.flatten() {
            let Ok(kind) = e.file_type() else { continue };
            let p = e.path();
            let is_dir = if kind.is_symlink() {
                p.is_dir()
            } else {
                kind.is_dir()
            };
            if is_dir {
                walk(root, &p, sweep, out);
            } else if e.file_name().as_encoded_bytes().ends_with(b".sealed.yaml") {
                if let Ok(r) = p.strip_prefix(root) {
                    out.outputs.push(r.to_path_buf());
                }
            } else if sweep && fsutil::remove_if_killed_temp(&e, kind) {
                out.swept += 1;
            }
        }
    }
    let mut out = SealedScan::default();
    walk(dir, dir, sweep, &mut out);
    out
}

/// One SealedSecret after the per-file work.
struct Done {
    rel: PathBuf,
    file: PathBuf,
    namespace: Option<String>,
    name: String,
    sealed: usize,
    kept: usize,
    /// `--check`: why its file is stale, with an order key (what kind of staleness).
    stale: Option<(u8, String)>,
    /// The new file, staged beside its target; `None` when unchanged, and with `--check`.
    staged: Option<fsutil::Staged>,
}

/// What every file's work needs.
struct Job<'a> {
    config: &'a Config,
    cluster: &'a Cluster,
    ids: &'a Identities,
    cert: &'a SealingCert,
    spki: String,
    a: &'a ResealArgs,
    shown_of: &'a (dyn Fn(&Path) -> String + Sync),
    pb: indicatif::ProgressBar,
}

/// All the work of one source file, from its bytes to its staged SealedSecrets: decrypt, plan,
/// seal, render, write the temp file. One task per file keeps every core busy from the first file
/// to the last (separate phases each waited for their slowest core); nothing replaces an existing
/// file until every file has succeeded, which the caller decides.
fn process_file(job: &Job, file: &Path) -> Result<Vec<Done>> {
    let mut out = Vec::new();
    for source in load_source(job.config, file, job.ids)? {
        let rel = reseal::placement(&source, &job.cluster.sealed_paths);
        let mut done = Done {
            rel: rel.clone(),
            file: source.file.clone(),
            namespace: source.prepared.namespace.clone(),
            name: source.prepared.name.clone(),
            sealed: 0,
            kept: 0,
            stale: None,
            staged: None,
        };
        let plan = reseal::plan_one(&job.cluster.sealed, &job.spki, job.a.force, rel, source);
        if job.a.check {
            let shown = (job.shown_of)(&plan.rel);
            let changed: Vec<&str> = plan.to_seal().collect();
            if plan.existing.is_none() {
                let why = format!(
                    "{shown}: missing (new source {})",
                    plan.source.file.display()
                );
                done.stale = Some((0, why));
            } else if !changed.is_empty() {
                let why = format!(
                    "{shown}: {} item(s) to reseal ({}): source, scope or certificate changed",
                    changed.len(),
                    changed.join(", ")
                );
                done.stale = Some((0, why));
            } else {
                // Nothing to seal: the file can be rendered exactly and compared byte for byte.
                let (_, existing, bytes) =
                    reseal::assemble(plan, BTreeMap::new()).map_err(Error::Usage)?;
                if existing.as_deref() != Some(&bytes[..]) {
                    let why = format!("{shown}: metadata, labels, annotations or type changed");
                    done.stale = Some((1, why));
                }
            }
        } else {
            let fresh = seal_plan(job.cert, &plan)?;
            done.sealed = fresh.len();
            done.kept = plan.fates.len() - fresh.len();
            let perms = plan.existing_perms.clone();
            let (rel, existing, bytes) = reseal::assemble(plan, fresh).map_err(Error::Usage)?;
            if existing.as_deref() != Some(&bytes[..]) {
                let path = job.cluster.sealed.join(rel);
                done.staged = Some(fsutil::stage_over(&path, &bytes, perms, None)?);
            }
        }
        out.push(done);
    }
    job.pb.inc(1);
    Ok(out)
}

/// Fresh ciphertexts for the items of a plan that cannot keep theirs.
fn seal_plan(cert: &SealingCert, p: &Planned) -> Result<BTreeMap<String, String>> {
    let prepared = &p.source.prepared;
    p.to_seal()
        .map(|k| {
            let plain = &prepared.items[k];
            crate::sealed::seal_value_b64(cert.public_key(), &prepared.label, plain.expose())
                .map(|ct| (k.to_string(), ct))
                .map_err(|e| Error::Usage(format!("{}: item {k}: {e}", p.source.file.display())))
        })
        .collect()
}

pub fn reseal_cluster(
    ctx: &Ctx,
    config: &Config,
    cluster: &Cluster,
    a: &ResealArgs,
    ids: &Identities,
) -> Result<ClusterResult> {
    let cert_src = a
        .cert
        .clone()
        .unwrap_or_else(|| cluster.cert.to_string_lossy().into_owned());
    let cert = load_cert(ctx, &cert_src, a.allow_expired)?;
    let mut res = ClusterResult {
        cluster: cluster.name.clone(),
        cert_sha256: cert.cert_sha256(),
        ..Default::default()
    };
    ctx.printer.detail(&format!(
        "{}: sealing certificate {} (SHA-256 {}), valid until {}",
        cluster.name,
        config.display_path(Path::new(&cert_src)),
        res.cert_sha256,
        cert.not_after().format("%Y-%m-%d")
    ));
    let sealed_shown = config.display_path(&cluster.sealed).into_owned();
    // Outputs mapped by `sealed_paths` are absolute: shown relative to the repository.
    let shown_of = |rel: &Path| -> String {
        if rel.is_absolute() {
            config.display_path(rel).into_owned()
        } else {
            format!("{sealed_shown}/{}", rel.display())
        }
    };
    let files = source_files(&cluster.sources)?;
    let scan = scan_sealed(&cluster.sealed, !a.check);
    if scan.swept > 0 {
        ctx.printer.detail(&format!(
            "{sealed_shown}: removed {} temp file(s) an interrupted run left",
            scan.swept
        ));
    }
    let job = Job {
        config,
        cluster,
        ids,
        cert: &cert,
        spki: cert.spki_sha256(),
        a,
        shown_of: &shown_of,
        pb: if a.check {
            indicatif::ProgressBar::hidden()
        } else {
            ctx.printer.progress(files.len() as u64, "resealing")
        },
    };
    let per_file = crate::par::map(files, |f| process_file(&job, &f));
    job.pb.finish_and_clear();
    // The first failure in file order; dropping the rest removes their staged files.
    let mut done: Vec<Done> = Vec::new();
    for r in per_file {
        done.extend(r?);
    }
    reseal::check_unique(done.iter().map(|d| {
        (
            d.rel.as_path(),
            d.file.as_path(),
            d.namespace.as_deref(),
            d.name.as_str(),
        )
    }))
    .map_err(Error::Usage)?;
    res.secrets = done.len();
    // Hashed, not ordered: comparing paths component by component for every one of hundreds of
    // outputs was a visible part of the serial time after the workers (issue 9).
    let produced: HashSet<&Path> = done.iter().map(|d| d.rel.as_path()).collect();
    let mut orphans: Vec<PathBuf> = scan
        .outputs
        .into_iter()
        .filter(|p| !produced.contains(p.as_path()))
        .collect();
    orphans.sort();
    res.orphans = orphans.iter().map(|p| p.display().to_string()).collect();

    // Kustomizations: what stays listed (orphans stay until pruned, so nothing disappears from
    // the cluster without --prune). Files placed by `sealed_paths` are listed by the repository's
    // own kustomizations, not ours.
    let listed = produced
        .iter()
        .copied()
        .filter(|p| p.is_relative())
        .chain(orphans.iter().filter(|_| !a.prune).map(PathBuf::as_path));
    let mut by_dir: BTreeMap<PathBuf, BTreeSet<String>> = BTreeMap::new();
    for p in listed {
        let dir = p.parent().unwrap_or(Path::new(""));
        let name = p
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        match by_dir.get_mut(dir) {
            Some(names) => {
                names.insert(name);
            }
            None => {
                by_dir.insert(dir.to_path_buf(), BTreeSet::from([name]));
            }
        }
    }
    let mut kustomizations: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    let top: BTreeSet<String> = by_dir
        .keys()
        .filter(|d| !d.as_os_str().is_empty())
        .map(|d| d.to_string_lossy().into_owned())
        .chain(by_dir.get(Path::new("")).into_iter().flatten().cloned())
        .collect();
    kustomizations.push((
        PathBuf::from("kustomization.yaml"),
        reseal::kustomization(&top),
    ));
    for (dir, files) in &by_dir {
        if !dir.as_os_str().is_empty() {
            kustomizations.push((dir.join("kustomization.yaml"), reseal::kustomization(files)));
        }
    }
    // Every output mapped elsewhere (an adopted repository): no empty generated folder.
    if by_dir.is_empty() && !cluster.sealed.join("kustomization.yaml").exists() {
        kustomizations.clear();
    }

    if a.check {
        let mut stale: Vec<(u8, String)> = done.into_iter().filter_map(|d| d.stale).collect();
        // Missing and to-reseal files first, then those only re-rendering shows (stable sort).
        stale.sort_by_key(|(kind, _)| *kind);
        res.stale.extend(stale.into_iter().map(|(_, why)| why));
        for o in &orphans {
            res.stale.push(format!(
                "{sealed_shown}/{}: orphaned, its source is gone (--prune deletes it)",
                o.display()
            ));
        }
        for (rel, bytes) in &kustomizations {
            if std::fs::read(cluster.sealed.join(rel)).ok().as_deref() != Some(&bytes[..]) {
                res.stale
                    .push(format!("{sealed_shown}/{}: out of date", rel.display()));
            }
        }
        for s in &res.stale {
            ctx.printer.info(&format!("stale: {s}"));
        }
        if res.stale.is_empty() {
            ctx.printer.info(&format!(
                "{}: {} SealedSecret(s) up to date",
                cluster.name, res.secrets
            ));
        }
        return Ok(res);
    }

    // Every output was staged before any replaces its previous version; all are flushed to disk
    // together, then renamed into place.
    let mut staged = Vec::new();
    for d in done {
        res.items_sealed += d.sealed;
        res.items_kept += d.kept;
        match d.staged {
            Some(s) => {
                res.written.push(shown_of(&d.rel));
                staged.push(s);
            }
            None => res.unchanged += 1,
        }
    }
    fsutil::commit(staged)?;
    if a.prune {
        for o in &orphans {
            let path = cluster.sealed.join(o);
            std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
            res.pruned.push(format!("{sealed_shown}/{}", o.display()));
            if let Some(parent) = path.parent() {
                // Drop the folder's kustomization and the folder once nothing sealed is left.
                if !by_dir.contains_key(o.parent().unwrap_or(Path::new(""))) {
                    let _ = std::fs::remove_file(parent.join("kustomization.yaml"));
                    let _ = std::fs::remove_dir(parent);
                }
            }
        }
    }
    for (rel, bytes) in &kustomizations {
        let path = cluster.sealed.join(rel);
        if fsutil::write_if_changed(&path, bytes, None)? {
            res.written
                .push(format!("{sealed_shown}/{}", rel.display()));
        }
    }
    for w in &res.written {
        ctx.printer.detail(&format!("wrote {w}"));
    }
    for o in &res.orphans {
        if !a.prune {
            ctx.printer.warn(&format!(
                "{sealed_shown}/{o}: orphaned (its source is gone); `reseal --prune` deletes it"
            ));
        }
    }
    ctx.printer.info(&format!(
        "{}: {} SealedSecret(s), {} item(s) sealed, {} kept, {} file(s) written{}",
        cluster.name,
        res.secrets,
        res.items_sealed,
        res.items_kept,
        res.written.len(),
        if res.pruned.is_empty() {
            String::new()
        } else {
            format!(", {} pruned", res.pruned.len())
        }
    ));
    Ok(res)
}
