//! reseal: the SOPS sources of a cluster → SealedSecrets for its certificate, idempotently.
//!
//! kubeseal's output is random on every run (SEALED-SECRETS.md §1.4), so "nothing changed, no
//! file changed" needs memory. Each SealedSecret carries, in a top-level annotation (which the
//! controller does not copy to the Secret), a digest per item: HMAC-SHA256 keyed with a key
//! derived from the *source file's SOPS data key*, over the certificate's public-key fingerprint,
//! the scope, namespace, name, item key and plaintext. An item keeps its old ciphertext only when
//! its digest is unchanged. Someone holding only public material (the certificate, the repo)
//! cannot compute a digest, so cannot confirm a guessed secret; anyone who can decrypt the source
//! can, but they can read the secret anyway. Rotating a source's data key reseals its items.
//!
//! Nothing is written until every source has decrypted and every object has been built: a wrong
//! key, a tampered source or a missing namespace leaves every output untouched.

use crate::sealed::{self, PreparedSeal, SealedSecret, SecretManifest};
use crate::secret::{Key32, SecretBytes};
use crate::sops::tree::{Mapping, Node, Scalar};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The top-level annotation holding the item digests.
pub const DIGEST_ANNOTATION: &str = "overworld-secrets/reseal-digests";

/// Converts one decrypted Kubernetes Secret manifest (a SOPS tree document) into the sealer's
/// input. Values stay in secret buffers; errors name the field, never a value.
pub fn manifest_from_tree(doc: &Mapping) -> Result<SecretManifest, String> {
    let text = |n: &Node, what: &str| -> Result<String, String> {
        match n {
            Node::Scalar(Scalar::Str(s)) => s
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| format!("{what} is not UTF-8 text")),
            Node::Null => Ok(String::new()),
            _ => Err(format!("{what} must be a string")),
        }
    };
    let kind = doc
        .get("kind")
        .map(|k| text(k, "kind"))
        .transpose()?
        .unwrap_or_default();
    if kind != "Secret" {
        return Err(format!("kind is {kind:?}, expected a v1 Secret"));
    }
    let mut m = SecretManifest::default();
    if let Some(md) = doc.get("metadata") {
        let Node::Mapping(md) = md else {
            return Err("metadata must be a mapping".into());
        };
        for (k, v) in md.pairs() {
            match k {
                "name" => m.name = text(v, "metadata.name")?,
                "namespace" => {
                    m.namespace = Some(text(v, "metadata.namespace")?).filter(|s| !s.is_empty())
                }
                "generateName" => m.generate_name = Some(text(v, "metadata.generateName")?),
                "labels" | "annotations" => {
                    let mut out = BTreeMap::new();
                    if let Node::Mapping(map) = v {
                        for (lk, lv) in map.pairs() {
                            out.insert(lk.to_string(), text(lv, &format!("metadata.{k}.{lk}"))?);
                        }
                    } else if !matches!(v, Node::Null) {
                        return Err(format!("metadata.{k} must be a mapping"));
                    }
                    if k == "labels" {
                        m.labels = out;
                    } else {
                        m.annotations = out;
                    }
                }
                "finalizers" => {
                    if let Node::Sequence(items) = v {
                        for it in items {
                            if let crate::sops::tree::Item::Node(n) = it {
                                m.finalizers.push(text(n, "metadata.finalizers[]")?);
                            }
                        }
                    }
                }
                // Server-managed fields kubeseal strips (§4.4).
                "uid"
                | "resourceVersion"
                | "creationTimestamp"
                | "generation"
                | "selfLink"
                | "managedFields"
                | "ownerReferences"
                | "deletionTimestamp"
                | "deletionGracePeriodSeconds" => {}
                other => {
                    return Err(format!(
                        "metadata.{other} is not supported in a sealed Secret source"
                    ))
                }
            }
        }
    }
    if let Some(t) = doc.get("type") {
        m.type_ = Some(text(t, "type")?).filter(|s| !s.is_empty());
    }
    match doc.get("immutable") {
        None | Some(Node::Null) => {}
        Some(Node::Scalar(Scalar::Bool(b))) => m.immutable = Some(*b),
        Some(_) => return Err("immutable must be true or false".into()),
    }
    for field in ["data", "stringData"] {
        let Some(n) = doc.get(field) else { continue };
        let map = match n {
            Node::Mapping(map) => map,
            Node::Null => continue,
            _ => return Err(format!("{field} must be a mapping")),
        };
        for (k, v) in map.pairs() {
            let raw = match v {
                Node::Scalar(Scalar::Str(s)) => s.clone(),
                Node::Null => SecretBytes::default(),
                _ => return Err(format!("{field}.{k} must be a string")),
            };
            if field == "data" {
                let decoded = sealed::crypto::go_std_b64decode(raw.as_str().unwrap_or("\u{0}"))
                    .map_err(|_| {
                        format!("data.{k} is not valid base64 (use stringData for plain text)")
                    })?;
                m.data.insert(k.to_string(), SecretBytes::new(decoded));
            } else {
                m.string_data.insert(k.to_string(), raw);
            }
        }
    }
    for (what, other) in doc.pairs() {
        if !matches!(
            what,
            "apiVersion" | "kind" | "metadata" | "type" | "immutable" | "data" | "stringData"
        ) {
            let _ = other;
            return Err(format!("unknown field {what:?} in a Secret"));
        }
    }
    Ok(m)
}

