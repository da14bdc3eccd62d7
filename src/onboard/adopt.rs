//! `adopt`: plan (and then apply) the move of an existing repository's plaintext Secret manifests
//! and SealedSecrets into SOPS sources for one cluster (issue 11, HOMELAB-WORKFLOWS.md §1).
//!
//! [`scan`] reads the repository, [`plan`] decides everything and encrypts every new source in
//! memory, [`apply`] writes. Nothing here prompts or prints; `commands::adopt` does. Plaintext is
//! held only in the SOPS tree's secret buffers; messages carry file names, Secret names and item
//! keys, never values.

use super::edit;
use crate::config::{Cluster, Config};
use crate::reseal::manifest_from_tree;
use crate::sealed::{self, SealedSecret, UnsealingKeys};
use crate::secret::SecretBytes;
use crate::sops::engine::{self, EncryptParams};
use crate::sops::format::{self, Format};
use crate::sops::metadata::Selection;
use crate::sops::rules::SopsConfig;
use crate::sops::tree::{Item, Mapping, Node, Scalar, Tree};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Why adopt stopped before writing anything (`Plan`), or a write that failed (`Io`).
#[derive(Debug, thiserror::Error)]
pub enum AdoptError {
    #[error("{0}")]
    Plan(String),
    #[error("{}: {msg}", path.display())]
    Io { path: PathBuf, msg: String },
}

/// A plaintext `kind: Secret` document found in the repository.
pub struct PlainSecret {
    /// Relative to the repository root.
    pub file: PathBuf,
    pub name: String,
    pub namespace: Option<String>,
    /// The document (values in secret buffers).
    pub doc: Mapping,
}

/// One SealedSecret found in the repository.
pub struct FoundSealed {
    pub file: PathBuf,
    /// How many SealedSecrets the file holds (reseal writes one per file).
    pub in_file: usize,
    pub object: SealedSecret,
}

/// A hand-written ExternalSecret: input for `external-secrets import` (see [`external_secrets_import_hook`]).
#[derive(Debug, Clone)]
pub struct FoundExternalSecret {
    pub file: PathBuf,
    pub name: String,
    pub namespace: Option<String>,
}

/// A kustomization and the resources it lists (as written).
pub struct FoundKustomization {
    pub file: PathBuf,
    pub resources: Vec<String>,
}

/// What [`scan`] found.
#[derive(Default)]
pub struct Inventory {
    pub plain: Vec<PlainSecret>,
    pub sealed: Vec<FoundSealed>,
    pub external_secrets: Vec<FoundExternalSecret>,
    pub kustomizations: Vec<FoundKustomization>,
    /// Files that hold only plaintext Secret documents (safe to delete once adopted).
    pub plain_only_files: BTreeSet<PathBuf>,
    /// Files skipped, with why (names and positions only).
    pub skipped: Vec<(PathBuf, String)>,
}

fn text_of<'a>(m: &'a Mapping, key: &str) -> Option<&'a str> {
    m.get(key).and_then(Node::as_str)
}

fn meta_str(doc: &Mapping, key: &str) -> Option<String> {
    doc.get("metadata")
        .and_then(Node::as_mapping)
        .and_then(|md| text_of(md, key))
        .map(str::to_string)
        .filter(|s| !s.is_empty())
}

fn has_items(doc: &Mapping) -> bool {
    ["data", "stringData"]
        .iter()
        .any(|f| matches!(doc.get(f), Some(Node::Mapping(m)) if m.pairs().next().is_some()))
}

/// Folders never scanned: VCS, build output, and what this tool already manages.
fn skip_dir(name: &str) -> bool {
    matches!(
        name,
        ".git" | "target" | "node_modules" | ".venv" | ".direnv"
    )
}

/// Reads every YAML file below `root` (gitignored ones included: the plaintext `*.secret.yaml`
/// files are usually ignored, HOMELAB-WORKFLOWS.md §1.1), except below `exclude`.
pub fn scan(root: &Path, exclude: &[PathBuf]) -> Inventory {
    let mut files = Vec::new();
    fn walk(root: &Path, d: &Path, exclude: &[PathBuf], out: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(d) else { return };
        for e in rd.flatten() {
            let p = e.path();
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                if skip_dir(&e.file_name().to_string_lossy()) || exclude.contains(&p) {
                    continue;
                }
                walk(root, &p, exclude, out);
            } else if ft.is_file()
                && matches!(p.extension().and_then(|x| x.to_str()), Some("yaml" | "yml"))
            {
                if let Ok(r) = p.strip_prefix(root) {
                    out.push(r.to_path_buf());
                }
            }
        }
    }
    walk(root, root, exclude, &mut files);
    files.sort();
    let mut inv = Inventory::default();
    for rel in files {
        scan_file(root, &rel, &mut inv);
    }
    inv
}

