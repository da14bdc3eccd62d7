//! The Secret we seal and the SealedSecret we write, built the way kubeseal builds it
//! (SEALED-SECRETS.md §3, §4.1–§4.4), and the reverse step the controller performs (§3.2).
//!
//! It exists so that object construction — scope, namespace defaulting, the fields kubeseal
//! strips, the template copy — is decided in one place, independent of how items are encrypted
//! (callers pass the item sealer, so they can reuse ciphertexts or seal in parallel). It must never
//! put a plaintext value into an error, never copy the last-applied annotations (they hold the
//! plaintext) and never silently drop a field it does not understand.

use std::collections::BTreeMap;

use base64::Engine as _;

use crate::secret::SecretBytes;

use super::crypto::{go_std_b64decode, CryptoError, SealingPublicKey, UnsealingKeys};
use super::goyaml::{to_go_json, to_go_yaml_after, GoValue};
use super::scope::{Scope, SKIP_SET_OWNER_REFERENCES_ANNOTATION};

pub const API_VERSION: &str = "bitnami.com/v1alpha1";
pub const KIND: &str = "SealedSecret";

/// Annotations kubeseal drops from the template because they would leak the plaintext (§4.4).
const LAST_APPLIED_ANNOTATIONS: [&str; 2] = [
    "kubectl.kubernetes.io/last-applied-configuration",
    "kubecfg.ksonnet.io/last-applied-configuration",
];

/// ObjectMeta fields kubeseal strips from the input before copying it (§4.4).
const STRIPPED_META_FIELDS: [&str; 8] = [
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "ownerReferences",
];

/// Go struct order of `metav1.ObjectMeta` (§4.5).
const OBJECT_META_ORDER: [&str; 15] = [
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
];

/// Errors building or reading objects. Paths and key names only, never values.
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    /// kubeseal's exact text (§4.1).
    #[error("secret.data is empty in input Secret, assuming this is an error and aborting. To work with empty data, --allow-empty-data can be used")]
    EmptyData,
    /// kubeseal's exact text (§4.1).
    #[error("missing metadata.name in input Secret")]
    MissingName,
    /// kubeseal's exact text (§4.3).
    #[error("secret must declare a namespace")]
    NoNamespace,
    /// kubeseal ≥ 0.31 (§4.3).
    #[error(
        "namespace mismatch: input secret is in namespace {input:?} but {flag:?} was specified"
    )]
    NamespaceMismatch { input: String, flag: String },
    #[error("no secrets found. Ensure the input is valid and UTF-8 encoded")]
    NoDocuments,
    #[error("{path}: value is not valid standard base64 (value not shown)")]
    BadBase64 { path: String },
    #[error("{path}: expected {expected}")]
    WrongType {
        path: String,
        expected: &'static str,
    },
    #[error("{path}: field is not supported (supported metadata: name, generateName, namespace, labels, annotations, finalizers)")]
    UnsupportedField { path: String },
    #[error("expected {expected}, found apiVersion {api_version:?} kind {kind:?}")]
    WrongKind {
        expected: &'static str,
        api_version: String,
        kind: String,
    },
    #[error("cannot parse document: {0}")]
    Parse(String),
    #[error("sealing item {key:?}: {message}")]
    Seal { key: String, message: String },
    #[error("sealed items do not match the secret's items (item {key:?})")]
    ItemMismatch { key: String },
    /// kubeseal would merge silently and leave items the controller cannot open (§4.7, #285).
    #[error("cannot merge: the new items are sealed with scope {update} but the target SealedSecret {name:?} has scope {target}")]
    MergeScopeMismatch {
        name: String,
        target: Scope,
        update: Scope,
    },
}

/// Errors from [`unseal`]: the controller's texts (§3.1).
#[derive(Debug, thiserror::Error)]
pub enum UnsealError {
    /// e.g. `no key could decrypt secret (password, username)`.
    #[error("{0}")]
    Items(String),
    #[error("SealedSecret has no metadata.name")]
    MissingName,
    #[error("spec.template.data (Go templates) is not supported by this unsealer")]
    TemplateDataUnsupported,
    #[error("cannot use 'encryptedData' and the deprecated 'data' at the same time")]
    BothFormats,
    #[error("deprecated v1 spec.data: {0}")]
    LegacyData(String),
}

// ---------------------------------------------------------------------------------------------
// Input: the Secret

/// A `v1.Secret` as kubeseal reads it (§4.1), plaintext in [`SecretBytes`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SecretManifest {
    pub name: String,
    pub generate_name: Option<String>,
    pub namespace: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub finalizers: Vec<String>,
    /// `type` (e.g. `Opaque`, `kubernetes.io/tls`); `None` when absent or empty.
    pub type_: Option<String>,
    pub immutable: Option<bool>,
    /// `data`, already base64-decoded.
    pub data: BTreeMap<String, SecretBytes>,
    /// `stringData` (wins over `data` for the same key, §4.1).
    pub string_data: BTreeMap<String, SecretBytes>,
}

