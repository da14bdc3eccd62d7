//! `bootstrap`: what a fresh cluster needs before Flux and the controllers reconcile, applied in
//! order with server-side apply — (1) `flux-system/sops-age` with the age identity under a
//! `.agekey` name (FLUX-SOPS.md §1.2), (2) the backed-up sealing keys into the controller's
//! namespace, labelled `active` (SEALED-SECRETS.md §7), (3) the configured bootstrap Secrets
//! straight from SOPS. Everything is decrypted and validated before the first request, so a bad
//! file never leaves a half-bootstrapped cluster. It must never print or write a value;
//! `--dry-run` shows kinds, names and namespaces only and contacts no cluster.

use super::cert::{connect, in_cluster, load_clusters, runtime};
use super::keys::{key_cert, keys_from_tree};
use super::Ctx;
use crate::cli::BootstrapArgs;
use crate::config::{Cluster, Config};
use crate::error::{Error, Result};
use crate::kube::apply::{self, SEALING_KEY_LABEL};
use crate::kube::SecretObject;
use crate::secret::SecretBytes;
use crate::sops::engine;
use crate::sops::format::Format;
use crate::sops::keys::Identities;
use crate::sops::tree::{Node, Scalar, Tree};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The Flux decryption Secret (FLUX-SOPS.md §1.2): the name every guide and the
/// `--sops-age-secret` patch use, and an entry name ending in `.agekey` (any other is ignored).
pub const FLUX_NAMESPACE: &str = "flux-system";
pub const FLUX_SECRET: &str = "sops-age";
pub const FLUX_KEY: &str = "age.agekey";

/// The controller re-keys at startup when the newest key is older than this (§6, default 720h).
const KEY_RENEW_DAYS: i64 = 30;

/// One Secret to apply and why.
#[derive(Debug)]
pub struct Step {
    pub role: &'static str,
    pub secret: SecretObject,
}

/// Everything `bootstrap` will apply to one cluster, in order.
#[derive(Debug, Default)]
pub struct Plan {
    pub steps: Vec<Step>,
    /// Public recipients of the Flux identity (X25519 lines), to compare with `.sops.yaml`.
    pub flux_recipients: Vec<String>,
    /// NotBefore of the newest restored sealing key, when any was restored.
    pub newest_key: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Serialize)]
struct PlannedObject<'a> {
    kind: &'static str,
    namespace: &'a str,
    name: &'a str,
    role: &'static str,
}

fn decrypt_file(config: &Config, path: &Path, ids: &Identities) -> Result<(Tree, Format)> {
    let shown = PathBuf::from(config.display_path(path).into_owned());
    let bytes = std::fs::read(path).map_err(|e| Error::io(&shown, e))?;
    let format = Format::from_path(path);
    let enc = engine::load(format, &bytes).map_err(|e| Error::sops(&shown, e))?;
    let dec = engine::decrypt(&enc, ids, false).map_err(|e| Error::sops(&shown, e))?;
    Ok((dec.tree, format))
}

/// The age identity from its SOPS file: the binary store's `data`, a Secret manifest's `*.agekey`
/// entry, or a top-level `*.agekey` string.
pub fn age_identity(tree: &Tree, format: Format, shown: &Path) -> Result<SecretBytes> {
    let bad = |m: &str| Error::Usage(format!("{}: {m}", shown.display()));
    let doc = tree.documents.first().ok_or_else(|| bad("empty file"))?;
    let value = if format == Format::Binary {
        match doc.get("data") {
            Some(Node::Scalar(Scalar::Str(s))) => s.clone(),
            _ => return Err(bad("no data in the binary SOPS file")),
        }
    } else if doc.get("kind").and_then(Node::as_str) == Some("Secret") {
        let m = crate::reseal::manifest_from_tree(doc).map_err(|e| bad(&e))?;
        let mut all = m.data;
        all.extend(m.string_data);
        all.into_iter()
            .find(|(k, _)| k.ends_with(".agekey"))
            .map(|(_, v)| v)
            .ok_or_else(|| bad("the Secret has no entry ending in .agekey"))?
    } else {
        doc.pairs()
            .find_map(|(k, v)| match v {
                Node::Scalar(Scalar::Str(s)) if k.ends_with(".agekey") => Some(s.clone()),
                _ => None,
            })
            .ok_or_else(|| bad("no top-level key ending in .agekey"))?
    };
    let text = value
        .as_str()
        .ok_or_else(|| bad("the age identity is not text"))?;
    // Flux reads X25519 and post-quantum identities alike (FLUX-SOPS.md §1.2).
    if !text
        .lines()
        .any(|l| l.trim_start().starts_with("AGE-SECRET-KEY-"))
    {
        return Err(bad(
            "does not hold an age identity (no AGE-SECRET-KEY- line)",
        ));
    }
    Ok(value)
}