fn scan_file(root: &Path, rel: &Path, inv: &mut Inventory) {
    let named_secret = rel.to_string_lossy().ends_with(".secret.yaml")
        || rel.to_string_lossy().ends_with(".secret.yml");
    let Ok(bytes) = std::fs::read(root.join(rel)) else {
        inv.skipped.push((rel.into(), "cannot be read".into()));
        return;
    };
    let bytes = zeroize::Zeroizing::new(bytes);
    let tree = match format::parse(Format::Yaml, &bytes) {
        Ok(t) => t,
        Err(e) => {
            if named_secret {
                inv.skipped.push((
                    rel.into(),
                    // FormatError carries a line and a reason, never file content.
                    format!("not parseable YAML ({e})"),
                ));
            }
            return;
        }
    };
    if tree.documents.iter().any(|d| d.get("sops").is_some()) {
        return; // Already SOPS-encrypted.
    }
    let mut all_plain = true;
    let mut any_plain = false;
    let mut sealed_docs = 0;
    for doc in tree.documents.iter().filter(|d| !d.entries.is_empty()) {
        let kind = text_of(doc, "kind").unwrap_or("");
        let api = text_of(doc, "apiVersion").unwrap_or("v1");
        match kind {
            "Secret" if api == "v1" && has_items(doc) => {
                any_plain = true;
                match meta_str(doc, "name") {
                    Some(name) => inv.plain.push(PlainSecret {
                        file: rel.into(),
                        name,
                        namespace: meta_str(doc, "namespace"),
                        doc: doc.clone(),
                    }),
                    None => {
                        all_plain = false;
                        inv.skipped
                            .push((rel.into(), "a Secret without metadata.name".into()));
                    }
                }
            }
            "SealedSecret" => {
                all_plain = false;
                sealed_docs += 1;
            }
            "ExternalSecret" => {
                all_plain = false;
                if let Some(name) = meta_str(doc, "name") {
                    inv.external_secrets.push(FoundExternalSecret {
                        file: rel.into(),
                        name,
                        namespace: meta_str(doc, "namespace"),
                    });
                }
            }
            "Kustomization" if api.starts_with("kustomize.config.k8s.io/") => {
                all_plain = false;
                let mut resources = Vec::new();
                if let Some(Node::Sequence(items)) = doc.get("resources") {
                    for it in items {
                        if let Item::Node(n) = it {
                            if let Some(s) = n.as_str() {
                                resources.push(s.to_string());
                            }
                        }
                    }
                }
                inv.kustomizations.push(FoundKustomization {
                    file: rel.into(),
                    resources,
                });
            }
            _ => all_plain = false,
        }
    }
    if any_plain && all_plain {
        inv.plain_only_files.insert(rel.into());
    }
    if sealed_docs > 0 {
        // SealedSecrets hold no plaintext: reading them as JSON values is fine.
        let text = String::from_utf8_lossy(&bytes);
        match sealed::parse_documents(&text) {
            Ok(docs) => {
                let objs: Vec<SealedSecret> = docs
                    .into_iter()
                    .filter(|d| d.get("kind").and_then(|k| k.as_str()) == Some("SealedSecret"))
                    .filter_map(|d| SealedSecret::from_json(d).ok())
                    .collect();
                let n = objs.len();
                if n < sealed_docs {
                    inv.skipped
                        .push((rel.into(), "a SealedSecret that cannot be read".into()));
                }
                for object in objs {
                    inv.sealed.push(FoundSealed {
                        file: rel.into(),
                        in_file: n,
                        object,
                    });
                }
            }
            Err(e) => inv.skipped.push((rel.into(), e.to_string())),
        }
    }
}

/// Where a new source comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A plaintext file in the repository.
    Plaintext(PathBuf),
    /// Unsealed offline from this SealedSecret file with `--sealing-key`.
    Unsealed(PathBuf),
}

/// One SOPS source adopt will create.
pub struct NewSource {
    /// `<namespace>/<name>` (`cluster-wide/<name>`): the `sealed_paths` key.
    pub key: String,
    /// The new file, relative to the repository root.
    pub file: PathBuf,
    pub origin: Origin,
    /// The SealedSecret file it replaces, if any (relative to the root).
    pub replaces: Option<PathBuf>,
    /// The encrypted file's bytes.
    pub encrypted: Vec<u8>,
}

