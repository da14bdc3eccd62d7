//! The SOPS side of `check`: every file that must be SOPS-encrypted is, its recipients match what
//! `.sops.yaml` demands now, it decrypts and its MAC verifies (with a key), no value that looks
//! secret sits in plaintext under the file's rule, and the Flux pitfalls (FLUX-SOPS.md §1.2–1.3).

use super::{Finding, Report};
use crate::sops::engine::{self, EncryptedFile};
use crate::sops::format::Format;
use crate::sops::keys::Identities;
use crate::sops::rules::SopsConfig;
use crate::sops::tree::{Comment, Item, Node, Scalar, Tree};
use crate::sops::walk::{self, Selector, Visitor};
use crate::sops::SopsError;
use regex::Regex;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use zeroize::Zeroizing;

pub struct SopsCheck<'a> {
    pub root: &'a Path,
    pub files: &'a [PathBuf],
    pub config: Option<&'a SopsConfig>,
    /// Folders (relative) whose every manifest must be a SOPS file (cluster sources, seeds).
    pub source_roots: Vec<PathBuf>,
    /// Folders whose files are reseal sources, sealed rather than applied by Flux.
    pub sealed_roots: Vec<PathBuf>,
    pub identities: Option<&'a Identities>,
    /// Secret names Flux Kustomizations use for decryption (plus `sops-age`).
    pub flux_decryption_secrets: BTreeSet<String>,
    /// Text of `files` already read (same order; `None`: not read, not UTF-8 or too big), so
    /// each file is read once per run; wiped on drop, since a committed plaintext secret is
    /// exactly what some of these files may hold.
    pub texts: &'a [Option<Zeroizing<String>>],
}

impl SopsCheck<'_> {
    /// The bytes of `rel`: the text read earlier, else from disk.
    fn bytes_of(&self, rel: &Path) -> std::io::Result<std::borrow::Cow<'_, [u8]>> {
        let cached = self
            .files
            .binary_search_by(|f| f.as_path().cmp(rel))
            .ok()
            .and_then(|i| self.texts.get(i))
            .and_then(Option::as_deref);
        match cached {
            Some(t) => Ok(std::borrow::Cow::Borrowed(t.as_bytes())),
            None => std::fs::read(self.root.join(rel)).map(std::borrow::Cow::Owned),
        }
    }
}

fn sops_store_file(p: &Path) -> bool {
    matches!(
        Format::from_path(p),
        Format::Yaml | Format::Json | Format::Dotenv | Format::Ini
    )
}

fn under(p: &Path, roots: &[PathBuf]) -> bool {
    roots.iter().any(|r| p.starts_with(r))
}

/// Which files `check` treats as SOPS files: manifests under the source roots, and every file a
/// creation rule with a `path_regex` matches (a catch-all rule only says how to encrypt, not what).
pub fn candidates(c: &SopsCheck) -> Vec<(PathBuf, Option<usize>)> {
    let mut out = Vec::new();
    for f in c.files {
        // The rules file itself is configuration, never a SOPS source; a temp file left by a
        // killed write is reported on its own (commands/check.rs).
        if f.file_name()
            .is_some_and(|n| n == ".sops.yaml" || crate::fsutil::is_write_temp(n))
        {
            continue;
        }
        let rule_match = c.config.and_then(|cfg| {
            let abs = c.root.join(f);
            let rel = cfg.match_path(&abs);
            cfg.path_regexes()
                .iter()
                .position(|r| r.is_some_and(|r| r.is_match(&rel)))
        });
        let in_sources = under(f, &c.source_roots) && sops_store_file(f);
        if rule_match.is_some() || in_sources {
            out.push((f.clone(), rule_match));
        }
    }
    out
}

pub fn run(c: &SopsCheck, report: &mut Report) {
    // Files are independent and each costs an X25519 agreement: check them on every core, then
    // merge in file order.
    let parts = crate::par::map(candidates(c), |(rel, rule_idx)| {
        let mut part = Report::default();
        check_file(c, rel, rule_idx, &mut part);
        part
    });
    for part in parts {
        report.sops_files += part.sops_files;
        report.decrypted += part.decrypted;
        report.findings.extend(part.findings);
    }
}