/// The per-item digest key, derived from a source's SOPS data key.
pub struct DigestKey(Key32);

impl DigestKey {
    pub fn from_data_key(k: &Key32) -> DigestKey {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(k.expose()).expect("any key length");
        mac.update(b"overworld-secrets/reseal-digest-key/v1");
        let out: [u8; 32] = mac.finalize().into_bytes().into();
        DigestKey(Key32::new(out))
    }

    /// Digest of one item in its sealing context (base64url, 128 bits).
    pub fn item(&self, spki: &str, prepared: &PreparedSeal, key: &str, plaintext: &[u8]) -> String {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(self.0.expose()).expect("any key length");
        let ns = prepared.namespace.clone().unwrap_or_default();
        for field in [
            spki.as_bytes(),
            scope_name(prepared.scope).as_bytes(),
            ns.as_bytes(),
            prepared.name.as_bytes(),
            key.as_bytes(),
            plaintext,
        ] {
            // Length-prefixed so no two different inputs share a byte stream.
            mac.update(&(field.len() as u64).to_be_bytes());
            mac.update(field);
        }
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&mac.finalize().into_bytes()[..16])
    }
}

fn scope_name(s: sealed::Scope) -> &'static str {
    match s {
        sealed::Scope::Strict => "strict",
        sealed::Scope::NamespaceWide => "namespace-wide",
        sealed::Scope::ClusterWide => "cluster-wide",
    }
}

/// Parses the digest annotation (`v1 key=digest key=digest…`).
pub fn parse_digests(ss: &SealedSecret) -> BTreeMap<String, String> {
    let Some(v) = ss.annotations.get(DIGEST_ANNOTATION) else {
        return BTreeMap::new();
    };
    let mut parts = v.split(' ');
    if parts.next() != Some("v1") {
        return BTreeMap::new();
    }
    parts
        .filter_map(|p| p.rsplit_once('='))
        .map(|(k, d)| (k.to_string(), d.to_string()))
        .collect()
}

fn format_digests(d: &BTreeMap<String, String>) -> String {
    let mut s = String::from("v1");
    for (k, v) in d {
        s.push(' ');
        s.push_str(k);
        s.push('=');
        s.push_str(v);
    }
    s
}

/// One decrypted source document, ready to seal.
pub struct Source {
    /// The SOPS file it came from (for messages).
    pub file: PathBuf,
    pub prepared: PreparedSeal,
    pub digest_key: DigestKey,
}

/// Where a SealedSecret goes inside the cluster's sealed folder.
pub fn output_rel(p: &PreparedSeal) -> PathBuf {
    PathBuf::from(format!("{}.sealed.yaml", sealed_path_key(p)))
}

/// The key of a SealedSecret in `clusters.<c>.sealed_paths`: `<namespace>/<name>`, or
/// `cluster-wide/<name>` without a namespace (the standard layout's path minus the suffix).
pub fn sealed_path_key(p: &PreparedSeal) -> String {
    let dir = p.namespace.as_deref().unwrap_or("cluster-wide");
    format!("{dir}/{}", p.name)
}

/// What happens to one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemFate {
    Keep,
    /// No previous output.
    New,
    /// A previous output exists but cannot lend this item its ciphertext: the item is new, or
    /// its value, scope, name, namespace or the certificate changed, or `--force`.
    Changed,
}

/// The plan for one SealedSecret.
pub struct Planned {
    pub rel: PathBuf,
    pub source: Source,
    pub fates: BTreeMap<String, ItemFate>,
    pub digests: BTreeMap<String, String>,
    /// Ciphertexts kept from the existing file.
    pub kept: BTreeMap<String, String>,
    /// The existing file's bytes, if any (empty under `--force`, which neither reuses nor compares them).
    pub existing: Option<Vec<u8>>,
    /// The existing file's permissions, which the new version keeps.
    pub existing_perms: Option<std::fs::Permissions>,
}

impl Planned {
    pub fn to_seal(&self) -> impl Iterator<Item = &str> {
        self.fates
            .iter()
            .filter(|(_, f)| **f != ItemFate::Keep)
            .map(|(k, _)| k.as_str())
    }
}

/// Where one source's SealedSecret goes, relative to the cluster's sealed folder.
///
/// `sealed_paths` (absolute files, keyed by [`sealed_path_key`]) sends a SealedSecret to the file
/// an adopted repository already references instead of the standard layout; such a plan's `rel`
/// is that absolute path (`sealed_dir.join(abs)` is `abs`).
pub fn placement(source: &Source, sealed_paths: &BTreeMap<String, PathBuf>) -> PathBuf {
    sealed_paths
        .get(&sealed_path_key(&source.prepared))
        .cloned()
        .unwrap_or_else(|| output_rel(&source.prepared))
}