/// The whole adopt plan for one cluster.
#[derive(Default)]
pub struct AdoptPlan {
    pub cluster: String,
    pub sources: Vec<NewSource>,
    /// Added to `clusters.<c>.sealed_paths` (key → path relative to the config).
    pub sealed_paths: BTreeMap<String, String>,
    /// SealedSecrets without a source and without a key to open them: `(file, ns/name)`.
    pub sealed_only: Vec<(PathBuf, String)>,
    /// Plaintext files that can be deleted once the plan is applied.
    pub deletable_plaintext: Vec<PathBuf>,
    /// Plaintext files among them that git tracks (their values are in the history).
    pub tracked_plaintext: Vec<PathBuf>,
    /// With `--move` (or a SealedSecret file holding several objects): kustomization edits to make.
    pub kustomization_updates: Vec<String>,
    /// The new `.sops.yaml` text (a rule added), and the rule's lines for the message.
    pub sops_yaml: Option<(PathBuf, String)>,
    pub sops_rule_note: Option<String>,
    /// The new `overworld-secrets.yaml` text.
    pub config_text: Option<String>,
    /// Hand-written ExternalSecrets for `external-secrets import`.
    pub external_secrets: Vec<FoundExternalSecret>,
    /// Sources already adopted (the file exists): left alone.
    pub already: Vec<PathBuf>,
    pub notes: Vec<String>,
}

impl AdoptPlan {
    pub fn changes_anything(&self) -> bool {
        !self.sources.is_empty()
            || self.sops_yaml.is_some()
            || self.config_text.is_some()
            || !self.deletable_plaintext.is_empty()
    }
}

/// What [`plan`] needs besides the inventory.
pub struct AdoptOptions<'a> {
    pub config: &'a Config,
    pub cluster: &'a Cluster,
    pub sops: &'a SopsConfig,
    /// The `.sops.yaml` text as on disk (edited when a rule is needed).
    pub sops_text: &'a str,
    pub config_text: &'a str,
    pub keys: Option<&'a UnsealingKeys>,
    pub move_to_standard: bool,
    /// Files git tracks (relative), to warn about plaintext already in the history.
    pub tracked: &'a BTreeSet<PathBuf>,
}

fn key_of(ns: Option<&str>, name: &str) -> String {
    format!("{}/{name}", ns.unwrap_or("cluster-wide"))
}

fn mapping_mut<'a>(doc: &'a mut Mapping, key: &str) -> &'a mut Mapping {
    if !matches!(doc.get(key), Some(Node::Mapping(_))) {
        doc.remove(key);
        doc.push(key, Node::Mapping(Mapping::new()));
    }
    match doc.get_mut(key) {
        Some(Node::Mapping(m)) => m,
        _ => unreachable!("just inserted"),
    }
}

fn set_str(m: &mut Mapping, key: &str, value: &str) {
    if let Some(n) = m.get_mut(key) {
        *n = Node::str(value);
    } else {
        m.push(key, Node::str(value));
    }
}

/// Makes the source carry the sealed object's namespace and scope, so reseal seals it for the same
/// OAEP label the controller expects (SEALED-SECRETS.md §2: the scope is read from annotations;
/// kubeseal's `--scope` flag may have set it without the plaintext file saying so, §4.2).
fn align_with_sealed(doc: &mut Mapping, ss: &SealedSecret) {
    let md = mapping_mut(doc, "metadata");
    if let Some(ns) = &ss.namespace {
        set_str(md, "namespace", ns);
    }
    let want = ss.scope();
    let have = {
        let mut ann = BTreeMap::new();
        if let Some(Node::Mapping(a)) = md.get("annotations") {
            for (k, v) in a.pairs() {
                if let Some(s) = v.as_str() {
                    ann.insert(k.to_string(), s.to_string());
                }
            }
        }
        sealed::Scope::from_annotations(&ann)
    };
    if want != have {
        let ann = mapping_mut(md, "annotations");
        ann.remove(sealed::scope::CLUSTER_WIDE_ANNOTATION);
        ann.remove(sealed::scope::NAMESPACE_WIDE_ANNOTATION);
        if let Some(a) = want.annotation() {
            ann.push(a, Node::str("true"));
        }
    }
}

