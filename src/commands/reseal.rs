//! `reseal`: decrypt a cluster's SOPS sources and write its SealedSecrets, idempotently
//! (see `crate::reseal` for the design). `--check` changes nothing and fails when anything is
//! stale; `--prune` deletes SealedSecrets whose source is gone.

use super::Ctx;
use crate::cli::ResealArgs;
use crate::config::{Cluster, Config};
use crate::error::{Error, Result};
use crate::fsutil;
use crate::reseal::{self, ItemFate, Planned, Source};
use crate::sealed::{BuildOptions, SealedSecret, SealingCert};
use crate::sops::engine;
use crate::sops::format::Format;
use crate::sops::keys::Identities;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
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

/// Decrypts every source and prepares every SealedSecret; nothing is written here.
fn load_sources(config: &Config, cluster: &Cluster, ids: &Identities) -> Result<Vec<Source>> {
    // One file per task: each costs an age unwrap (an X25519 agreement) and a YAML parse.
    let per_file = crate::par::map(source_files(&cluster.sources)?, |file| {
        load_source(config, &file, ids)
    });
    let mut sources = Vec::new();
    for r in per_file {
        sources.extend(r?);
    }
    Ok(sources)
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
        let where_ = if dec.tree.documents.len() > 1 {
            format!("{} (document {})", shown.display(), i + 1)
        } else {
            shown.display().to_string()
        };
        let manifest =
            reseal::manifest_from_tree(doc).map_err(|e| Error::Usage(format!("{where_}: {e}")))?;
        let prepared = SealedSecret::prepare(&manifest, &BuildOptions::default())
            .map_err(|e| Error::Usage(format!("{where_}: {e}")))?;
        sources.push(Source {
            file: shown.clone(),
            prepared,
            digest_key: reseal::DigestKey::from_data_key(&dec.data_key),
        });
    }
    Ok(sources)
}

/// Existing `*.sealed.yaml` files under the sealed folder (relative).
fn existing_outputs(dir: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    fn walk(root: &Path, d: &Path, out: &mut BTreeSet<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(d) else { return };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else if p.to_string_lossy().ends_with(".sealed.yaml") {
                if let Ok(r) = p.strip_prefix(root) {
                    out.insert(r.to_path_buf());
                }
            }
        }
    }
    walk(dir, dir, &mut out);
    out
}