/// The public recipients of the X25519 identities in `identity` (public values, safe to print).
pub fn age_recipients(identity: &SecretBytes) -> Vec<String> {
    let Some(text) = identity.as_str() else {
        return Vec::new();
    };
    text.lines()
        .map(str::trim)
        .filter(|l| l.starts_with("AGE-SECRET-KEY-1"))
        .filter_map(|l| l.parse::<age::x25519::Identity>().ok())
        .map(|id| id.to_public().to_string())
        .collect()
}

/// Decrypts and validates everything for `cluster`; no cluster access.
pub fn plan(config: &Config, cluster: &Cluster, ids: &Identities) -> Result<(Plan, Vec<String>)> {
    let mut plan = Plan::default();
    let mut notes = Vec::new();
    let b = &cluster.bootstrap;

    // (1) Flux's decryption key.
    let shown = PathBuf::from(config.display_path(&b.age_key).into_owned());
    if b.age_key.exists() {
        let (tree, format) = decrypt_file(config, &b.age_key, ids)?;
        let identity = age_identity(&tree, format, &shown)?;
        let mut secret = SecretObject {
            name: FLUX_SECRET.into(),
            namespace: FLUX_NAMESPACE.into(),
            type_: Some("Opaque".into()),
            ..Default::default()
        };
        plan.flux_recipients = age_recipients(&identity);
        secret.data.insert(FLUX_KEY.into(), identity);
        plan.steps.push(Step {
            role: "Flux SOPS age key",
            secret,
        });
    } else {
        notes.push(format!(
            "no age identity at {} (clusters.{}.bootstrap.age_key): flux-system/sops-age is not created",
            shown.display(),
            cluster.name
        ));
    }

    // (2) Sealing keys, always into the namespace the controller runs in (§7 namespace gotcha).
    let shown = PathBuf::from(config.display_path(&b.sealing_keys).into_owned());
    if b.sealing_keys.exists() {
        let (tree, _) = decrypt_file(config, &b.sealing_keys, ids)?;
        let keys = keys_from_tree(&tree, &shown)?;
        if keys.is_empty() {
            return Err(Error::Usage(format!(
                "{}: no key Secrets in the backup",
                shown.display()
            )));
        }
        for mut k in keys {
            let cert =
                key_cert(&k).map_err(|e| Error::Usage(format!("{}: {e}", shown.display())))?;
            plan.newest_key = plan.newest_key.max(Some(cert.not_before()));
            k.namespace = cluster.controller.namespace.clone();
            k.type_ = Some("kubernetes.io/tls".into());
            k.labels.insert(SEALING_KEY_LABEL.into(), "active".into());
            plan.steps.push(Step {
                role: "sealing key",
                secret: k,
            });
        }
    } else {
        notes.push(format!(
            "no sealing key backup at {} (clusters.{}.bootstrap.sealing_keys): the controller will make a new key; then run `cert fetch` and `reseal`",
            shown.display(),
            cluster.name
        ));
    }

    // (3) Bootstrap Secrets as they are in SOPS.
    for file in &b.secrets {
        let shown = PathBuf::from(config.display_path(file).into_owned());
        let (tree, _) = decrypt_file(config, file, ids)?;
        for doc in tree.documents.iter().filter(|d| !d.entries.is_empty()) {
            let m = crate::reseal::manifest_from_tree(doc)
                .map_err(|e| Error::Usage(format!("{}: {e}", shown.display())))?;
            let namespace = m.namespace.clone().ok_or_else(|| {
                Error::Usage(format!(
                    "{}: Secret {} has no metadata.namespace; bootstrap Secrets need one",
                    shown.display(),
                    m.name
                ))
            })?;
            if m.name.is_empty() {
                return Err(Error::Usage(format!(
                    "{}: a Secret without metadata.name",
                    shown.display()
                )));
            }
            let mut data = m.data;
            data.extend(m.string_data);
            plan.steps.push(Step {
                role: "bootstrap Secret",
                secret: SecretObject {
                    name: m.name,
                    namespace,
                    type_: m.type_,
                    labels: m.labels,
                    annotations: m.annotations,
                    data,
                },
            });
        }
    }
    Ok((plan, notes))
}

