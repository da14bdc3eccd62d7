//! `keys backup`: the controller's sealing key Secrets (SEALED-SECRETS.md §6), stripped of server
//! fields (§7 step 2), written SOPS-encrypted per `.sops.yaml` as ONE `kind: List` file — the
//! same shape as the upstream `kubectl get secret -l … -o yaml` backup, so `kubeseal
//! --recovery-private-key` and `UnsealingKeys::load` read it after decryption. The plaintext keys
//! never touch the disk; a re-run that finds the same keys leaves the file untouched.

use super::cert::{connect, in_cluster, load_clusters, runtime};
use super::Ctx;
use crate::cli::ClusterArgs;
use crate::error::{Error, Result};
use crate::kube::apply::{self, SEALING_KEY_LABEL};
use crate::kube::SecretObject;
use crate::sealed::SealingCert;
use crate::secret::SecretBytes;
use crate::sops::engine::{self, EncryptParams};
use crate::sops::format::Format;
use crate::sops::keys::Identities;
use crate::sops::tree::{Item, Mapping, Node, Scalar, Tree};
use base64::Engine as _;
use std::path::Path;

/// The backup document: `apiVersion: v1`, `kind: List`, one Secret per key, sorted by name.
/// Values are the base64 text Kubernetes uses in `data` (so the decrypted file is a valid
/// manifest); `.sops.yaml`'s `encrypted_regex: ^(data|stringData)$` then encrypts exactly them.
pub fn keys_tree(keys: &[SecretObject]) -> Tree {
    let mut items = Vec::new();
    for k in keys {
        let mut md = Mapping::new();
        md.push("name", Node::str(&k.name));
        md.push("namespace", Node::str(&k.namespace));
        for (field, map) in [("labels", &k.labels), ("annotations", &k.annotations)] {
            if !map.is_empty() {
                let mut m = Mapping::new();
                for (lk, lv) in map {
                    m.push(lk.clone(), Node::str(lv));
                }
                md.push(field, Node::Mapping(m));
            }
        }
        let mut data = Mapping::new();
        for (dk, dv) in &k.data {
            let b64 = base64::engine::general_purpose::STANDARD.encode(dv.expose());
            data.push(
                dk.clone(),
                Node::Scalar(Scalar::Str(SecretBytes::from(b64))),
            );
        }
        let mut s = Mapping::new();
        s.push("apiVersion", Node::str("v1"));
        s.push("kind", Node::str("Secret"));
        s.push("metadata", Node::Mapping(md));
        if let Some(t) = &k.type_ {
            s.push("type", Node::str(t));
        }
        s.push("data", Node::Mapping(data));
        items.push(Item::Node(Node::Mapping(s)));
    }
    let mut doc = Mapping::new();
    doc.push("apiVersion", Node::str("v1"));
    doc.push("kind", Node::str("List"));
    doc.push("items", Node::Sequence(items));
    Tree {
        documents: vec![doc],
    }
}

/// The key Secrets of a decrypted backup: a `kind: List`, or one Secret per document.
pub fn keys_from_tree(tree: &Tree, shown: &Path) -> Result<Vec<SecretObject>> {
    let mut out = Vec::new();
    let bad = |msg: String| Error::Usage(format!("{}: {msg}", shown.display()));
    for doc in &tree.documents {
        let kind = doc.get("kind").and_then(Node::as_str).unwrap_or_default();
        let secrets: Vec<&Mapping> = match kind {
            "List" => match doc.get("items") {
                Some(Node::Sequence(items)) => items
                    .iter()
                    .filter_map(|i| match i {
                        Item::Node(n) => n.as_mapping(),
                        Item::Comment(_) => None,
                    })
                    .collect(),
                _ => return Err(bad("a kind: List without items".into())),
            },
            "Secret" => vec![doc],
            "" if doc.entries.is_empty() => continue,
            other => return Err(bad(format!("kind {other:?}, expected Secret or List"))),
        };
        for (i, s) in secrets.into_iter().enumerate() {
            let m =
                crate::reseal::manifest_from_tree(s).map_err(|e| bad(format!("item {i}: {e}")))?;
            let mut data = m.data;
            data.extend(m.string_data);
            out.push(SecretObject {
                name: m.name,
                namespace: m.namespace.unwrap_or_default(),
                type_: m.type_,
                labels: m.labels,
                annotations: m.annotations,
                data,
            });
        }
    }
    Ok(out)
}