/// A Secret document rebuilt from what the controller would create (SEALED-SECRETS.md §3.2),
/// with the SealedSecret's scope annotation so reseal reproduces the label. `data` stays base64
/// so binary values survive exactly.
fn source_from_unsealed(u: &sealed::UnsealedSecret, ss: &SealedSecret) -> Mapping {
    use base64::Engine as _;
    let mut doc = Mapping::new();
    doc.push("apiVersion", Node::str("v1"));
    doc.push("kind", Node::str("Secret"));
    let mut md = Mapping::new();
    md.push("name", Node::str(&ss.name));
    if let Some(ns) = &ss.namespace {
        md.push("namespace", Node::str(ns));
    }
    let strings = |m: &BTreeMap<String, String>| {
        let mut out = Mapping::new();
        for (k, v) in m {
            out.push(k.clone(), Node::str(v));
        }
        out
    };
    if !u.metadata.labels.is_empty() {
        md.push("labels", Node::Mapping(strings(&u.metadata.labels)));
    }
    let mut ann = u.metadata.annotations.clone();
    ann.remove(sealed::scope::CLUSTER_WIDE_ANNOTATION);
    ann.remove(sealed::scope::NAMESPACE_WIDE_ANNOTATION);
    if let Some(a) = ss.scope().annotation() {
        ann.insert(a.to_string(), "true".into());
    }
    if !ann.is_empty() {
        md.push("annotations", Node::Mapping(strings(&ann)));
    }
    doc.push("metadata", Node::Mapping(md));
    if let Some(t) = &u.type_ {
        doc.push("type", Node::str(t));
    }
    if let Some(i) = u.immutable {
        doc.push("immutable", Node::Scalar(Scalar::Bool(i)));
    }
    let mut data = Mapping::new();
    for (k, v) in &u.data {
        let b64 = SecretBytes::from(base64::engine::general_purpose::STANDARD.encode(v.expose()));
        data.push(k.clone(), Node::Scalar(Scalar::Str(b64)));
    }
    doc.push("data", Node::Mapping(data));
    doc
}

/// The item keys whose plaintext differs between a plaintext manifest and an unsealed Secret.
fn differing_items(doc: &Mapping, u: &sealed::UnsealedSecret) -> Result<Vec<String>, String> {
    let m = manifest_from_tree(doc)?;
    let mut plain: BTreeMap<&str, &[u8]> = BTreeMap::new();
    for (k, v) in m.data.iter().chain(m.string_data.iter()) {
        plain.insert(k, v.expose());
    }
    let keys: BTreeSet<&str> = plain
        .keys()
        .copied()
        .chain(u.data.keys().map(String::as_str))
        .collect();
    Ok(keys
        .into_iter()
        .filter(|k| plain.get(k).copied() != u.data.get(*k).map(|v| v.expose()))
        .map(str::to_string)
        .collect())
}

/// The hook for the external-secrets `import` command (another part of the tool, issue 11's
/// "imports hand-written ExternalSecrets into `workloads:`"): adopt hands it what it found. Until
/// that command is merged, adopt only lists them and this returns them unchanged.
pub fn external_secrets_import_hook(found: &[FoundExternalSecret]) -> Vec<FoundExternalSecret> {
    found.to_vec()
}