/// The checks of one candidate file, into `report`.
fn check_file(c: &SopsCheck, rel: PathBuf, rule_idx: Option<usize>, report: &mut Report) {
    report.sops_files += 1;
    let abs = c.root.join(&rel);
    let Ok(bytes) = c.bytes_of(&rel) else {
        report
            .findings
            .push(Finding::error(&rel, "io", "cannot read the file"));
        return;
    };
    let format = Format::from_path(&rel);
    let file = match engine::load(format, &bytes) {
        Ok(f) => f,
        Err(SopsError::MetadataNotFound) => {
            let why = match (rule_idx, c.config) {
                (Some(i), Some(cfg)) => format!(
                    "creation rule {i} of {} says it must be",
                    cfg.path.file_name().unwrap_or_default().to_string_lossy()
                ),
                _ => "it is under a configured secrets folder".to_string(),
            };
            report.findings.push(Finding::error(
                &rel,
                "sops.not-encrypted",
                format!("not SOPS-encrypted, but {why}: encrypt it with `overworld-secrets encrypt -i {}`", rel.display()),
            ));
            return;
        }
        Err(e) => {
            report.findings.push(Finding::error(
                &rel,
                "sops.invalid",
                format!("not a valid SOPS file: {e}"),
            ));
            return;
        }
    };
    check_recipients(c, &rel, &abs, &file, report);
    check_structure(&rel, &file, report);
    let Some(ids) = c.identities.filter(|i| !i.is_empty()) else {
        return;
    };
    match engine::decrypt(&file, ids, false) {
        Ok(mut dec) => {
            report.decrypted += 1;
            check_plain_values(&rel, &mut dec.tree, &file, report);
            if !under(&rel, &c.sealed_roots) {
                check_flux(&rel, &dec.tree, c, report);
            }
        }
        Err(e) => {
            let code = match e.exit_code() {
                128 => "sops.no-key",
                51 => "sops.mac",
                25 => "sops.tampered",
                _ => "sops.decrypt",
            };
            let msg = match &e {
                SopsError::NoDataKey(_) => format!(
                    "no available identity decrypts it (recipients: {}); add the CI key's recipient to the rule and run `updatekeys`",
                    file.metadata.recipients().join(", ")
                ),
                other => other.to_string(),
            };
            report.findings.push(Finding::error(&rel, code, msg));
        }
    }
}

/// The file's recipients against what its creation rule demands now.
fn check_recipients(
    c: &SopsCheck,
    rel: &Path,
    abs: &Path,
    file: &EncryptedFile,
    report: &mut Report,
) {
    let Some(cfg) = c.config.filter(|c| c.has_creation_rules()) else {
        return;
    };
    let rule = match cfg.rule_for(abs) {
        Ok(r) => r,
        Err(e) => {
            report.findings.push(Finding::warning(
                rel,
                "sops.no-rule",
                format!("no creation rule of .sops.yaml applies ({e}): its recipients cannot be checked"),
            ));
            return;
        }
    };
    let want: Vec<BTreeSet<&str>> = rule
        .groups
        .iter()
        .map(|g| g.age.iter().map(String::as_str).collect())
        .collect();
    let have: Vec<BTreeSet<&str>> = file
        .metadata
        .key_groups
        .iter()
        .map(|g| g.age.iter().map(|k| k.recipient.as_str()).collect())
        .collect();
    let want_other: Vec<usize> = rule.groups.iter().map(|g| g.others.len()).collect();
    let have_other: Vec<usize> = file
        .metadata
        .key_groups
        .iter()
        .map(|g| g.other_key_count())
        .collect();
    if want != have || want_other != have_other {
        let w: BTreeSet<&str> = want.iter().flatten().copied().collect();
        let h: BTreeSet<&str> = have.iter().flatten().copied().collect();
        let added: Vec<&str> = w.difference(&h).copied().collect();
        let removed: Vec<&str> = h.difference(&w).copied().collect();
        let mut detail = Vec::new();
        if !added.is_empty() {
            detail.push(format!("missing {}", added.join(", ")));
        }
        if !removed.is_empty() {
            detail.push(format!("no longer wanted {}", removed.join(", ")));
        }
        if detail.is_empty() {
            detail.push("key groups differ".into());
        }
        report.findings.push(Finding::error(
            rel,
            "sops.stale-recipients",
            format!(
                "recipients do not match creation rule {} ({}): run `overworld-secrets updatekeys {}` or `sops updatekeys {}`",
                rule.index,
                detail.join("; "),
                rel.display(),
                rel.display()
            ),
        ));
    } else if rule.groups.len() > 1 && rule.shamir_threshold != file.metadata.shamir_threshold {
        report.findings.push(Finding::error(
            rel,
            "sops.stale-threshold",
            format!(
                "shamir_threshold is {} but the rule demands {}: run `overworld-secrets updatekeys {}`",
                file.metadata.shamir_threshold,
                rule.shamir_threshold,
                rel.display()
            ),
        ));
    }
}

