//! `seal`: a kubeseal replacement for one-off use. Reads Secret manifests (plain or
//! SOPS-encrypted, YAML or JSON, stdin or a file) and prints SealedSecrets exactly as kubeseal
//! lays them out; `--raw` seals one value; `--merge-into` adds items to an existing SealedSecret
//! file, keeping its format. Needs no cluster access: the certificate is a file, URL or the
//! configured cluster's.

use super::Ctx;
use crate::cli::{SealArgs, SealFormat};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::reseal::manifest_from_tree;
use crate::sealed::{self, BuildOptions, Scope, SealedSecret};
use crate::secret::SecretBytes;
use crate::sops::engine;
use crate::sops::format::{self, Format};
use crate::sops::metadata;
use std::path::{Path, PathBuf};

fn scope_of(s: &str) -> Result<Scope> {
    Ok(match s {
        "strict" => Scope::Strict,
        "namespace-wide" => Scope::NamespaceWide,
        "cluster-wide" => Scope::ClusterWide,
        other => {
            return Err(Error::Usage(format!(
                "unknown scope {other:?}: use strict, namespace-wide or cluster-wide"
            )))
        }
    })
}

/// The certificate: `--cert`, else `--cluster`'s (or the only cluster's) from the config.
fn cert_source(ctx: &Ctx, a: &SealArgs) -> Result<String> {
    if let Some(c) = &a.cert {
        return Ok(c.clone());
    }
    let cwd = std::env::current_dir().map_err(|e| Error::io(".", e))?;
    let config = Config::find(&cwd, ctx.config.as_deref()).map_err(|_| {
        Error::Usage("no certificate: pass --cert FILE|URL (or --cluster NAME inside a repository with overworld-secrets.yaml)".into())
    })?;
    let clusters = config
        .select(a.cluster.as_deref())
        .map_err(|e| Error::Usage(e.to_string()))?;
    match clusters.as_slice() {
        [one] => Ok(one.cert.to_string_lossy().into_owned()),
        _ => Err(Error::Usage(
            "several clusters are configured: pass --cluster NAME or --cert FILE|URL".into(),
        )),
    }
}

/// Reads Secret manifests from `bytes`, decrypting them first when they are SOPS files.
fn read_manifests(ctx: &Ctx, name: &Path, bytes: &[u8]) -> Result<Vec<sealed::SecretManifest>> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace()).copied();
    let fmt = if first == Some(b'{') {
        Format::Json
    } else {
        Format::Yaml
    };
    let mut tree =
        format::parse(fmt, bytes).map_err(|e| Error::Usage(format!("{}: {e}", name.display())))?;
    if metadata::has_metadata(fmt, &tree) {
        let file = engine::load(fmt, bytes).map_err(|e| Error::sops(name, e))?;
        let ids = super::load_identities(ctx).map_err(Error::Usage)?;
        tree = engine::decrypt(&file, &ids, false)
            .map_err(|e| Error::sops(name, e))?
            .tree;
    }
    let mut out = Vec::new();
    for (i, doc) in tree.documents.iter().enumerate() {
        if doc.entries.is_empty() {
            continue;
        }
        out.push(
            manifest_from_tree(doc).map_err(|e| {
                Error::Usage(format!("{} (document {}): {e}", name.display(), i + 1))
            })?,
        );
    }
    if out.is_empty() {
        return Err(Error::Usage(
            "no secrets found. Ensure the input is valid and UTF-8 encoded".into(),
        ));
    }
    Ok(out)
}