/// Encryption parameters for the new sources: the `.sops.yaml` rule for them if it follows the
/// Flux convention, else a new first rule for the cluster's sources folder with the same recipients
/// (HOMELAB-WORKFLOWS.md §1.1: the user's rule has no `encrypted_regex`).
fn encryption_for(
    o: &AdoptOptions,
    plan: &mut AdoptPlan,
    probe: &Path,
) -> Result<(SopsConfig, EncryptParams), AdoptError> {
    let flux = |r: &crate::sops::rules::CreationRule| matches!(&r.selection, Some(Selection::EncryptedRegex(re)) if re.contains("data"));
    let current = o.sops.rule_for(probe);
    if let Ok(rule) = &current {
        if flux(rule) {
            return Ok((o.sops.clone(), params_of(rule, &o.sops.path)?));
        }
    }
    let recipients: Vec<String> = match &current {
        Ok(rule) => {
            plan.notes.push(format!(
                "{}: creation rule {} matches the new sources but has no encrypted_regex, so sops would encrypt every value (names and kinds too); adding a Flux-convention rule for them (encrypted_regex: ^(data|stringData)$) with the same recipients",
                o.config.display_path(&o.sops.path),
                rule.index
            ));
            single_group(rule, &o.sops.path)?
        }
        Err(_) => {
            // No rule matches the sources folder: borrow the recipients of the first age rule.
            let any = o.config.root.join("any.secret.yaml");
            let rule = o.sops.rule_for(&any).map_err(|_| {
                AdoptError::Plan(format!(
                    "{}: no creation rule matches {} and none to borrow recipients from; add a rule with your age recipients (see `overworld-secrets init`)",
                    o.sops.path.display(),
                    o.config.display_path(probe)
                ))
            })?;
            plan.notes.push(format!(
                "{}: no creation rule matches the new sources; adding one (Flux convention) with the recipients of rule {}",
                o.config.display_path(&o.sops.path),
                rule.index
            ));
            single_group(&rule, &o.sops.path)?
        }
    };
    let rel = o.cluster.sources.strip_prefix(o.sops.dir()).map_err(|_| {
        AdoptError::Plan(format!(
            "the sources folder {} is outside the folder of {}",
            o.cluster.sources.display(),
            o.sops.path.display()
        ))
    })?;
    let regex = format!("^{}/.*\\.ya?ml$", regex::escape(&rel.to_string_lossy()));
    let comment = format!(
        "{} sources (added by `overworld-secrets adopt`): only data/stringData encrypted",
        o.cluster.name
    );
    let new_text = edit::insert_first_rule(o.sops_text, &comment, |i| {
        edit::flux_rule(&regex, &recipients, i)
    });
    let rule_lines = edit::flux_rule(&regex, &recipients, 2);
    let bad = || {
        AdoptError::Plan(format!(
            "cannot add the creation rule to {} automatically; add it as the first rule and re-run:\n{rule_lines}",
            o.sops.path.display()
        ))
    };
    let new_text = new_text.ok_or_else(bad)?;
    let new_cfg = SopsConfig::parse(&o.sops.path, &new_text).map_err(|_| bad())?;
    let rule = new_cfg.rule_for(probe).map_err(|_| bad())?;
    if !flux(&rule) {
        return Err(bad());
    }
    let params = params_of(&rule, &o.sops.path)?;
    plan.sops_rule_note = Some(rule_lines);
    plan.sops_yaml = Some((o.sops.path.clone(), new_text));
    Ok((new_cfg, params))
}

fn single_group(
    rule: &crate::sops::rules::CreationRule,
    path: &Path,
) -> Result<Vec<String>, AdoptError> {
    match rule.groups.as_slice() {
        [g] if g.others.is_empty() && !g.age.is_empty() => Ok(g.age.clone()),
        _ => Err(AdoptError::Plan(format!(
            "{}: creation rule {} uses key groups or non-age keys; add a rule for the sources folder with encrypted_regex: ^(data|stringData)$ yourself and re-run",
            path.display(),
            rule.index
        ))),
    }
}

fn params_of(
    rule: &crate::sops::rules::CreationRule,
    path: &Path,
) -> Result<EncryptParams, AdoptError> {
    if rule.groups.iter().any(|g| !g.others.is_empty()) {
        return Err(AdoptError::Plan(format!(
            "{}: creation rule {} demands non-age keys, which overworld-secrets cannot encrypt to",
            path.display(),
            rule.index
        )));
    }
    Ok(EncryptParams {
        groups: rule.groups.iter().map(|g| g.age.clone()).collect(),
        shamir_threshold: rule.shamir_threshold,
        selection: rule.selection.clone(),
        mac_only_encrypted: rule.mac_only_encrypted,
    })
}

