//! `status`: for every SealedSecret in the cluster's `sealed` folder and every ExternalSecret in
//! `manifests/<cluster>/external-secrets/`, whether the cluster has it and what its Synced /
//! Ready condition says. It reads the repository's manifests and the objects' status only —
//! never a Secret — and exits 1 when something is missing or failing.

use super::cert::{connect, in_cluster, load_clusters, runtime};
use super::Ctx;
use crate::cli::ClusterArgs;
use crate::error::{Error, Result};
use crate::kube::status::{object_status, ObjectRef, ObjectStatus};
use serde::Serialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Serialize)]
struct Row {
    cluster: String,
    file: String,
    #[serde(flatten)]
    object: ObjectRef,
    #[serde(flatten)]
    status: ObjectStatus,
    ok: bool,
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if !dir.is_dir() {
        return Ok(());
    }
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let p = e.path();
        if e.file_type()?.is_dir() {
            yaml_files(&p, out)?;
        } else if p
            .extension()
            .is_some_and(|x| x == "yaml" || x == "yml" || x == "json")
        {
            out.push(p);
        }
    }
    Ok(())
}

/// The objects of `kind` declared in the YAML files below `dir`, in file order.
pub fn declared(dir: &Path, kind: &str) -> Result<Vec<(PathBuf, ObjectRef)>> {
    let mut files = Vec::new();
    yaml_files(dir, &mut files).map_err(|e| Error::io(dir, e))?;
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).map_err(|e| Error::io(&f, e))?;
        for doc in serde_yaml_ng::Deserializer::from_str(&text) {
            let Ok(v) = serde_yaml_ng::Value::deserialize(doc) else {
                continue;
            };
            let s = |path: &[&str]| -> Option<String> {
                let mut cur = &v;
                for p in path {
                    cur = cur.get(*p)?;
                }
                cur.as_str().map(str::to_string)
            };
            if s(&["kind"]).as_deref() != Some(kind) {
                continue;
            }
            let (Some(api_version), Some(name)) = (s(&["apiVersion"]), s(&["metadata", "name"]))
            else {
                continue;
            };
            out.push((
                f.clone(),
                ObjectRef {
                    api_version,
                    kind: kind.to_string(),
                    // Both kinds are namespaced; kustomize/Flux put unnamespaced ones in
                    // `default` unless a Kustomization sets one, which we cannot see here.
                    namespace: s(&["metadata", "namespace"]).unwrap_or_else(|| "default".into()),
                    name,
                },
            ));
        }
    }
    Ok(out)
}

use serde::Deserialize as _;

pub fn run(ctx: &Ctx, a: ClusterArgs) -> Result<()> {
    let (config, names) = load_clusters(ctx, a.cluster.as_deref())?;
    let rt = runtime()?;
    let mut rows = Vec::new();
    for name in names {
        let cluster = &config.clusters[&name];
        let mut objects = declared(&cluster.sealed, "SealedSecret")?;
        let es_dir = config
            .root
            .join("manifests")
            .join(&name)
            .join("external-secrets");
        objects.extend(declared(&es_dir, "ExternalSecret")?);
        if objects.is_empty() {
            ctx.printer.warn(&format!(
                "{name}: no SealedSecret or ExternalSecret manifests in {} or {}",
                config.display_path(&cluster.sealed),
                config.display_path(&es_dir)
            ));
            continue;
        }
        let api = connect(&rt, cluster, &a)?;
        for (file, obj) in objects {
            let status = rt
                .block_on(object_status(&api, &obj))
                .map_err(|e| in_cluster(cluster, e))?;
            let ok = matches!(&status, ObjectStatus::Present { condition: Some(c) } if c.status == "True");
            rows.push(Row {
                cluster: name.clone(),
                file: config.display_path(&file).into_owned(),
                object: obj,
                status,
                ok,
            });
        }
    }
    let mut out = String::new();
    if ctx.printer.json {
        out = serde_json::to_string_pretty(&rows).expect("serialisable") + "\n";
    } else {
        for r in &rows {
            let state = match &r.status {
                ObjectStatus::Missing => "MISSING in the cluster".to_string(),
                ObjectStatus::NoCrd => format!(
                    "MISSING: the cluster does not know {} (CRD not installed)",
                    r.object.api_version
                ),
                ObjectStatus::Present { condition: None } => {
                    format!("present, no {} condition yet", r.object.condition_type())
                }
                ObjectStatus::Present { condition: Some(c) } => {
                    let mut s = format!("{}={}", c.type_, c.status);
                    if let Some(reason) = c.reason.as_deref().filter(|x| !x.is_empty()) {
                        s.push_str(&format!(" ({reason})"));
                    }
                    if let Some(m) = c.message.as_deref().filter(|x| !x.is_empty()) {
                        s.push_str(&format!(": {m}"));
                    }
                    s
                }
            };
            out.push_str(&format!(
                "{} {} {}/{}: {state}\n",
                r.cluster, r.object.kind, r.object.namespace, r.object.name
            ));
        }
    }
    crate::output::stdout_write(out.as_bytes())?;
    let bad = rows.iter().filter(|r| !r.ok).count();
    if bad > 0 {
        return Err(Error::Findings(format!(
            "{bad} of {} object(s) are missing or not ready",
            rows.len()
        )));
    }
    Ok(())
}