/// Manifest fields Flux and kustomize must read stay plaintext (FLUX-SOPS.md §1.3).
fn check_structure(rel: &Path, file: &EncryptedFile, report: &mut Report) {
    for doc in &file.tree.documents {
        if doc.get("apiVersion").is_none() || doc.get("kind").is_none() {
            continue;
        }
        let enc = |n: Option<&Node>| matches!(n, Some(Node::Scalar(Scalar::Str(s))) if crate::sops::cipher::is_envelope(s.expose()));
        let meta_enc = match doc.get("metadata") {
            Some(Node::Mapping(m)) => enc(m.get("name")) || enc(m.get("namespace")),
            other => enc(other),
        };
        if enc(doc.get("apiVersion")) || enc(doc.get("kind")) || meta_enc {
            report.findings.push(Finding::error(
                rel,
                "flux.metadata-encrypted",
                "apiVersion/kind/metadata are encrypted, so kustomize and Flux cannot read the object: use `encrypted_regex: ^(data|stringData)$` in the creation rule and re-encrypt",
            ));
        }
    }
}

fn secret_like() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        // Whole words only (after splitting camelCase): `clientSecret`, `api-key`, `PASSWORD`
        // match; `sealedsecrets.bitnami.com/...` does not.
        Regex::new(r"(?i)(^|[^a-z])(passw(or)?d|secret|token|api[-_.]?key|private[-_.]?key|credentials?|agekey)s?([^a-z]|$)")
            .expect("static")
    })
}

/// `clientSecret` → `client_Secret`, so word boundaries see camelCase words.
fn split_camel(k: &str) -> String {
    let mut out = String::with_capacity(k.len() + 4);
    let mut prev_lower = false;
    for c in k.chars() {
        if c.is_ascii_uppercase() && prev_lower {
            out.push('_');
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        out.push(c);
    }
    out
}

struct PlainValues<'a> {
    rel: &'a Path,
    found: Vec<String>,
}

impl Visitor for PlainValues<'_> {
    type Error = ();
    fn value(&mut self, node: &mut Node, aad: &str, selected: bool) -> Result<(), ()> {
        if selected {
            return Ok(());
        }
        // Kubernetes labels and annotations are metadata by definition (and their names, such as
        // `sealedsecrets.bitnami.com/sealed-secrets-key`, read as secret-like words).
        if aad.split(':').any(|c| c == "labels" || c == "annotations") {
            return Ok(());
        }
        let key = aad.trim_end_matches(':').rsplit(':').next().unwrap_or("");
        if let Node::Scalar(Scalar::Str(s)) = node {
            if !s.is_empty() && secret_like().is_match(&split_camel(key)) {
                self.found.push(aad.trim_end_matches(':').replace(':', "."));
            }
        }
        let _ = self.rel;
        Ok(())
    }
    fn comment(&mut self, _: &mut Comment, _: &str, _: bool) -> Result<(), ()> {
        Ok(())
    }
    fn seq_leaf(&mut self, item: &mut Item, aad: &str, selected: bool) -> Result<(), ()> {
        if let Item::Node(n) = item {
            self.value(n, aad, selected)?;
        }
        Ok(())
    }
}

/// Values left in plaintext by the file's rule whose key says they are secret.
/// `tree` is only read (the walk takes it mutably; a copy of the plaintext tree just to walk it
/// was a sixth of the non-crypto work of a bulk `check`).
fn check_plain_values(rel: &Path, tree: &mut Tree, file: &EncryptedFile, report: &mut Report) {
    let Ok(sel) = Selector::new(file.metadata.selection.as_ref()) else {
        return;
    };
    if file.format == Format::Binary {
        return;
    }
    let mut v = PlainValues {
        rel,
        found: Vec::new(),
    };
    let _ = walk::walk(tree, &sel, &mut v);
    for path in v.found {
        report.findings.push(Finding::warning(
            rel,
            "sops.plaintext-value",
            format!(
                "{path} looks secret but the file's rule ({}) leaves it unencrypted",
                file.metadata
                    .selection
                    .as_ref()
                    .map(|s| format!("{}: {}", s.field(), s.value()))
                    .unwrap_or_else(|| "unencrypted_suffix: _unencrypted".into())
            ),
        ));
    }
}