/// Seals every to-seal item of every plan, in parallel across cores.
fn seal_all(
    ctx: &Ctx,
    cert: &SealingCert,
    plans: &[Planned],
) -> Result<Vec<BTreeMap<String, String>>> {
    let jobs: Vec<(usize, &str)> = plans
        .iter()
        .enumerate()
        .flat_map(|(i, p)| p.to_seal().map(move |k| (i, k)))
        .collect();
    let mut fresh: Vec<BTreeMap<String, String>> = vec![BTreeMap::new(); plans.len()];
    if jobs.is_empty() {
        return Ok(fresh);
    }
    let pb = ctx.printer.progress(jobs.len() as u64, "sealing");
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(jobs.len());
    let chunk = jobs.len().div_ceil(threads);
    let key = cert.public_key();
    type Sealed = std::result::Result<Vec<(usize, String, String)>, String>;
    let results: Vec<Sealed> = std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .chunks(chunk)
            .map(|part| {
                let pb = &pb;
                s.spawn(move || {
                    part.iter()
                        .map(|&(i, k)| {
                            let p = &plans[i].source.prepared;
                            let plain = &p.items[k];
                            let ct = crate::sealed::seal_value_b64(key, &p.label, plain.expose())
                                .map_err(|e| {
                                format!("{}: item {k}: {e}", plans[i].source.file.display())
                            })?;
                            pb.inc(1);
                            Ok((i, k.to_string(), ct))
                        })
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("sealing thread panicked"))
            .collect()
    });
    pb.finish_and_clear();
    for r in results {
        for (i, k, ct) in r.map_err(Error::Usage)? {
            fresh[i].insert(k, ct);
        }
    }
    Ok(fresh)
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
    let sources = load_sources(config, cluster, ids)?;
    res.secrets = sources.len();
    let plans = reseal::plan(
        &cluster.sealed,
        &cert,
        sources,
        a.force,
        &cluster.sealed_paths,
    )
    .map_err(Error::Usage)?;
    let produced: BTreeSet<PathBuf> = plans.iter().map(|p| p.rel.clone()).collect();
    let orphans: Vec<PathBuf> = existing_outputs(&cluster.sealed)
        .into_iter()
        .filter(|p| !produced.contains(p))
        .collect();
    res.orphans = orphans.iter().map(|p| p.display().to_string()).collect();
    let sealed_shown = config.display_path(&cluster.sealed).into_owned();
    // Outputs mapped by `sealed_paths` are absolute: shown relative to the repository.
    let shown_of = |rel: &Path| -> String {
        if rel.is_absolute() {
            config.display_path(rel).into_owned()
        } else {
            format!("{sealed_shown}/{}", rel.display())
        }
    };

    // Kustomizations: what stays listed (orphans stay until pruned, so nothing disappears from
    // the cluster without --prune). Files placed by `sealed_paths` are listed by the repository's
    // own kustomizations, not ours.
    let mut listed: BTreeSet<PathBuf> = produced
        .iter()
        .filter(|p| p.is_relative())
        .cloned()
        .collect();
    if !a.prune {
        listed.extend(orphans.iter().cloned());
    }
    let mut by_dir: BTreeMap<PathBuf, BTreeSet<String>> = BTreeMap::new();
    for p in &listed {
        let dir = p.parent().map(Path::to_path_buf).unwrap_or_default();
        by_dir.entry(dir).or_default().insert(
            p.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned(),
        );
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
    if listed.is_empty() && !cluster.sealed.join("kustomization.yaml").exists() {
        kustomizations.clear();
    }

    if a.check {
        for p in &plans {
            let changed: Vec<&str> = p.to_seal().collect();
            let shown = shown_of(&p.rel);
            if p.existing.is_none() {
                res.stale.push(format!(
                    "{shown}: missing (new source {})",
                    p.source.file.display()
                ));
            } else if !changed.is_empty() {
                res.stale.push(format!(
                    "{shown}: {} item(s) to reseal ({}): source, scope or certificate changed",
                    changed.len(),
                    changed.join(", ")
                ));
            }
        }
        // Plans with nothing to seal can be rendered exactly and compared byte for byte.
        for p in plans {
            if p.existing.is_some() && p.to_seal().next().is_none() {
                let shown = shown_of(&p.rel);
                let (_, existing, bytes) =
                    reseal::assemble(p, BTreeMap::new()).map_err(Error::Usage)?;
                if existing.as_deref() != Some(&bytes[..]) {
                    res.stale.push(format!(
                        "{shown}: metadata, labels, annotations or type changed"
                    ));
                }
            }
        }
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

    // Seal, then assemble everything, then write: nothing is touched before all succeeded.
    let fresh = seal_all(ctx, &cert, &plans)?;
    for p in &plans {
        for fate in p.fates.values() {
            if *fate == ItemFate::Keep {
                res.items_kept += 1;
            } else {
                res.items_sealed += 1;
            }
        }
    }
    let outputs = crate::par::map(plans.into_iter().zip(fresh).collect(), |(p, f)| {
        reseal::assemble(p, f)
    })
    .into_iter()
    .collect::<std::result::Result<Vec<_>, String>>()
    .map_err(Error::Usage)?;
    // Each write is a temp file, an fsync and a rename: waiting on the disk, so on every core.
    let wrote = crate::par::map(outputs.iter().collect(), |(rel, _, bytes)| {
        fsutil::write_if_changed(&cluster.sealed.join(rel), bytes, None)
    });
    for ((rel, _, _), w) in outputs.iter().zip(wrote) {
        if w? {
            res.written.push(shown_of(rel));
        } else {
            res.unchanged += 1;
        }
    }
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