pub fn run(ctx: &Ctx, a: SealArgs) -> Result<()> {
    let src = cert_source(ctx, &a)?;
    let cert = super::reseal::load_cert(ctx, &src, a.allow_expired)?;
    let key = cert.public_key();
    let scope = a.scope.as_deref().map(scope_of).transpose()?;

    if a.raw {
        // One value: label from --name/--namespace per scope (SEALED-SECRETS.md §4.7).
        let scope = scope.unwrap_or_default();
        let ns = a.namespace.clone().unwrap_or_default();
        if scope != Scope::ClusterWide && ns.is_empty() {
            return Err(Error::Usage(format!(
                "must provide the --namespace flag with --raw and --scope {}",
                a.scope.as_deref().unwrap_or("strict")
            )));
        }
        let name = a.name.clone().unwrap_or_default();
        if scope == Scope::Strict && name.is_empty() {
            return Err(Error::Usage(
                "must provide the --name flag with --raw and --scope strict".into(),
            ));
        }
        let value = match &a.from_file {
            Some(p) => std::fs::read(p).map_err(|e| Error::io(p, e))?,
            None => {
                let mut v = Vec::new();
                std::io::Read::read_to_end(&mut std::io::stdin(), &mut v)
                    .map_err(|e| Error::io("<stdin>", e))?;
                v
            }
        };
        let value = SecretBytes::new(value);
        let ct = sealed::seal_value_b64(key, &scope.label(&ns, &name), value.expose())
            .map_err(|e| Error::Usage(e.to_string()))?;
        return Ok(crate::output::stdout_write(ct.as_bytes())?);
    }

    let input = super::read_input(a.file.as_deref(), &Default::default())?;
    let manifests = read_manifests(ctx, &input.name, &input.bytes)?;

    if let Some(target) = &a.merge_into {
        return merge_into(target, &manifests, scope, &a, key);
    }

    let opts = BuildOptions {
        scope,
        namespace: a.namespace.clone(),
        allow_empty_data: a.allow_empty_data,
        ..Default::default()
    };
    let mut out = Vec::new();
    for m in &manifests {
        out.push(
            SealedSecret::seal(m, &opts, key)
                .map_err(|e| Error::Usage(format!("{}: {e}", input.name.display())))?,
        );
    }
    let text = match a.format {
        SealFormat::Yaml => sealed::to_kubeseal_yaml(&out),
        SealFormat::Json => sealed::to_kubeseal_json(&out),
    };
    super::write_output(text.as_bytes(), a.output.as_deref(), None, false)
}

/// `--merge-into`: seal with name and namespace forced from the target, then merge the items,
/// template labels and annotations into it; the file keeps its own format (kubeseal rewrites it
/// as JSON unless told otherwise, a frequent surprise — SEALED-SECRETS.md §4.7).
fn merge_into(
    target: &PathBuf,
    manifests: &[sealed::SecretManifest],
    scope: Option<Scope>,
    a: &SealArgs,
    key: &sealed::SealingPublicKey,
) -> Result<()> {
    let text = std::fs::read_to_string(target).map_err(|e| Error::io(target, e))?;
    let mut existing = sealed::parse_sealed_secrets(&text)
        .map_err(|e| Error::Usage(format!("{}: {e}", target.display())))?;
    if existing.len() != 1 || manifests.len() != 1 {
        return Err(Error::Usage(
            "--merge-into needs exactly one SealedSecret in the file and one Secret as input"
                .into(),
        ));
    }
    let mut ss = existing.remove(0);
    let opts = BuildOptions {
        scope,
        force_name: Some(ss.name.clone()),
        force_namespace: ss.namespace.clone(),
        allow_empty_data: a.allow_empty_data,
        ..Default::default()
    };
    let new = SealedSecret::seal(&manifests[0], &opts, key)
        .map_err(|e| Error::Usage(format!("{}: {e}", target.display())))?;
    if new.scope() != ss.scope() {
        return Err(Error::Usage(format!(
            "{}: the file is {:?} but the input seals as {:?}; the items would not decrypt",
            target.display(),
            ss.scope(),
            new.scope()
        )));
    }
    ss.encrypted_data.extend(new.encrypted_data);
    ss.template
        .metadata
        .labels
        .extend(new.template.metadata.labels);
    ss.template
        .metadata
        .annotations
        .extend(new.template.metadata.annotations);
    // Values merged by hand no longer match reseal's digests: drop them so reseal reseals.
    ss.annotations.remove(crate::reseal::DIGEST_ANNOTATION);
    let json = text.trim_start().starts_with('{');
    let out = if json {
        sealed::to_kubeseal_json(std::slice::from_ref(&ss))
    } else {
        sealed::to_kubeseal_yaml(std::slice::from_ref(&ss))
    };
    crate::fsutil::atomic_write(target, out.as_bytes(), None)?;
    Ok(())
}