/// Decides everything and encrypts every new source in memory. Writes nothing.
pub fn plan(inv: &Inventory, o: &AdoptOptions) -> Result<AdoptPlan, AdoptError> {
    let root = &o.config.root;
    let mut plan = AdoptPlan {
        cluster: o.cluster.name.clone(),
        external_secrets: external_secrets_import_hook(&inv.external_secrets),
        ..Default::default()
    };
    for (f, why) in &inv.skipped {
        plan.notes.push(format!("{}: skipped: {why}", f.display()));
    }
    let probe = o.cluster.sources.join("probe").join("probe.yaml");
    let (sops_cfg, params) = encryption_for(o, &mut plan, &probe)?;
    let emit = sops_cfg.emit_for(Format::Yaml);

    // Sealed objects by key; several with the same key are ambiguous.
    let mut sealed_by_key: BTreeMap<String, Vec<&FoundSealed>> = BTreeMap::new();
    for s in &inv.sealed {
        sealed_by_key
            .entry(key_of(s.object.namespace.as_deref(), &s.object.name))
            .or_default()
            .push(s);
    }
    let mut used_sealed: BTreeSet<String> = BTreeSet::new();
    // (key, doc, origin, replaced sealed)
    let mut docs: Vec<(String, Mapping, Origin, Option<&FoundSealed>)> = Vec::new();
    let mut seen_plain: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut not_adopted_files: BTreeSet<PathBuf> = BTreeSet::new();
    for p in &inv.plain {
        // A namespace-less plaintext file takes the namespace of the SealedSecret of the same name
        // next to it (the kubeseal loop seals `X.secret.yaml` into `X.sealed.yaml` in one folder).
        let twin: Option<&FoundSealed> = match &p.namespace {
            Some(ns) => sealed_by_key
                .get(&key_of(Some(ns), &p.name))
                .and_then(|v| v.first().copied()),
            None => {
                let same_name: Vec<&FoundSealed> = inv
                    .sealed
                    .iter()
                    .filter(|s| s.object.name == p.name)
                    .collect();
                same_name
                    .iter()
                    .find(|s| s.file.parent() == p.file.parent())
                    .or(if same_name.len() == 1 {
                        same_name.first()
                    } else {
                        None
                    })
                    .copied()
            }
        };
        let mut doc = p.doc.clone();
        if let Some(t) = twin {
            align_with_sealed(&mut doc, &t.object);
        }
        let ns = meta_str(&doc, "namespace");
        let scope_cw = twin.is_some_and(|t| t.object.scope() == sealed::Scope::ClusterWide);
        if ns.is_none() && !scope_cw {
            plan.notes.push(format!(
                "{}: Secret {} has no namespace and no SealedSecret to take it from; add metadata.namespace and re-run",
                p.file.display(),
                p.name
            ));
            not_adopted_files.insert(p.file.clone());
            continue;
        }
        let key = key_of(ns.as_deref(), &p.name);
        if let Err(e) = manifest_from_tree(&doc) {
            plan.notes.push(format!(
                "{}: Secret {key} cannot be a reseal source: {e}",
                p.file.display()
            ));
            not_adopted_files.insert(p.file.clone());
            continue;
        }
        if let Some(first) = seen_plain.insert(key.clone(), p.file.clone()) {
            return Err(AdoptError::Plan(format!(
                "Secret {key} is defined in both {} and {}; keep one and re-run",
                first.display(),
                p.file.display()
            )));
        }
        if let (Some(t), Some(keys)) = (twin, o.keys) {
            // Both exist: the plaintext wins, but say when the cluster runs something else.
            if let Ok(u) = sealed::unseal(&t.object, keys, None) {
                match differing_items(&doc, &u) {
                    Ok(d) if !d.is_empty() => plan.notes.push(format!(
                        "{}: Secret {key} differs from {} in item(s) {} — the plaintext file is adopted; it was probably changed without resealing",
                        p.file.display(),
                        t.file.display(),
                        d.join(", ")
                    )),
                    _ => {}
                }
            }
        }
        if twin.is_some() {
            used_sealed.insert(key.clone());
        }
        docs.push((key, doc, Origin::Plaintext(p.file.clone()), twin));
    }
    let existing = existing_source_keys(&o.cluster.sources, root);
    for (key, found) in &sealed_by_key {
        if used_sealed.contains(key) {
            continue;
        }
        if let Some(f) = existing.get(key) {
            // Adopted by an earlier run: its SealedSecret is reseal's output now.
            plan.already.push(f.clone());
            continue;
        }
        let s = found[0];
        if found.len() > 1 {
            plan.notes.push(format!(
                "SealedSecret {key} is defined in several files ({}); using {}",
                found
                    .iter()
                    .map(|f| f.file.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                s.file.display()
            ));
        }
        match o.keys {
            None => plan.sealed_only.push((s.file.clone(), key.clone())),
            Some(keys) => match sealed::unseal(&s.object, keys, None) {
                Ok(u) => docs.push((
                    key.clone(),
                    source_from_unsealed(&u, &s.object),
                    Origin::Unsealed(s.file.clone()),
                    Some(s),
                )),
                Err(e) => {
                    plan.notes.push(format!(
                        "{}: SealedSecret {key} does not open with the sealing key ({e}); left as it is",
                        s.file.display()
                    ));
                    plan.sealed_only.push((s.file.clone(), key.clone()));
                }
            },
        }
    }

    let mut covered: BTreeSet<PathBuf> = BTreeSet::new();
    for (key, doc, origin, twin) in docs {
        let file_abs = o.cluster.sources.join(format!("{key}.yaml"));
        let file = file_abs
            .strip_prefix(root)
            .unwrap_or(&file_abs)
            .to_path_buf();
        if let Origin::Plaintext(f) = &origin {
            covered.insert(f.clone());
        }
        if let Some(f) = existing.get(&key) {
            plan.already.push(f.clone());
            continue;
        }
        if file_abs.exists() {
            return Err(AdoptError::Plan(format!(
                "{} exists but does not define Secret {key}; move it away and re-run",
                file.display()
            )));
        }
        let tree = Tree {
            documents: vec![doc],
        };
        let enc = engine::encrypt(tree, Format::Yaml, &params)
            .and_then(|f| engine::emit_encrypted(&f, &emit))
            .map_err(|e| AdoptError::Plan(format!("encrypting {}: {e}", file.display())))?;
        let mut replaces = twin.map(|t| t.file.clone());
        if let Some(t) = twin {
            let several = t.in_file > 1;
            if o.move_to_standard || several {
                if several {
                    plan.notes.push(format!(
                        "{} holds {} SealedSecrets; reseal writes one per file, so {key} moves to the standard layout",
                        t.file.display(),
                        t.in_file
                    ));
                }
                let new_abs = o.cluster.sealed.join(format!("{key}.sealed.yaml"));
                kustomization_hints(inv, root, &t.file, &new_abs, &mut plan);
                replaces = Some(t.file.clone());
            } else {
                let abs = root.join(&t.file);
                let rel_cfg = abs.strip_prefix(&o.config.root).unwrap_or(&abs);
                plan.sealed_paths
                    .insert(key.clone(), rel_cfg.to_string_lossy().into_owned());
            }
        }
        plan.sources.push(NewSource {
            key,
            file,
            origin,
            replaces,
            encrypted: enc,
        });
    }

    // Plaintext files whose every Secret is now (or already was) adopted.
    for f in &inv.plain_only_files {
        if covered.contains(f) && !not_adopted_files.contains(f) {
            // A plaintext file a kustomization applies directly (no SealedSecret twin): deleting
            // it would break the build, so it stays until the entry points at the sealed file.
            if let Some(k) = listed_by(inv, root, f) {
                plan.notes.push(format!(
                    "{}: applied as a plain Secret by {}; after reseal, list its SealedSecret from {} there instead, then delete it",
                    f.display(),
                    k.display(),
                    o.config.display_path(&o.cluster.sealed)
                ));
                continue;
            }
            plan.deletable_plaintext.push(f.clone());
            if o.tracked.contains(f) {
                plan.tracked_plaintext.push(f.clone());
            }
        }
    }
    for f in inv.plain.iter().map(|p| &p.file).collect::<BTreeSet<_>>() {
        if !inv.plain_only_files.contains(f) {
            plan.notes.push(format!(
                "{}: holds other documents besides Secrets; remove its Secret documents by hand once adopted",
                f.display()
            ));
        }
    }
    if !plan.sealed_paths.is_empty() {
        let text = edit::insert_sealed_paths(o.config_text, &o.cluster.name, &plan.sealed_paths)
            .filter(|t| {
                edit::verify_sealed_paths(&o.config.path, t, &o.cluster.name, &plan.sealed_paths)
            })
            .ok_or_else(|| {
                let mut lines = String::new();
                for (k, v) in &plan.sealed_paths {
                    lines.push_str(&format!("      {}: {}\n", edit::yaml_quote(k), edit::yaml_quote(v)));
                }
                AdoptError::Plan(format!(
                    "cannot add sealed_paths to clusters.{} in {} automatically; add this under the cluster and re-run (or use --move):\n    sealed_paths:\n{lines}",
                    o.cluster.name,
                    o.config.path.display()
                ))
            })?;
        plan.config_text = Some(text);
    }
    Ok(plan)
}

/// `<ns>/<name>` → file (relative to the root) of every Secret already in the cluster's sources.
/// Names and namespaces are readable without a key: the Flux convention encrypts only
/// `data`/`stringData` (and a fully encrypted source is simply not recognised, which only means
/// adopt reports it again).
fn existing_source_keys(dir: &Path, root: &Path) -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    for f in crate::fsutil::yaml_files_under(dir) {
        let Ok(bytes) = std::fs::read(&f) else {
            continue;
        };
        let Ok(tree) = format::parse(Format::Yaml, &bytes) else {
            continue;
        };
        for doc in &tree.documents {
            if text_of(doc, "kind") == Some("Secret") {
                if let Some(name) = meta_str(doc, "name") {
                    let key = key_of(meta_str(doc, "namespace").as_deref(), &name);
                    out.insert(key, f.strip_prefix(root).unwrap_or(&f).to_path_buf());
                }
            }
        }
    }
    out
}