/// The certificate of a key Secret, checked the way the controller needs it: both `tls.crt`
/// and `tls.key` present (a malformed key Secret crashes the controller, §6).
pub fn key_cert(key: &SecretObject) -> std::result::Result<SealingCert, String> {
    let crt = key
        .data
        .get("tls.crt")
        .ok_or_else(|| format!("key Secret {} has no tls.crt", key.name))?;
    if key.data.get("tls.key").is_none_or(|k| k.is_empty()) {
        return Err(format!("key Secret {} has no tls.key", key.name));
    }
    SealingCert::from_pem(crt.expose())
        .map_err(|e| format!("key Secret {}: tls.crt: {e}", key.name))
}

/// Encryption parameters for a new file at `path` from the `.sops.yaml` rule that matches it.
pub(crate) fn params_for(
    ctx: &Ctx,
    path: &Path,
) -> Result<(EncryptParams, crate::sops::format::EmitOptions)> {
    let cfg = ctx.sops_config()?.filter(|c| c.has_creation_rules()).ok_or_else(|| {
        Error::Usage(format!(
            "no .sops.yaml with creation_rules found: add a rule whose path_regex matches {} (recipients that may decrypt the sealing keys)",
            path.display()
        ))
    })?;
    let rule = cfg.rule_for(path).map_err(|e| {
        Error::Usage(format!(
            "{}: {e} — add a creation rule to {} whose path_regex matches {}",
            path.display(),
            cfg.path.display(),
            cfg.match_path(path)
        ))
    })?;
    if let Some(g) = rule.groups.iter().find(|g| !g.others.is_empty()) {
        return Err(Error::Usage(format!(
            "creation rule {} in {} also demands {} keys, which overworld-secrets cannot encrypt to",
            rule.index,
            cfg.path.display(),
            g.others[0].0
        )));
    }
    let params = EncryptParams {
        groups: rule.groups.iter().map(|g| g.age.clone()).collect(),
        shamir_threshold: rule.shamir_threshold,
        selection: rule.selection.clone(),
        mac_only_encrypted: rule.mac_only_encrypted,
    };
    Ok((params, cfg.emit_for(Format::Yaml)))
}

/// Whether `path` already holds exactly `plain` (decrypted with the identities at hand). Without
/// an identity the answer is "no" and the file is rewritten: never worse than a fresh backup.
fn holds_same(path: &Path, plain: &[u8], opts: &crate::sops::format::EmitOptions) -> bool {
    let Ok(bytes) = std::fs::read(path) else {
        return false;
    };
    let Ok(ids) = Identities::from_env() else {
        return false;
    };
    let Ok(enc) = engine::load(Format::Yaml, &bytes) else {
        return false;
    };
    let Ok(dec) = engine::decrypt(&enc, &ids, false) else {
        return false;
    };
    let old = zeroize::Zeroizing::new(
        engine::emit_plain(&dec.tree, Format::Yaml, opts).unwrap_or_default(),
    );
    old.as_slice() == plain
}