/// Fails if two sources define the same Secret (they would write the same output), naming both.
/// `placed` is in source order: (output, source file, namespace, name).
pub fn check_unique<'a>(
    placed: impl IntoIterator<Item = (&'a Path, &'a Path, Option<&'a str>, &'a str)>,
) -> Result<(), String> {
    let mut seen: std::collections::HashMap<&Path, &Path> = Default::default();
    for (rel, file, namespace, name) in placed {
        if let Some(first) = seen.insert(rel, file) {
            return Err(format!(
                "{} and {} both define Secret {}/{name}: each Secret needs exactly one source",
                first.display(),
                file.display(),
                namespace.unwrap_or("(cluster-wide)"),
            ));
        }
    }
    Ok(())
}

/// What happens to each item of one source, from its previous output (if any) at
/// `sealed_dir.join(rel)`; `spki` is the certificate's [`sealed::SealingCert::spki_sha256`].
pub fn plan_one(
    sealed_dir: &Path,
    spki: &str,
    force: bool,
    rel: PathBuf,
    source: Source,
) -> Planned {
    let path = sealed_dir.join(&rel);
    // With --force every item is sealed afresh, so a previous output can lend nothing and (its
    // fresh ciphertexts being random) never equals the new one: only whether it exists matters.
    // Without items the new file may equal the old one, which must then be read to leave it be.
    // The look at the old file also gives its permissions, which its replacement keeps: one stat
    // of each output instead of two (issue 9).
    let (existing, existing_perms) = if force && !source.prepared.items.is_empty() {
        match std::fs::metadata(&path) {
            Ok(m) => (Some(Vec::new()), Some(m.permissions())),
            Err(_) => (None, None),
        }
    } else {
        match read_with_permissions(&path) {
            Some((bytes, perms)) => (Some(bytes), Some(perms)),
            None => (None, None),
        }
    };
    let mut digests = BTreeMap::new();
    for item in source.prepared.items() {
        let d = source
            .digest_key
            .item(spki, &source.prepared, item.key, item.plaintext.expose());
        digests.insert(item.key.to_string(), d);
    }
    // An item keeps its old ciphertext only if its digest (which covers the value, the scope and
    // the certificate) is in the old file, so the file is parsed only when one of them is there.
    // After a certificate change or with --force none is, and parsing outputs made of long base64
    // lines was a tenth of a full reseal (issue 9). A digest found by chance only costs the parse.
    let text = existing
        .as_deref()
        .and_then(|b| std::str::from_utf8(b).ok());
    let may_keep = !force && text.is_some_and(|t| digests.values().any(|d| t.contains(d.as_str())));
    let old = text
        .filter(|_| may_keep)
        .and_then(|t| sealed::parse_sealed_secrets(t).ok())
        .and_then(|mut v| (v.len() == 1).then(|| v.remove(0)));
    let old_digests = old.as_ref().map(parse_digests).unwrap_or_default();
    let mut fates = BTreeMap::new();
    let mut kept = BTreeMap::new();
    for (key, d) in &digests {
        let old_ct = old.as_ref().and_then(|o| o.encrypted_data.get(key));
        let fate = match (old_ct, old_digests.get(key)) {
            (Some(ct), Some(od)) if od == d && !force => {
                kept.insert(key.clone(), ct.clone());
                ItemFate::Keep
            }
            _ if existing.is_some() => ItemFate::Changed,
            _ => ItemFate::New,
        };
        fates.insert(key.clone(), fate);
    }
    Planned {
        rel,
        source,
        fates,
        digests,
        kept,
        existing,
        existing_perms,
    }
}

/// A file's bytes and permissions, from one open (`None` if it cannot be read).
fn read_with_permissions(path: &Path) -> Option<(Vec<u8>, std::fs::Permissions)> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).ok()?;
    let meta = f.metadata().ok()?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    f.read_to_end(&mut bytes).ok()?;
    Some((bytes, meta.permissions()))
}

/// An output: where, its previous bytes, its new bytes.
pub type Output = (PathBuf, Option<Vec<u8>>, Vec<u8>);

/// Assembles the SealedSecret for a plan once every to-seal item has its fresh ciphertext.
pub fn assemble(p: Planned, mut fresh: BTreeMap<String, String>) -> Result<Output, String> {
    let mut enc = p.kept;
    enc.append(&mut fresh);
    let mut ss = p
        .source
        .prepared
        .finish(enc)
        .map_err(|e| format!("{}: {e}", p.source.file.display()))?;
    ss.annotations
        .insert(DIGEST_ANNOTATION.to_string(), format_digests(&p.digests));
    let bytes = sealed::to_kubeseal_yaml(std::slice::from_ref(&ss)).into_bytes();
    Ok((p.rel, p.existing, bytes))
}

/// A `kustomization.yaml` listing `resources`, in kubectl's YAML style.
pub fn kustomization(resources: &BTreeSet<String>) -> Vec<u8> {
    let v = serde_json::json!({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": resources.iter().collect::<Vec<_>>(),
    });
    let yaml = sealed::json_to_go_yaml(&v);
    format!("# Generated by overworld-secrets reseal. Do not edit.\n{yaml}").into_bytes()
}