impl SecretManifest {
    /// Reads a Secret from its JSON form (YAML callers convert first, see [`parse_documents`]).
    ///
    /// `data` values must be Go-standard base64 (§4.1); server-managed metadata (`uid`,
    /// `resourceVersion`, `creationTimestamp`, `ownerReferences`, …) is ignored because kubeseal
    /// strips it (§4.4); any other unknown field is an error rather than silently dropped (a
    /// typo such as `stringdata` would otherwise lose secrets).
    pub fn from_json(v: serde_json::Value) -> Result<Self, ObjectError> {
        let obj = as_object(&v, "Secret")?;
        let api_version = opt_str(obj.get("apiVersion"), "apiVersion")?.unwrap_or_default();
        let kind = opt_str(obj.get("kind"), "kind")?.unwrap_or_default();
        if (!kind.is_empty() && kind != "Secret")
            || (!api_version.is_empty() && api_version != "v1")
        {
            return Err(ObjectError::WrongKind {
                expected: "a v1 Secret",
                api_version,
                kind,
            });
        }
        let mut m = SecretManifest::default();
        for (field, value) in obj {
            match field.as_str() {
                "apiVersion" | "kind" => {}
                "metadata" => read_secret_meta(value, &mut m)?,
                "type" => m.type_ = opt_str(Some(value), "type")?.filter(|t| !t.is_empty()),
                "immutable" => {
                    m.immutable = match value {
                        serde_json::Value::Null => None,
                        serde_json::Value::Bool(b) => Some(*b),
                        _ => return Err(wrong("immutable", "a boolean")),
                    }
                }
                "data" => {
                    for (k, val) in string_map_entries(value, "data")? {
                        let path = format!("data.{k}");
                        let bytes = match val {
                            None => Vec::new(),
                            Some(s) => go_std_b64decode(s)
                                .map_err(|_| ObjectError::BadBase64 { path: path.clone() })?,
                        };
                        m.data.insert(k.to_string(), SecretBytes::new(bytes));
                    }
                }
                "stringData" => {
                    for (k, val) in string_map_entries(value, "stringData")? {
                        m.string_data
                            .insert(k.to_string(), SecretBytes::from_str(val.unwrap_or("")));
                    }
                }
                other => {
                    return Err(ObjectError::UnsupportedField {
                        path: other.to_string(),
                    })
                }
            }
        }
        Ok(m)
    }
}

fn read_secret_meta(v: &serde_json::Value, m: &mut SecretManifest) -> Result<(), ObjectError> {
    if v.is_null() {
        return Ok(());
    }
    let meta = as_object(v, "metadata")?;
    for (field, value) in meta {
        let path = format!("metadata.{field}");
        match field.as_str() {
            "name" => m.name = opt_str(Some(value), &path)?.unwrap_or_default(),
            "generateName" => {
                m.generate_name = opt_str(Some(value), &path)?.filter(|s| !s.is_empty())
            }
            "namespace" => m.namespace = opt_str(Some(value), &path)?.filter(|s| !s.is_empty()),
            "labels" => m.labels = string_map(value, &path)?,
            "annotations" => m.annotations = string_map(value, &path)?,
            "finalizers" => m.finalizers = string_list(value, &path)?,
            f if STRIPPED_META_FIELDS.contains(&f) => {}
            _ => return Err(ObjectError::UnsupportedField { path }),
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Output: the SealedSecret

/// Which kubeseal's output shape to reproduce (§4.5 version table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KubesealCompat {
    /// kubeseal ≥ 0.32: no `creationTimestamp`.
    #[default]
    Current,
    /// kubeseal 0.19–0.31: `creationTimestamp: null` in both metadata blocks.
    CreationTimestampNull,
}

/// `spec.template.metadata`: the input's ObjectMeta as kubeseal copies it (§4.4).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TemplateMetadata {
    pub name: Option<String>,
    pub generate_name: Option<String>,
    pub namespace: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub finalizers: Vec<String>,
    /// Other ObjectMeta fields found when reading an existing SealedSecret (e.g. `uid`,
    /// `managedFields`), kept verbatim and written back in Go field order. Never filled by
    /// [`SealedSecret::build`].
    pub other: BTreeMap<String, serde_json::Value>,
}

/// `spec.template` (§3).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SecretTemplate {
    pub metadata: TemplateMetadata,
    pub type_: Option<String>,
    pub immutable: Option<bool>,
    /// Go-template items (§3.2 step 3). Only ever read back, never produced.
    pub data: BTreeMap<String, String>,
}