fn ask(question: &str) -> bool {
    use std::io::{BufRead, IsTerminal, Write};
    if !std::io::stdin().is_terminal() {
        return false;
    }
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).is_err() {
        return false;
    }
    matches!(line.trim(), "y" | "Y" | "yes")
}

pub fn run(ctx: &Ctx, a: BootstrapArgs) -> Result<()> {
    let (config, names) = load_clusters(ctx, a.cluster.cluster.as_deref())?;
    let ids = super::load_identities(ctx).map_err(Error::Usage)?;
    let mut listed = Vec::new();
    let mut plans = Vec::new();
    // Decrypt everything for every cluster first: nothing is applied if any file is bad.
    for name in &names {
        let cluster = &config.clusters[name];
        let (plan, notes) = plan(&config, cluster, &ids)?;
        for n in notes {
            ctx.printer.warn(&format!("{name}: {n}"));
        }
        plans.push((cluster, plan));
    }
    if a.dry_run {
        let mut out = String::new();
        for (cluster, plan) in &plans {
            out.push_str(&format!(
                "cluster {} (dry run: nothing applied)\n",
                cluster.name
            ));
            if plan.steps.is_empty() {
                out.push_str("  nothing to apply\n");
            }
            let mut seen = std::collections::BTreeSet::new();
            for s in &plan.steps {
                if seen.insert(s.secret.namespace.as_str()) {
                    out.push_str(&format!(
                        "  Namespace {} (created if missing)\n",
                        s.secret.namespace
                    ));
                    listed.push(PlannedObject {
                        kind: "Namespace",
                        namespace: "",
                        name: &s.secret.namespace,
                        role: "namespace",
                    });
                }
                out.push_str(&format!(
                    "  Secret {}/{} ({})\n",
                    s.secret.namespace, s.secret.name, s.role
                ));
                listed.push(PlannedObject {
                    kind: "Secret",
                    namespace: &s.secret.namespace,
                    name: &s.secret.name,
                    role: s.role,
                });
            }
        }
        if ctx.printer.json {
            out = serde_json::to_string_pretty(&listed).expect("serialisable") + "\n";
        }
        crate::output::stdout_write(out.as_bytes())?;
        return Ok(());
    }

    let rt = runtime()?;
    for (cluster, plan) in &plans {
        let name = &cluster.name;
        let api = connect(&rt, cluster, &a.cluster)?;
        let mut ensured = std::collections::BTreeSet::new();
        for s in &plan.steps {
            let ns = &s.secret.namespace;
            if ensured.insert(ns.clone())
                && rt
                    .block_on(apply::ensure_namespace(&api, ns))
                    .map_err(|e| in_cluster(cluster, e))?
            {
                ctx.printer.info(&format!("{name}: created namespace {ns}"));
            }
            rt.block_on(apply::apply_secret(&api, &s.secret))
                .map_err(|e| in_cluster(cluster, e))?;
            ctx.printer.info(&format!(
                "{name}: applied Secret {ns}/{} ({})",
                s.secret.name, s.role
            ));
            if s.role == "Flux SOPS age key" && !plan.flux_recipients.is_empty() {
                ctx.printer.info(&format!(
                    "  Flux decrypts files encrypted to {} — make sure .sops.yaml lists it",
                    plan.flux_recipients.join(", ")
                ));
            }
        }
        let Some(newest) = plan.newest_key else {
            continue;
        };
        let ctrl_ns = &cluster.controller.namespace;
        let pods = rt
            .block_on(apply::controller_pods(&api, ctrl_ns))
            .map_err(|e| in_cluster(cluster, e))?;
        if !pods.is_empty() {
            ctx.printer.warn(&format!(
                "{name}: the sealed-secrets controller is already running ({}); it read its keys at startup and serves its own until it restarts (SEALED-SECRETS.md §7 step 4)",
                pods.join(", ")
            ));
            // A controller that already ran made its own key; if that one is newer than every
            // restored key it stays the sealing key after the restart (§6 ordering, §7 step 4).
            let restored: Vec<&str> = plan
                .steps
                .iter()
                .filter(|s| s.role == "sealing key")
                .map(|s| s.secret.name.as_str())
                .collect();
            match rt.block_on(apply::list_sealing_keys(&api, ctrl_ns)) {
                Ok(keys) => {
                    let newer: Vec<String> = keys
                        .iter()
                        .filter(|k| !restored.contains(&k.name.as_str()))
                        .filter(|k| key_cert(k).is_ok_and(|c| c.not_before() > newest))
                        .map(|k| k.name.clone())
                        .collect();
                    if !newer.is_empty() {
                        ctx.printer.warn(&format!(
                            "{name}: the controller's own key(s) {} are newer than the restored one, so it keeps sealing with them (old SealedSecrets still decrypt). To serve the restored key, delete them and restart the controller (again): kubectl -n {ctrl_ns} delete secret {}",
                            newer.join(", "),
                            newer.join(" ")
                        ));
                    }
                }
                Err(e) => ctx.printer.warn(&format!(
                    "{name}: could not compare with the controller's own keys: {e}"
                )),
            }
            if a.yes || ask("Restart the controller now (delete its pods)?") {
                rt.block_on(apply::restart_controller(&api, ctrl_ns, &pods))
                    .map_err(|e| in_cluster(cluster, e))?;
                ctx.printer.info(&format!(
                    "{name}: deleted controller pod(s) {}; the Deployment starts new ones that load the restored keys",
                    pods.join(", ")
                ));
            } else {
                ctx.printer.warn(&format!(
                    "{name}: restart it yourself: kubectl -n {ctrl_ns} delete pod -l app.kubernetes.io/name=sealed-secrets (Helm chart) or -l name=sealed-secrets-controller (plain manifest)"
                ));
            }
        }
        let age_days = (chrono::Utc::now() - newest).num_days();
        if age_days > KEY_RENEW_DAYS {
            ctx.printer.warn(&format!(
                "{name}: the newest restored key was issued {age_days} days ago, more than the default key renewal period (30 days): the controller makes a new sealing key right after it starts (old SealedSecrets still decrypt). Set the chart value keyrenewperiod: \"0\" (or --key-renew-period=0) if the restored key must stay the sealing key, then `cert fetch`"
            ));
        }
        ctx.printer.info(&format!(
            "{name}: sealing key restored — the SealedSecrets in git decrypt as they are: no reseal needed"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sops::tree::Mapping;

    fn tree_with(key: &str, value: &str) -> Tree {
        let mut m = Mapping::new();
        m.push(key, Node::str(value));
        Tree { documents: vec![m] }
    }

    #[test]
    fn age_identity_from_binary_store_and_top_level_key() {
        let id = "# created: test\nAGE-SECRET-KEY-1QQQQ\n";
        let t = tree_with("data", id);
        let v = age_identity(&t, Format::Binary, Path::new("k")).unwrap();
        assert_eq!(v.expose(), id.as_bytes());
        let t = tree_with("identity.agekey", id);
        assert!(age_identity(&t, Format::Yaml, Path::new("k")).is_ok());
        // A key whose name Flux would ignore (FLUX-SOPS.md §1.2) is refused.
        let t = tree_with("age.key", id);
        assert!(age_identity(&t, Format::Yaml, Path::new("k")).is_err());
    }

    #[test]
    fn flux_recipient_is_derived_from_the_identity() {
        // The TEST-ONLY demo identity and its published recipient (keys/demo/recipient.txt).
        let id = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/keys/demo/TEST-ONLY-age.agekey"
        ))
        .unwrap();
        let want = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/keys/demo/recipient.txt"
        ))
        .unwrap();
        let want = want.lines().find(|l| l.starts_with("age1")).unwrap();
        assert_eq!(
            age_recipients(&SecretBytes::new(id)),
            vec![want.to_string()]
        );
    }

    #[test]
    fn non_identity_content_is_refused_without_echoing_it() {
        let t = tree_with("data", "hunter2-not-a-key");
        let e = age_identity(&t, Format::Binary, Path::new("k"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("AGE-SECRET-KEY-"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
    }
}