pub fn backup(ctx: &Ctx, a: ClusterArgs) -> Result<()> {
    let (config, names) = load_clusters(ctx, a.cluster.as_deref())?;
    let rt = runtime()?;
    for name in names {
        let cluster = &config.clusters[&name];
        let ns = &cluster.controller.namespace;
        let api = connect(&rt, cluster, &a)?;
        let keys = rt
            .block_on(apply::list_sealing_keys(&api, ns))
            .map_err(|e| in_cluster(cluster, e))?;
        if keys.is_empty() {
            return Err(Error::Usage(format!(
                "cluster {name}: no sealing key Secrets (label {SEALING_KEY_LABEL}) in namespace {ns}: is the controller's namespace right (clusters.{name}.controller.namespace), and has it started once?"
            )));
        }
        let mut newest: Option<chrono::DateTime<chrono::Utc>> = None;
        for k in &keys {
            let cert = key_cert(k).map_err(|e| Error::Usage(format!("cluster {name}: {e}")))?;
            newest = newest.max(Some(cert.not_before()));
        }
        let path = &cluster.bootstrap.sealing_keys;
        let shown = config.display_path(path).into_owned();
        let (params, opts) = params_for(ctx, path)?;
        let tree = keys_tree(&keys);
        let plain = zeroize::Zeroizing::new(
            engine::emit_plain(&tree, Format::Yaml, &opts).map_err(|e| Error::sops(&shown, e))?,
        );
        let names_list: Vec<&str> = keys.iter().map(|k| k.name.as_str()).collect();
        if holds_same(path, &plain, &opts) {
            ctx.printer.info(&format!(
                "{name}: {shown} unchanged ({} key(s): {})",
                keys.len(),
                names_list.join(", ")
            ));
            continue;
        }
        let file =
            engine::encrypt(tree, Format::Yaml, &params).map_err(|e| Error::sops(&shown, e))?;
        let bytes = engine::emit_encrypted(&file, &opts).map_err(|e| Error::sops(&shown, e))?;
        crate::fsutil::atomic_write(path, &bytes, Some(0o600))?;
        ctx.printer.info(&format!(
            "{name}: wrote {} key(s) ({}) to {shown}, SOPS-encrypted",
            keys.len(),
            names_list.join(", ")
        ));
        if let Some(nb) = newest {
            ctx.printer.info(&format!(
                "  newest key issued {}; the controller makes a new key every 30 days by default (keyrenewperiod): back up again after each renewal, or set keyrenewperiod: \"0\"",
                nb.format("%Y-%m-%d")
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_SECRET: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/sealed/TEST-ONLY-sealing-key.secret.yaml"
    );

    fn fixture_key() -> SecretObject {
        // Read the upstream-shaped key Secret fixture with our own YAML store.
        let text = std::fs::read(KEY_SECRET).expect("fixture");
        let tree = crate::sops::format::parse(Format::Yaml, &text).expect("yaml");
        let mut keys = keys_from_tree(&tree, Path::new("fixture")).expect("keys");
        assert_eq!(keys.len(), 1);
        keys.remove(0)
    }

    #[test]
    fn backup_list_round_trips_and_is_readable_as_unsealing_keys() {
        let mut k = fixture_key();
        k.namespace = "sealed-secrets".into();
        let tree = keys_tree(&[k.clone()]);
        let yaml = engine::emit_plain(&tree, Format::Yaml, &Default::default()).unwrap();
        let text = String::from_utf8(yaml.clone()).unwrap();
        assert!(
            text.starts_with("apiVersion: v1\nkind: List\nitems:\n"),
            "{text}"
        );
        // The controller-side reader accepts the backup as a key file.
        let keys = crate::sealed::UnsealingKeys::load(&yaml).expect("kind: List is a key file");
        assert_eq!(keys.len(), 1);
        // And we read back exactly what we wrote.
        let back = keys_from_tree(
            &crate::sops::format::parse(Format::Yaml, &yaml).unwrap(),
            Path::new("x"),
        )
        .unwrap();
        assert_eq!(back, vec![k.clone()]);
        assert!(key_cert(&k).is_ok());
    }

    #[test]
    fn key_without_private_key_is_refused() {
        let mut k = fixture_key();
        k.data.remove("tls.key");
        let e = key_cert(&k).unwrap_err();
        assert!(e.contains("no tls.key"), "{e}");
    }
}