/// A `bitnami.com/v1alpha1` SealedSecret (§3, §4.4).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SealedSecret {
    pub name: String,
    /// `None` for a cluster-wide SealedSecret without a namespace.
    pub namespace: Option<String>,
    /// Top-level labels: kubeseal writes none; kept when an existing object is read back.
    pub labels: BTreeMap<String, String>,
    /// Top-level annotations: the scope annotation (the controller reads the scope here, §2),
    /// plus whatever an existing object carried.
    pub annotations: BTreeMap<String, String>,
    pub template: SecretTemplate,
    /// Item key → base64 ciphertext, sorted.
    pub encrypted_data: BTreeMap<String, String>,
    /// Deprecated v1 `spec.data` (whole Secret encrypted as one blob, §3.2 step 7); read only.
    pub legacy_data: Option<String>,
    /// Output shape for `creationTimestamp` (§4.5).
    pub compat: KubesealCompat,
}

/// How to build a SealedSecret: kubeseal's flags (§4.2, §4.3, §4.7).
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// `--scope`. `None` or `Some(Strict)` leaves the input's annotations in charge (§4.2).
    pub scope: Option<Scope>,
    /// `-n/--namespace` given explicitly (mismatch with the input's namespace is an error).
    pub namespace: Option<String>,
    /// The fallback namespace (kubeseal: the kubeconfig context's, else `default`); `None` when
    /// there is none, which makes a namespace-less strict/namespace-wide input an error.
    pub default_namespace: Option<String>,
    /// `--allow-empty-data`.
    pub allow_empty_data: bool,
    /// `--merge-into`: name and namespace forced from the target file (§4.7).
    pub force_name: Option<String>,
    pub force_namespace: Option<String>,
    pub compat: KubesealCompat,
}

/// One item to seal: everything an item sealer needs.
#[derive(Debug)]
pub struct ItemToSeal<'a> {
    pub key: &'a str,
    pub plaintext: &'a SecretBytes,
    /// The scope label (§2) — the same for every item of one SealedSecret.
    pub label: &'a [u8],
}

/// A Secret whose metadata, scope and label are resolved, waiting for its ciphertexts.
/// Lets callers seal the items however they like (reuse, parallel) and then [`finish`].
///
/// [`finish`]: PreparedSeal::finish
#[derive(Debug)]
pub struct PreparedSeal {
    pub scope: Scope,
    pub name: String,
    pub namespace: Option<String>,
    pub label: Vec<u8>,
    /// Item key → plaintext (stringData already merged over data).
    pub items: BTreeMap<String, SecretBytes>,
    template: SecretTemplate,
    compat: KubesealCompat,
}

impl PreparedSeal {
    /// The items with their label, in key order.
    pub fn items(&self) -> Vec<ItemToSeal<'_>> {
        self.items
            .iter()
            .map(|(k, v)| ItemToSeal {
                key: k,
                plaintext: v,
                label: &self.label,
            })
            .collect()
    }

    /// Assembles the SealedSecret; `encrypted` must hold exactly one ciphertext per item.
    pub fn finish(self, encrypted: BTreeMap<String, String>) -> Result<SealedSecret, ObjectError> {
        if let Some(k) = self
            .items
            .keys()
            .find(|k| !encrypted.contains_key(*k))
            .or_else(|| encrypted.keys().find(|k| !self.items.contains_key(*k)))
        {
            return Err(ObjectError::ItemMismatch { key: k.clone() });
        }
        let mut annotations = BTreeMap::new();
        if let Some(a) = self.scope.annotation() {
            annotations.insert(a.to_string(), "true".to_string());
        }
        Ok(SealedSecret {
            name: self.name,
            namespace: self.namespace,
            labels: BTreeMap::new(),
            annotations,
            template: self.template,
            encrypted_data: encrypted,
            legacy_data: None,
            compat: self.compat,
        })
    }
}

impl SealedSecret {
    /// Resolves everything but the ciphertexts, in kubeseal's order of checks (§4.1–§4.4).
    pub fn prepare(m: &SecretManifest, opts: &BuildOptions) -> Result<PreparedSeal, ObjectError> {
        if m.data.is_empty() && m.string_data.is_empty() && !opts.allow_empty_data {
            return Err(ObjectError::EmptyData);
        }
        let name = opts.force_name.clone().unwrap_or_else(|| m.name.clone());
        if name.is_empty() {
            return Err(ObjectError::MissingName);
        }
        let mut namespace = opts
            .force_namespace
            .clone()
            .or_else(|| m.namespace.clone())
            .filter(|n| !n.is_empty());
        let mut annotations = m.annotations.clone();
        if let Some(s) = opts.scope {
            s.apply_override(&mut annotations);
        }
        let scope = Scope::from_annotations(&annotations);
        if scope != Scope::ClusterWide {
            if let (Some(flag), Some(input)) = (&opts.namespace, &namespace) {
                if flag != input {
                    return Err(ObjectError::NamespaceMismatch {
                        input: input.clone(),
                        flag: flag.clone(),
                    });
                }
            }
            if namespace.is_none() {
                namespace = opts
                    .namespace
                    .clone()
                    .or_else(|| opts.default_namespace.clone())
                    .filter(|n| !n.is_empty());
            }
            if namespace.is_none() {
                return Err(ObjectError::NoNamespace);
            }
        }
        for a in LAST_APPLIED_ANNOTATIONS {
            annotations.remove(a);
        }
        let label = scope.label(namespace.as_deref().unwrap_or(""), &name);
        let mut items = m.data.clone();
        for (k, v) in &m.string_data {
            items.insert(k.clone(), v.clone());
        }
        let template = SecretTemplate {
            metadata: TemplateMetadata {
                name: Some(name.clone()),
                generate_name: m.generate_name.clone(),
                namespace: namespace.clone(),
                labels: m.labels.clone(),
                annotations,
                finalizers: m.finalizers.clone(),
                other: BTreeMap::new(),
            },
            type_: m.type_.clone(),
            immutable: m.immutable,
            data: BTreeMap::new(),
        };
        Ok(PreparedSeal {
            scope,
            name,
            namespace,
            label,
            items,
            template,
            compat: opts.compat,
        })
    }