fn has_substitute_disabled(doc: &crate::sops::tree::Mapping) -> bool {
    let Some(Node::Mapping(md)) = doc.get("metadata") else {
        return false;
    };
    ["annotations", "labels"].iter().any(|k| {
        matches!(md.get(k), Some(Node::Mapping(m)) if m.get("kustomize.toolkit.fluxcd.io/substitute").and_then(Node::as_str) == Some("disabled"))
    })
}

/// Flux pitfalls on a decrypted Kubernetes Secret (FLUX-SOPS.md §1.2–1.3).
fn check_flux(rel: &Path, tree: &Tree, c: &SopsCheck, report: &mut Report) {
    for doc in &tree.documents {
        if doc.get("kind").and_then(Node::as_str) != Some("Secret") {
            continue;
        }
        let name = doc
            .get("metadata")
            .and_then(Node::as_mapping)
            .and_then(|m| m.get("name"))
            .and_then(Node::as_str)
            .unwrap_or("");
        let data_keys: Vec<(&str, &Node)> = ["data", "stringData"]
            .iter()
            .filter_map(|k| doc.get(k).and_then(Node::as_mapping))
            .flat_map(|m| m.pairs())
            .collect();
        if !has_substitute_disabled(doc) {
            for (k, v) in &data_keys {
                let text = match v {
                    Node::Scalar(Scalar::Str(s)) => s.expose().to_vec(),
                    _ => continue,
                };
                // data values are base64: look inside them too.
                use base64::Engine as _;
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(&text)
                    .unwrap_or_default();
                let has = |b: &[u8]| b.windows(2).any(|w| w == b"${");
                if has(&text) || has(&decoded) {
                    report.findings.push(Finding::warning(
                        rel,
                        "flux.substitution",
                        format!("Secret {name:?} key {k:?} contains `${{`, which Flux postBuild substitution rewrites: add the annotation kustomize.toolkit.fluxcd.io/substitute: disabled"),
                    ));
                }
            }
        }
        if c.flux_decryption_secrets.contains(name) {
            let bad: Vec<&str> = data_keys
                .iter()
                .map(|(k, _)| *k)
                .filter(|k| !k.ends_with(".agekey"))
                .collect();
            if !bad.is_empty() || data_keys.is_empty() {
                report.findings.push(Finding::error(
                    rel,
                    "flux.agekey-name",
                    format!(
                        "Flux decryption Secret {name:?} has keys {bad:?}; kustomize-controller only reads keys ending in .agekey (e.g. age.agekey) and silently ignores the rest"
                    ),
                ));
            }
        }
    }
}

/// Names of Secrets that Flux Kustomizations use for SOPS decryption.
/// `texts` holds the files' text (as [`SopsCheck::texts`]).
pub fn flux_decryption_secret_names(
    files: &[PathBuf],
    texts: &[Option<Zeroizing<String>>],
) -> BTreeSet<String> {
    use serde::Deserialize;
    let mut names = BTreeSet::from(["sops-age".to_string()]);
    for (f, text) in files.iter().zip(texts) {
        if Format::from_path(f) != Format::Yaml {
            continue;
        }
        let Some(text) = text else {
            continue;
        };
        // Most files do not mention it: a SIMD search of every byte, not std's generic one.
        if memchr::memmem::find(text.as_bytes(), b"decryption").is_none() {
            continue;
        }
        for doc in serde_yaml_ng::Deserializer::from_str(text) {
            let Ok(v) = serde_yaml_ng::Value::deserialize(doc) else {
                break;
            };
            let api = v.get("apiVersion").and_then(|a| a.as_str()).unwrap_or("");
            if v.get("kind").and_then(|k| k.as_str()) == Some("Kustomization")
                && api.starts_with("kustomize.toolkit.fluxcd.io/")
            {
                if let Some(n) = v
                    .get("spec")
                    .and_then(|s| s.get("decryption"))
                    .and_then(|d| d.get("secretRef"))
                    .and_then(|r| r.get("name"))
                    .and_then(|n| n.as_str())
                {
                    names.insert(n.to_string());
                }
            }
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_like_keys() {
        for k in [
            "password",
            "DB_PASSWORD",
            "clientSecret",
            "api-key",
            "apiToken",
            "age.agekey",
            "credentials",
        ] {
            assert!(secret_like().is_match(&split_camel(k)), "{k}");
        }
        for k in [
            "sealedsecrets.bitnami.com/cluster-wide",
            "name",
            "tokenizer",
            "secretary",
        ] {
            assert!(!secret_like().is_match(&split_camel(k)), "{k}");
        }
    }
}