/// The first kustomization listing `file` (relative to the root) among its resources.
fn listed_by<'a>(inv: &'a Inventory, root: &Path, file: &Path) -> Option<&'a Path> {
    let abs = root.join(file);
    inv.kustomizations.iter().find_map(|k| {
        let dir = root.join(k.file.parent().unwrap_or(Path::new("")));
        k.resources
            .iter()
            .any(|r| super::normalise(&dir.join(r)) == abs)
            .then_some(k.file.as_path())
    })
}

/// With `--move`: which kustomization entries point at `old` and what they must point at now.
fn kustomization_hints(
    inv: &Inventory,
    root: &Path,
    old: &Path,
    new_abs: &Path,
    plan: &mut AdoptPlan,
) {
    let old_abs = root.join(old);
    let mut found = false;
    for k in &inv.kustomizations {
        let dir = root.join(k.file.parent().unwrap_or(Path::new("")));
        for r in &k.resources {
            if super::normalise(&dir.join(r)) == old_abs {
                found = true;
                plan.kustomization_updates.push(format!(
                    "{}: replace `{r}` with `{}`",
                    k.file.display(),
                    super::relative_to(&dir, new_abs).display()
                ));
            }
        }
    }
    if !found {
        plan.kustomization_updates.push(format!(
            "{} is listed by no kustomization; list `{}` where it belongs",
            old.display(),
            new_abs.strip_prefix(root).unwrap_or(new_abs).display()
        ));
    }
}