    /// Builds the SealedSecret, calling `seal(item)` once per item (in key order) for its base64
    /// ciphertext. The closure decides how: fresh encryption, or reuse of an existing ciphertext.
    pub fn build<F, E>(
        m: &SecretManifest,
        opts: &BuildOptions,
        mut seal: F,
    ) -> Result<SealedSecret, ObjectError>
    where
        F: FnMut(&ItemToSeal<'_>) -> Result<String, E>,
        E: std::fmt::Display,
    {
        let prepared = Self::prepare(m, opts)?;
        let mut encrypted = BTreeMap::new();
        for item in prepared.items() {
            let ct = seal(&item).map_err(|e| ObjectError::Seal {
                key: item.key.to_string(),
                message: e.to_string(),
            })?;
            encrypted.insert(item.key.to_string(), ct);
        }
        prepared.finish(encrypted)
    }

    /// Like [`SealedSecret::build`], sealing items on up to `threads` threads.
    pub fn build_parallel<F, E>(
        m: &SecretManifest,
        opts: &BuildOptions,
        threads: usize,
        seal: F,
    ) -> Result<SealedSecret, ObjectError>
    where
        F: Fn(&ItemToSeal<'_>) -> Result<String, E> + Sync,
        E: std::fmt::Display,
    {
        let prepared = Self::prepare(m, opts)?;
        let items = prepared.items();
        let threads = threads.clamp(1, items.len().max(1));
        let chunk = items.len().div_ceil(threads).max(1);
        let results: Vec<Result<Vec<(String, String)>, ObjectError>> = std::thread::scope(|s| {
            let handles: Vec<_> = items
                .chunks(chunk)
                .map(|part| {
                    let seal = &seal;
                    s.spawn(move || {
                        part.iter()
                            .map(|item| {
                                seal(item)
                                    .map(|ct| (item.key.to_string(), ct))
                                    .map_err(|e| ObjectError::Seal {
                                        key: item.key.to_string(),
                                        message: e.to_string(),
                                    })
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
        let mut encrypted = BTreeMap::new();
        for r in results {
            encrypted.extend(r?);
        }
        drop(items);
        prepared.finish(encrypted)
    }

    /// kubeseal with `--cert`: fresh encryption of every item with `key` (§1).
    pub fn seal(
        m: &SecretManifest,
        opts: &BuildOptions,
        key: &SealingPublicKey,
    ) -> Result<SealedSecret, ObjectError> {
        Self::build(m, opts, |item| {
            super::crypto::seal_value_b64(key, item.label, item.plaintext.expose())
        })
    }

    /// `--merge-into`: the options to seal a Secret destined for this object — name and
    /// namespace forced from it (§4.7), everything else from `base`.
    pub fn merge_options(&self, base: &BuildOptions) -> BuildOptions {
        BuildOptions {
            force_name: Some(self.name.clone()),
            force_namespace: self.namespace.clone().filter(|n| !n.is_empty()),
            ..base.clone()
        }
    }

    /// `--merge-into`: copies the new `encryptedData` items and template labels/annotations of
    /// `update` (built with [`SealedSecret::merge_options`]) into this object; its top-level
    /// metadata is kept (§4.7). Unlike kubeseal this refuses a scope mismatch (items would not
    /// decrypt) and does not panic on a template without labels/annotations.
    pub fn merge_from(&mut self, update: &SealedSecret) -> Result<(), ObjectError> {
        if update.scope() != self.scope() {
            return Err(ObjectError::MergeScopeMismatch {
                name: self.name.clone(),
                target: self.scope(),
                update: update.scope(),
            });
        }
        for (k, v) in &update.encrypted_data {
            self.encrypted_data.insert(k.clone(), v.clone());
        }
        let (meta, new) = (&mut self.template.metadata, &update.template.metadata);
        for (k, v) in &new.annotations {
            meta.annotations.insert(k.clone(), v.clone());
        }
        for (k, v) in &new.labels {
            meta.labels.insert(k.clone(), v.clone());
        }
        Ok(())
    }

    /// True when both objects are identical apart from the ciphertext *values* (same item keys,
    /// metadata, template, scope, output shape): what reseal checks before deciding that an
    /// existing file needs no rewrite.
    pub fn same_except_ciphertexts(&self, other: &SealedSecret) -> bool {
        let strip = |s: &SealedSecret| {
            let mut c = s.clone();
            for v in c.encrypted_data.values_mut() {
                v.clear();
            }
            c
        };
        strip(self) == strip(other)
    }

    /// The scope the controller will use: from the top-level annotations (§2).
    pub fn scope(&self) -> Scope {
        Scope::from_annotations(&self.annotations)
    }

    /// The OAEP label of this object as it stands (top-level name/namespace/annotations).
    pub fn label(&self) -> Vec<u8> {
        self.scope()
            .label(self.namespace.as_deref().unwrap_or(""), &self.name)
    }

    /// Reads an existing SealedSecret (kubeseal JSON or YAML converted to JSON), for
    /// `--merge-into` and for comparing with existing outputs. `status` is ignored.
    pub fn from_json(v: serde_json::Value) -> Result<Self, ObjectError> {
        let obj = as_object(&v, "SealedSecret")?;
        let api_version = opt_str(obj.get("apiVersion"), "apiVersion")?.unwrap_or_default();
        let kind = opt_str(obj.get("kind"), "kind")?.unwrap_or_default();
        if api_version != API_VERSION || kind != KIND {
            return Err(ObjectError::WrongKind {
                expected: "a bitnami.com/v1alpha1 SealedSecret",
                api_version,
                kind,
            });
        }
        let mut ss = SealedSecret::default();
        if let Some(meta) = obj.get("metadata").filter(|m| !m.is_null()) {
            let meta = as_object(meta, "metadata")?;
            ss.name = opt_str(meta.get("name"), "metadata.name")?.unwrap_or_default();
            ss.namespace =
                opt_str(meta.get("namespace"), "metadata.namespace")?.filter(|n| !n.is_empty());
            if let Some(l) = meta.get("labels") {
                ss.labels = string_map(l, "metadata.labels")?;
            }
            if let Some(a) = meta.get("annotations") {
                ss.annotations = string_map(a, "metadata.annotations")?;
            }
            if meta.get("creationTimestamp").is_some_and(|t| t.is_null()) {
                ss.compat = KubesealCompat::CreationTimestampNull;
            }
        }
        let spec = match obj.get("spec") {
            Some(s) if !s.is_null() => as_object(s, "spec")?.clone(),
            _ => serde_json::Map::new(),
        };
        if let Some(t) = spec.get("template").filter(|t| !t.is_null()) {
            let t = as_object(t, "spec.template")?;
            if let Some(m) = t.get("metadata").filter(|m| !m.is_null()) {
                ss.template.metadata = read_template_meta(m)?;
            }
            ss.template.type_ =
                opt_str(t.get("type"), "spec.template.type")?.filter(|s| !s.is_empty());
            ss.template.immutable = match t.get("immutable") {
                None | Some(serde_json::Value::Null) => None,
                Some(serde_json::Value::Bool(b)) => Some(*b),
                Some(_) => return Err(wrong("spec.template.immutable", "a boolean")),
            };
            if let Some(d) = t.get("data") {
                ss.template.data = string_map(d, "spec.template.data")?;
            }
        }
        if let Some(e) = spec.get("encryptedData") {
            ss.encrypted_data = string_map(e, "spec.encryptedData")?;
        }
        ss.legacy_data = opt_str(spec.get("data"), "spec.data")?;
        Ok(ss)
    }

    /// The object in Go field order (what `json.Marshal` of the Go struct produces, §4.5).
    pub fn to_go_value(&self) -> GoValue {
        let ts_null = self.compat == KubesealCompat::CreationTimestampNull;
        let mut meta = vec![("name".to_string(), GoValue::str(&self.name))];
        if let Some(ns) = self.namespace.as_ref().filter(|n| !n.is_empty()) {
            meta.push(("namespace".into(), GoValue::str(ns)));
        }
        if ts_null {
            meta.push(("creationTimestamp".into(), GoValue::Null));
        }
        if !self.labels.is_empty() {
            meta.push(("labels".into(), string_map_value(&self.labels)));
        }
        if !self.annotations.is_empty() {
            meta.push(("annotations".into(), string_map_value(&self.annotations)));
        }

        let mut template = vec![(
            "metadata".to_string(),
            template_meta_value(&self.template.metadata, ts_null),
        )];
        if let Some(t) = self.template.type_.as_ref().filter(|t| !t.is_empty()) {
            template.push(("type".into(), GoValue::str(t)));
        }
        if let Some(i) = self.template.immutable {
            template.push(("immutable".into(), GoValue::Bool(i)));
        }
        if !self.template.data.is_empty() {
            template.push(("data".into(), string_map_value(&self.template.data)));
        }
        let mut spec = vec![("template".to_string(), GoValue::Map(template))];
        if let Some(d) = &self.legacy_data {
            spec.push(("data".into(), GoValue::str(d)));
        }
        spec.push((
            "encryptedData".into(),
            string_map_value(&self.encrypted_data),
        ));
        GoValue::Map(vec![
            ("kind".into(), GoValue::str(KIND)),
            ("apiVersion".into(), GoValue::str(API_VERSION)),
            ("metadata".into(), GoValue::Map(meta)),
            ("spec".into(), GoValue::Map(spec)),
        ])
    }
}

fn read_template_meta(v: &serde_json::Value) -> Result<TemplateMetadata, ObjectError> {
    let meta = as_object(v, "spec.template.metadata")?;
    let mut t = TemplateMetadata::default();
    for (field, value) in meta {
        let path = format!("spec.template.metadata.{field}");
        match field.as_str() {
            "name" => t.name = opt_str(Some(value), &path)?,
            "generateName" => t.generate_name = opt_str(Some(value), &path)?,
            "namespace" => t.namespace = opt_str(Some(value), &path)?,
            "labels" => t.labels = string_map(value, &path)?,
            "annotations" => t.annotations = string_map(value, &path)?,
            "finalizers" => t.finalizers = string_list(value, &path)?,
            // kubeseal 0.19–0.31 wrote `creationTimestamp: null`; the compat flag covers it.
            "creationTimestamp" if value.is_null() => {}
            f if OBJECT_META_ORDER.contains(&f) => {
                t.other.insert(f.to_string(), value.clone());
            }
            _ => return Err(ObjectError::UnsupportedField { path }),
        }
    }
    Ok(t)
}

fn template_meta_value(t: &TemplateMetadata, ts_null: bool) -> GoValue {
    let mut out = Vec::new();
    for field in OBJECT_META_ORDER {
        let v = match field {
            "name" => t.name.as_ref().filter(|s| !s.is_empty()).map(GoValue::str),
            "generateName" => t
                .generate_name
                .as_ref()
                .filter(|s| !s.is_empty())
                .map(GoValue::str),
            "namespace" => t
                .namespace
                .as_ref()
                .filter(|s| !s.is_empty())
                .map(GoValue::str),
            "creationTimestamp" if ts_null => Some(GoValue::Null),
            "labels" => (!t.labels.is_empty()).then(|| string_map_value(&t.labels)),
            "annotations" => (!t.annotations.is_empty()).then(|| string_map_value(&t.annotations)),
            "finalizers" => (!t.finalizers.is_empty())
                .then(|| GoValue::Seq(t.finalizers.iter().map(GoValue::str).collect())),
            other => t.other.get(other).map(GoValue::from),
        };
        if let Some(v) = v {
            out.push((field.to_string(), v));
        }
    }
    GoValue::Map(out)
}

fn string_map_value(m: &BTreeMap<String, String>) -> GoValue {
    // BTreeMap<String, _> iterates in byte order, which is Go's JSON map order.
    GoValue::Map(
        m.iter()
            .map(|(k, v)| (k.clone(), GoValue::str(v)))
            .collect(),
    )
}

// ---------------------------------------------------------------------------------------------
// Rendering (§4.5)

/// kubeseal `-o yaml`: for each object `---\n` + `sigs.k8s.io/yaml` output.
pub fn to_kubeseal_yaml(objects: &[SealedSecret]) -> String {
    objects
        .iter()
        .map(|o| to_go_yaml_after("---\n".to_string(), &o.to_go_value()))
        .collect()
}

/// kubeseal `-o json` (the default): `json.MarshalIndent(obj, "", "  ")` + `\n` per object.
pub fn to_kubeseal_json(objects: &[SealedSecret]) -> String {
    objects
        .iter()
        .map(|o| to_go_json(&o.to_go_value()))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Unseal (what the controller builds, §3.2)

/// The Secret the controller would create from a SealedSecret (§3.2).
#[derive(Debug, Clone, PartialEq)]
pub struct UnsealedSecret {
    pub metadata: TemplateMetadata,
    /// `true` unless the template says `skip-set-owner-references: "true"` (§3.2 step 4).
    pub owner_reference: bool,
    pub type_: Option<String>,
    pub immutable: Option<bool>,
    pub data: BTreeMap<String, SecretBytes>,
}

impl UnsealedSecret {
    /// The Secret manifest as JSON, `data` base64-encoded, with the controller's ownerReference
    /// (`uid` empty: this is offline). For `--recovery-unseal` style output and tests.
    pub fn to_json(&self, owner_uid: &str) -> serde_json::Value {
        let mut meta = serde_json::Map::new();
        let name = self.metadata.name.clone().unwrap_or_default();
        meta.insert("name".into(), name.clone().into());
        if let Some(ns) = &self.metadata.namespace {
            meta.insert("namespace".into(), ns.clone().into());
        }
        if let Some(g) = &self.metadata.generate_name {
            meta.insert("generateName".into(), g.clone().into());
        }
        if !self.metadata.labels.is_empty() {
            meta.insert("labels".into(), serde_json::json!(self.metadata.labels));
        }
        if !self.metadata.annotations.is_empty() {
            meta.insert(
                "annotations".into(),
                serde_json::json!(self.metadata.annotations),
            );
        }
        if !self.metadata.finalizers.is_empty() {
            meta.insert(
                "finalizers".into(),
                serde_json::json!(self.metadata.finalizers),
            );
        }
        for (k, v) in &self.metadata.other {
            meta.insert(k.clone(), v.clone());
        }
        if self.owner_reference {
            meta.insert(
                "ownerReferences".into(),
                serde_json::json!([{
                    "apiVersion": API_VERSION,
                    "kind": KIND,
                    "name": name,
                    "uid": owner_uid,
                    "controller": true,
                }]),
            );
        }
        let mut out = serde_json::Map::new();
        out.insert("apiVersion".into(), "v1".into());
        out.insert("kind".into(), "Secret".into());
        out.insert("metadata".into(), meta.into());
        if let Some(t) = &self.type_ {
            out.insert("type".into(), t.clone().into());
        }
        if let Some(i) = self.immutable {
            out.insert("immutable".into(), i.into());
        }
        let b64 = base64::engine::general_purpose::STANDARD;
        out.insert(
            "data".into(),
            serde_json::Value::Object(
                self.data
                    .iter()
                    .map(|(k, v)| (k.clone(), b64.encode(v.expose()).into()))
                    .collect(),
            ),
        );
        serde_json::Value::Object(out)
    }
}

/// Unseals like the controller (§3.2): label from the top-level metadata (with
/// `namespace_override` standing in for `kubectl apply -n` when the object has no namespace),
/// every item decrypted, any failure fails the whole Secret.
pub fn unseal(
    ss: &SealedSecret,
    keys: &UnsealingKeys,
    namespace_override: Option<&str>,
) -> Result<UnsealedSecret, UnsealError> {
    if ss.name.is_empty() {
        return Err(UnsealError::MissingName);
    }
    let namespace = ss
        .namespace
        .clone()
        .or_else(|| namespace_override.map(str::to_string))
        .filter(|n| !n.is_empty());
    let label = ss
        .scope()
        .label(namespace.as_deref().unwrap_or(""), &ss.name);
    if !ss.template.data.is_empty() {
        return Err(UnsealError::TemplateDataUnsupported);
    }
    let mut metadata = ss.template.metadata.clone();
    let mut type_ = ss.template.type_.clone();
    let mut immutable = ss.template.immutable;
    let mut data = BTreeMap::new();
    if let Some(blob) = &ss.legacy_data {
        if !ss.encrypted_data.is_empty() {
            return Err(UnsealError::BothFormats);
        }
        let plain = keys
            .unseal_value(&label, blob)
            .map_err(|e| UnsealError::Items(e.to_string()))?;
        let inner: serde_json::Value = serde_json::from_slice(plain.expose())
            .map_err(|_| UnsealError::LegacyData("decrypted blob is not a Secret".into()))?;
        let m =
            SecretManifest::from_json(inner).map_err(|e| UnsealError::LegacyData(e.to_string()))?;
        metadata = TemplateMetadata {
            labels: m.labels,
            annotations: m.annotations,
            finalizers: m.finalizers,
            generate_name: m.generate_name,
            ..TemplateMetadata::default()
        };
        type_ = m.type_;
        immutable = m.immutable;
        data = m.data;
        for (k, v) in m.string_data {
            data.insert(k, v);
        }
    } else {
        // Per-item errors collected and de-duplicated like the controller's message (§3.1).
        let mut failures: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        for (k, ct) in &ss.encrypted_data {
            match keys.unseal_value(&label, ct) {
                Ok(v) => {
                    data.insert(k.clone(), v);
                }
                Err(e @ (CryptoError::NoKeyCouldDecrypt | CryptoError::IllegalBase64(_))) => {
                    failures.entry(e.to_string()).or_default().push(k)
                }
                Err(e) => failures.entry(e.to_string()).or_default().push(k),
            }
        }
        if !failures.is_empty() {
            let msg = failures
                .iter()
                .map(|(e, ks)| format!("{e} ({})", ks.join(", ")))
                .collect::<Vec<_>>()
                .join("; ");
            return Err(UnsealError::Items(msg));
        }
    }
    metadata.name = Some(ss.name.clone());
    metadata.namespace = namespace;
    metadata.other.remove("creationTimestamp");
    metadata.other.remove("ownerReferences");
    let owner_reference = ss
        .template
        .metadata
        .annotations
        .get(SKIP_SET_OWNER_REFERENCES_ANNOTATION)
        .map(String::as_str)
        != Some("true");
    Ok(UnsealedSecret {
        metadata,
        owner_reference,
        type_,
        immutable,
        data,
    })
}

// ---------------------------------------------------------------------------------------------
// Documents

/// Splits a YAML multi-document stream (`---`) or concatenated JSON objects (kubeseal's default
/// multi-secret output) into JSON values; empty documents are skipped (§4.1).
pub fn parse_documents(text: &str) -> Result<Vec<serde_json::Value>, ObjectError> {
    let mut out = Vec::new();
    if text.trim_start().starts_with('{') {
        for v in serde_json::Deserializer::from_str(text).into_iter::<serde_json::Value>() {
            // serde_json errors carry only positions and expectations, not input text.
            out.push(v.map_err(|e| ObjectError::Parse(e.to_string()))?);
        }
        return Ok(out);
    }
    use serde::Deserialize as _;
    for doc in serde_yaml_ng::Deserializer::from_str(text) {
        let v = serde_json::Value::deserialize(doc).map_err(|e| {
            // Keep only the location: a YAML error message can quote the offending scalar.
            let loc = e
                .location()
                .map(|l| format!("line {} column {}", l.line(), l.column()))
                .unwrap_or_else(|| "unknown position".into());
            ObjectError::Parse(format!("invalid YAML at {loc}"))
        })?;
        if !v.is_null() {
            out.push(v);
        }
    }
    Ok(out)
}

/// Parses every Secret in a YAML/JSON stream. No documents → kubeseal's error (§4.1).
pub fn parse_secrets(text: &str) -> Result<Vec<SecretManifest>, ObjectError> {
    let docs = parse_documents(text)?;
    if docs.is_empty() {
        return Err(ObjectError::NoDocuments);
    }
    docs.into_iter().map(SecretManifest::from_json).collect()
}

/// Parses every SealedSecret in a YAML/JSON stream.
pub fn parse_sealed_secrets(text: &str) -> Result<Vec<SealedSecret>, ObjectError> {
    parse_documents(text)?
        .into_iter()
        .map(SealedSecret::from_json)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// JSON helpers (errors name paths, never values)

fn wrong(path: &str, expected: &'static str) -> ObjectError {
    ObjectError::WrongType {
        path: path.to_string(),
        expected,
    }
}

fn as_object<'a>(
    v: &'a serde_json::Value,
    path: &str,
) -> Result<&'a serde_json::Map<String, serde_json::Value>, ObjectError> {
    v.as_object().ok_or_else(|| wrong(path, "a mapping"))
}

fn opt_str(v: Option<&serde_json::Value>, path: &str) -> Result<Option<String>, ObjectError> {
    match v {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(wrong(path, "a string")),
    }
}

/// Entries of a `map[string]string`-like field; `null` values are Go's zero value.
fn string_map_entries<'a>(
    v: &'a serde_json::Value,
    path: &str,
) -> Result<Vec<(&'a str, Option<&'a str>)>, ObjectError> {
    if v.is_null() {
        return Ok(Vec::new());
    }
    let obj = as_object(v, path)?;
    obj.iter()
        .map(|(k, val)| match val {
            serde_json::Value::Null => Ok((k.as_str(), None)),
            serde_json::Value::String(s) => Ok((k.as_str(), Some(s.as_str()))),
            _ => Err(wrong(&format!("{path}.{k}"), "a string")),
        })
        .collect()
}

fn string_map(v: &serde_json::Value, path: &str) -> Result<BTreeMap<String, String>, ObjectError> {
    Ok(string_map_entries(v, path)?
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.unwrap_or("").to_string()))
        .collect())
}

fn string_list(v: &serde_json::Value, path: &str) -> Result<Vec<String>, ObjectError> {
    match v {
        serde_json::Value::Null => Ok(Vec::new()),
        serde_json::Value::Array(a) => a
            .iter()
            .enumerate()
            .map(|(i, x)| {
                x.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| wrong(&format!("{path}[{i}]"), "a string"))
            })
            .collect(),
        _ => Err(wrong(path, "a list of strings")),
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        /// Whatever is wrong with a value, the error never quotes it (STYLE.md "Secrets in
        /// memory"); valid base64 decodes to the same bytes.
        #[test]
        fn errors_never_quote_values(
            field in prop_oneof![Just("data"), Just("stringData"), Just("metadata")],
            body in "[A-Za-z0-9+/=_ -]{0,16}",
            as_number in any::<bool>(),
        ) {
            let marker = format!("SECRETMARK{body}");
            let value = if as_number { serde_json::json!(12345.678) } else { serde_json::json!(marker) };
            let doc = serde_json::json!({
                "apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "n", "namespace": "ns"},
                field: {"item": value},
            });
            match SecretManifest::from_json(doc) {
                Ok(m) => {
                    if field == "stringData" {
                        prop_assert_eq!(m.string_data["item"].expose(), marker.as_bytes());
                    }
                }
                Err(e) => {
                    let text = e.to_string();
                    prop_assert!(!text.contains("SECRETMARK") && !text.contains("12345"), "{}", text);
                }
            }
        }

        #[test]
        fn base64_data_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            use base64::Engine as _;
            let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
            let doc = serde_json::json!({"metadata": {"name": "n"}, "data": {"k": b64}});
            let m = SecretManifest::from_json(doc).unwrap();
            prop_assert_eq!(m.data["k"].expose(), &bytes[..]);
        }
    }
}
