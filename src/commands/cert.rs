//! `cert fetch`: the controller's certificate through the service proxy (SEALED-SECRETS.md §4.6),
//! validated, written atomically to the cluster's `cert` path only when it changed. Also the
//! helpers the other cluster commands share (config, client, runtime). It must never write a file
//! that does not parse as the controller's certificate.

use super::Ctx;
use crate::cli::ClusterArgs;
use crate::config::{Cluster, Config};
use crate::error::{Error, Result};
use crate::kube::{self as k, ApiClient};
use crate::sealed::SealingCert;
use serde::Serialize;

/// The config and the clusters `--cluster` selects (all when absent).
pub(crate) fn load_clusters(ctx: &Ctx, name: Option<&str>) -> Result<(Config, Vec<String>)> {
    let cwd = std::env::current_dir().map_err(|e| Error::io(".", e))?;
    let config =
        Config::find(&cwd, ctx.config.as_deref()).map_err(|e| Error::Usage(e.to_string()))?;
    let names: Vec<String> = config
        .select(name)
        .map_err(|e| Error::Usage(e.to_string()))?
        .into_iter()
        .map(|c| c.name.clone())
        .collect();
    if names.is_empty() {
        return Err(Error::Usage(format!(
            "{} has no clusters: add one under `clusters:`",
            config.path.display()
        )));
    }
    Ok((config, names))
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    k::client::runtime().map_err(|e| Error::io("<tokio runtime>", e))
}

/// The API client for `cluster`: `--context`, else the cluster's `context:`, else the current one.
pub(crate) fn connect(
    rt: &tokio::runtime::Runtime,
    cluster: &Cluster,
    args: &ClusterArgs,
) -> Result<ApiClient> {
    let context = args.context.as_deref().or(cluster.context.as_deref());
    let timeout = std::time::Duration::from_secs(args.request_timeout.max(1));
    rt.block_on(ApiClient::from_kubeconfig(context, timeout))
        .map_err(|e| in_cluster(cluster, e))
}

/// A cluster error, prefixed with the cluster's name.
pub(crate) fn in_cluster(cluster: &Cluster, e: k::KubeError) -> Error {
    Error::Usage(format!("cluster {}: {e}", cluster.name))
}

#[derive(Debug, Serialize)]
struct Fetched {
    cluster: String,
    path: String,
    changed: bool,
    cert_sha256: String,
    spki_sha256: String,
    not_before: String,
    not_after: String,
}

pub fn fetch(ctx: &Ctx, a: ClusterArgs) -> Result<()> {
    let (config, names) = load_clusters(ctx, a.cluster.as_deref())?;
    let rt = runtime()?;
    let mut results = Vec::new();
    for name in names {
        let cluster = &config.clusters[&name];
        let api = connect(&rt, cluster, &a)?;
        let fetched = rt
            .block_on(k::fetch_cert(&api, &cluster.controller))
            .map_err(|e| in_cluster(cluster, e))?;
        let cert = SealingCert::from_pem(&fetched.pem).map_err(|e| {
            Error::Usage(format!(
                "cluster {name}: the controller answered {} with something that is not its certificate: {e}",
                fetched.path
            ))
        })?;
        let shown = config.display_path(&cluster.cert).into_owned();
        let existed = cluster.cert.exists();
        let changed = crate::fsutil::write_if_changed(&cluster.cert, &fetched.pem, None)?;
        let now = chrono::Utc::now();
        let state = match (existed, changed) {
            (_, false) => "unchanged",
            (false, true) => "written",
            (true, true) => "CHANGED",
        };
        ctx.printer.info(&format!(
            "{name}: {shown} {state}\n  sha256 (DER): {}\n  expires: {} ({} days)",
            cert.cert_sha256(),
            cert.not_after().format("%Y-%m-%d %H:%M:%S UTC"),
            cert.days_left(now)
        ));
        if existed && changed {
            ctx.printer.warn(&format!(
                "{name}: the controller serves a different certificate than the one in the repository: run `overworld-secrets reseal --cluster {name}` so new SealedSecrets use it"
            ));
        }
        if cert.is_expired(now) {
            ctx.printer.warn(&format!(
                "{name}: the controller's certificate expired on {}; kubeseal refuses to seal with it",
                cert.not_after().format("%Y-%m-%d")
            ));
        }
        results.push(Fetched {
            cluster: name.clone(),
            path: shown,
            changed,
            cert_sha256: cert.cert_sha256(),
            spki_sha256: cert.spki_sha256(),
            not_before: cert.not_before().to_rfc3339(),
            not_after: cert.not_after().to_rfc3339(),
        });
    }
    if ctx.printer.json {
        let mut s = serde_json::to_string_pretty(&results).expect("serialisable");
        s.push('\n');
        crate::output::stdout_write(s.as_bytes())?;
    }
    Ok(())
}