/// Writes the plan: sources (new files only), then `.sops.yaml`, then the config, then — only
/// with `delete_plaintext` — removes the adopted plaintext files. Returns what was written.
pub fn apply(
    plan: &AdoptPlan,
    root: &Path,
    delete_plaintext: bool,
) -> Result<Vec<PathBuf>, AdoptError> {
    let io = |p: &Path, e: &dyn std::fmt::Display| AdoptError::Io {
        path: p.to_path_buf(),
        msg: e.to_string(),
    };
    for s in &plan.sources {
        if root.join(&s.file).exists() {
            return Err(AdoptError::Plan(format!(
                "{} appeared while adopting; nothing was changed for it — re-run adopt",
                s.file.display()
            )));
        }
    }
    let mut written = Vec::new();
    for s in &plan.sources {
        let p = root.join(&s.file);
        crate::fsutil::atomic_write(&p, &s.encrypted, None).map_err(|e| io(&p, &e.source))?;
        written.push(s.file.clone());
    }
    if let Some((path, text)) = &plan.sops_yaml {
        crate::fsutil::atomic_write(path, text.as_bytes(), None)
            .map_err(|e| io(path, &e.source))?;
        written.push(path.clone());
    }
    if let Some(text) = &plan.config_text {
        let p = root.join(crate::config::FILE_NAME);
        crate::fsutil::atomic_write(&p, text.as_bytes(), None).map_err(|e| io(&p, &e.source))?;
        written.push(p);
    }
    if delete_plaintext {
        for f in &plan.deletable_plaintext {
            let p = root.join(f);
            std::fs::remove_file(&p).map_err(|e| io(&p, &e))?;
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_classifies_documents_and_skips_sops_files() {
        let d = tempfile::tempdir().unwrap();
        let w = |rel: &str, text: &str| {
            let p = d.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        let secret = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  namespace: n\nstringData:\n  k: TEST-ONLY\n";
        w("a/x.secret.yaml", secret);
        w(
            "a/mixed.yaml",
            &format!("{secret}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n"),
        );
        w(
            "a/empty.yaml",
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: e\n",
        );
        w("a/enc.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  k: ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]\nsops:\n  version: 3.11.0\n");
        w("a/kustomization.yaml", "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - x.secret.yaml\n");
        w("a/broken.secret.yaml", "key: [unclosed\n");
        w("skip/s.yaml", secret);
        let inv = scan(d.path(), &[d.path().join("skip")]);
        let files: Vec<_> = inv.plain.iter().map(|p| p.file.clone()).collect();
        assert_eq!(
            files,
            vec![
                PathBuf::from("a/mixed.yaml"),
                PathBuf::from("a/x.secret.yaml")
            ],
            "data-less and SOPS-encrypted Secrets and excluded folders are not adopted"
        );
        assert_eq!(
            inv.plain_only_files.iter().collect::<Vec<_>>(),
            vec![&PathBuf::from("a/x.secret.yaml")]
        );
        assert_eq!(
            inv.kustomizations[0].resources,
            vec!["x.secret.yaml".to_string()]
        );
        assert_eq!(
            listed_by(&inv, d.path(), Path::new("a/x.secret.yaml")),
            Some(Path::new("a/kustomization.yaml"))
        );
        assert_eq!(
            inv.skipped.len(),
            1,
            "the unparseable *.secret.yaml is reported"
        );
        assert!(
            !inv.skipped[0].1.contains("unclosed"),
            "no file content in messages"
        );
    }
}
