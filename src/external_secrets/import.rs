//! `external-secrets import FOLDER`: reads hand-written ExternalSecrets (and the stores next to
//! them) and prints the equivalent `workloads:` config, so a repository like the user's
//! (HOMELAB-WORKFLOWS.md §1) is adopted without retyping. It must never drop a field it cannot
//! express: anything outside the `workloads:` schema is an error naming the file, object and
//! field, because an import that silently loses a `decodingStrategy` changes what the cluster
//! receives. It reads manifests only; no secret value is involved.

use super::config::canonical_duration;
use super::yaml::render_yaml;
use super::EsoError;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One parsed YAML document and the file it came from.
#[derive(Debug, Clone)]
pub struct SourceDoc {
    pub file: PathBuf,
    pub doc: Value,
}

/// Reads every `*.yaml` / `*.yml` under `dir` (recursively, sorted), all documents of each.
pub fn read_folder(dir: &Path) -> Result<Vec<SourceDoc>, EsoError> {
    let mut files = Vec::new();
    collect(dir, &mut files)?;
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).map_err(|source| EsoError::Io {
            path: f.clone(),
            source,
        })?;
        for d in serde_yaml_ng::Deserializer::from_str(&text) {
            let v: Value = serde::Deserialize::deserialize(d).map_err(|e| EsoError::Import {
                path: f.clone(),
                msg: format!("not YAML: {e}"),
            })?;
            if !v.is_null() {
                out.push(SourceDoc {
                    file: f.clone(),
                    doc: v,
                });
            }
        }
    }
    Ok(out)
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), EsoError> {
    let rd = std::fs::read_dir(dir).map_err(|source| EsoError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    for e in rd {
        let e = e.map_err(|source| EsoError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let p = e.path();
        if p.is_dir() {
            collect(&p, out)?;
        } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
            out.push(p);
        }
    }
    Ok(())
}

fn str_at<'a>(v: &'a Value, ptr: &str) -> Option<&'a str> {
    v.pointer(ptr).and_then(Value::as_str)
}

/// Joins a key the way ESO's Infisical provider resolves it against `secretsPath`
/// (INFISICAL.md §9.1), giving the absolute form the generator writes.
fn absolute(key: &str, secrets_path: &str) -> String {
    if key.starts_with('/') {
        key.to_string()
    } else {
        let base = secrets_path.trim_end_matches('/');
        format!("{base}/{key}")
    }
}

/// Fields that exist only to state the controller default (EXTERNAL-SECRETS.md §2.3): accepted
/// and dropped, since the generator would not write them.
fn is_default(field: &str, v: &Value) -> bool {
    matches!(
        (field, v.as_str()),
        ("conversionStrategy", Some("Default"))
            | ("decodingStrategy", Some("None"))
            | ("metadataPolicy", Some("None"))
    )
}

/// Converts the ExternalSecrets among `docs` into the `workloads:` map. `infisical_stores` are
/// ClusterSecretStore names known (e.g. from the config) to be the Infisical store with
/// `secretsPath: /`; Infisical stores found among `docs` are added with their own `secretsPath`.
pub fn workloads_from(docs: &[SourceDoc], infisical_stores: &[String]) -> Result<Value, EsoError> {
    let mut stores: BTreeMap<String, String> = infisical_stores
        .iter()
        .map(|s| (s.clone(), "/".to_string()))
        .collect();
    for d in docs {
        if str_at(&d.doc, "/kind") == Some("ClusterSecretStore")
            && d.doc.pointer("/spec/provider/infisical").is_some()
        {
            if let Some(n) = str_at(&d.doc, "/metadata/name") {
                let sp = str_at(&d.doc, "/spec/provider/infisical/secretsScope/secretsPath")
                    .unwrap_or("/");
                stores.insert(n.to_string(), sp.to_string());
            }
        }
    }
    // Flux/kustomize `namespace:` of a folder's kustomization applies to objects without one.
    let mut folder_ns: BTreeMap<PathBuf, String> = BTreeMap::new();
    for d in docs {
        if str_at(&d.doc, "/kind") == Some("Kustomization") {
            if let (Some(dir), Some(ns)) = (d.file.parent(), str_at(&d.doc, "/namespace")) {
                folder_ns.insert(dir.to_path_buf(), ns.to_string());
            }
        }
    }
    let mut out = Map::new();
    let mut origin: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut problems = Vec::new();
    for d in docs {
        if str_at(&d.doc, "/kind") != Some("ExternalSecret")
            || !str_at(&d.doc, "/apiVersion").is_some_and(|a| a.starts_with("external-secrets.io/"))
        {
            continue;
        }
        let name = str_at(&d.doc, "/metadata/name").unwrap_or("").to_string();
        let mut un = Unsupported::default();
        let w = workload(d, &name, &stores, &folder_ns, &mut un);
        if !un.0.is_empty() {
            problems.push(format!(
                "{}: ExternalSecret {name:?}: {}",
                d.file.display(),
                un.0.join("; ")
            ));
            continue;
        }
        if let Some(prev) = origin.insert(name.clone(), d.file.clone()) {
            problems.push(format!(
                "{}: ExternalSecret {name:?} is also defined in {}; workload names must be unique",
                d.file.display(),
                prev.display()
            ));
            continue;
        }
        out.insert(name, w);
    }
    if !problems.is_empty() {
        return Err(EsoError::Import {
            path: PathBuf::from("import"),
            msg: format!(
                "cannot express these in `workloads:` (nothing was printed):\n  {}",
                problems.join("\n  ")
            ),
        });
    }
    Ok(Value::Object(out))
}

#[derive(Default)]
struct Unsupported(Vec<String>);

impl Unsupported {
    fn field(&mut self, at: &str) {
        self.0
            .push(format!("{at} is not supported by the workloads config"));
    }
    fn msg(&mut self, m: String) {
        self.0.push(m);
    }
    /// Flags every key of `obj` not in `known`.
    fn only(&mut self, obj: &Value, at: &str, known: &[&str]) {
        if let Some(m) = obj.as_object() {
            for (k, v) in m {
                if !known.contains(&k.as_str()) && !is_default(k, v) {
                    self.field(&format!("{at}.{k}"));
                }
            }
        }
    }
}

fn workload(
    d: &SourceDoc,
    name: &str,
    stores: &BTreeMap<String, String>,
    folder_ns: &BTreeMap<PathBuf, String>,
    un: &mut Unsupported,
) -> Value {
    let doc = &d.doc;
    let mut w = Map::new();
    if name.is_empty() {
        un.msg("metadata.name is missing".into());
    }
    un.only(
        doc,
        "",
        &["apiVersion", "kind", "metadata", "spec", "status"],
    );
    un.only(
        doc.get("metadata").unwrap_or(&Value::Null),
        "metadata",
        &["name", "namespace"],
    );
    let ns = str_at(doc, "/metadata/namespace")
        .map(str::to_string)
        .or_else(|| d.file.parent().and_then(|p| folder_ns.get(p)).cloned());
    match ns {
        Some(ns) => {
            w.insert("namespace".into(), json!(ns));
        }
        None => un
            .msg("no metadata.namespace (and no kustomization.yaml `namespace:` beside it)".into()),
    }
    let spec = doc.get("spec").cloned().unwrap_or(Value::Null);
    un.only(
        &spec,
        "spec",
        &[
            "refreshInterval",
            "secretStoreRef",
            "target",
            "data",
            "dataFrom",
        ],
    );
    if let Some(r) = str_at(&spec, "/refreshInterval") {
        match canonical_duration(r) {
            Ok(c) => {
                w.insert("refresh".into(), json!(c));
            }
            Err(m) => un.msg(format!("spec.refreshInterval: {m}")),
        }
    }
    let store_name = str_at(&spec, "/secretStoreRef/name").unwrap_or("");
    // An omitted kind means a namespaced SecretStore (EXTERNAL-SECRETS.md §2.1).
    let store_kind = str_at(&spec, "/secretStoreRef/kind").unwrap_or("SecretStore");
    un.only(
        spec.get("secretStoreRef").unwrap_or(&Value::Null),
        "spec.secretStoreRef",
        &["name", "kind"],
    );
    let infisical_path = if store_kind == "ClusterSecretStore" {
        stores.get(store_name).cloned()
    } else {
        None
    };
    if infisical_path.is_none() {
        let mut s = Map::new();
        s.insert("name".into(), json!(store_name));
        if store_kind != "ClusterSecretStore" {
            s.insert("kind".into(), json!(store_kind));
        }
        w.insert("store".into(), Value::Object(s));
    }
    let key_of = |k: &str| match &infisical_path {
        Some(sp) => absolute(k, sp),
        None => k.to_string(),
    };

    // target
    let target = spec.get("target").cloned().unwrap_or(Value::Null);
    un.only(
        &target,
        "spec.target",
        &["name", "creationPolicy", "deletionPolicy", "template"],
    );
    let mut t = Map::new();
    if let Some(n) = str_at(&target, "/name").filter(|n| *n != name) {
        t.insert("name".into(), json!(n));
    }
    if let Some(tpl) = target.get("template") {
        un.only(
            tpl,
            "spec.target.template",
            &["engineVersion", "type", "data"],
        );
        if let Some(ev) = str_at(tpl, "/engineVersion").filter(|v| *v != "v2") {
            un.msg(format!(
                "spec.target.template.engineVersion {ev:?}: only v2 exists in external-secrets.io/v1"
            ));
        }
        if let Some(ty) = str_at(tpl, "/type").filter(|t| *t != "Opaque") {
            t.insert("type".into(), json!(ty));
        }
        if let Some(Value::Object(td)) = tpl.get("data") {
            let mut m = Map::new();
            for (k, v) in td {
                match v.as_str() {
                    Some(s) => {
                        m.insert(k.clone(), json!(s));
                    }
                    None => un.msg(format!("spec.target.template.data.{k} is not a string")),
                }
            }
            if !m.is_empty() {
                w.insert("template".into(), Value::Object(m));
            }
        }
    }
    if !t.is_empty() {
        w.insert("target".into(), Value::Object(t));
    }
    if let Some(p) = str_at(&target, "/creationPolicy").filter(|p| *p != "Owner") {
        w.insert("creation_policy".into(), json!(p));
    }
    if let Some(p) = str_at(&target, "/deletionPolicy").filter(|p| *p != "Retain") {
        w.insert("deletion_policy".into(), json!(p));
    }

    // data
    if let Some(items) = spec.get("data").and_then(Value::as_array) {
        let mut m = Map::new();
        for (i, it) in items.iter().enumerate() {
            let at = format!("spec.data[{i}]");
            un.only(it, &at, &["secretKey", "remoteRef"]);
            let rr = it.get("remoteRef").cloned().unwrap_or(Value::Null);
            un.only(&rr, &format!("{at}.remoteRef"), &["key", "property"]);
            let (Some(sk), Some(k)) = (str_at(it, "/secretKey"), str_at(&rr, "/key")) else {
                un.msg(format!("{at} needs secretKey and remoteRef.key"));
                continue;
            };
            let key = key_of(k);
            let v = match str_at(&rr, "/property") {
                Some(p) => json!({"key": key, "property": p}),
                None => json!(key),
            };
            if m.insert(sk.to_string(), v).is_some() {
                un.msg(format!("{at}: secretKey {sk} appears twice"));
            }
        }
        if !m.is_empty() {
            w.insert("data".into(), Value::Object(m));
        }
    }

    // dataFrom
    if let Some(items) = spec.get("dataFrom").and_then(Value::as_array) {
        let mut from = Vec::new();
        for (i, it) in items.iter().enumerate() {
            let at = format!("spec.dataFrom[{i}]");
            un.only(it, &at, &["find", "extract", "rewrite"]);
            let path = if let Some(f) = it.get("find") {
                un.only(f, &format!("{at}.find"), &["path"]);
                match str_at(f, "/path") {
                    Some(p) => key_of(p),
                    None => {
                        un.msg(format!("{at}.find without path is not supported"));
                        continue;
                    }
                }
            } else if let Some(e) = it.get("extract") {
                un.only(e, &format!("{at}.extract"), &["key"]);
                match str_at(e, "/key") {
                    Some(k) => key_of(k),
                    None => {
                        un.msg(format!("{at}.extract needs key"));
                        continue;
                    }
                }
            } else {
                un.msg(format!("{at} needs find or extract"));
                continue;
            };
            let mut rewrite = Vec::new();
            for (j, r) in it
                .get("rewrite")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                let rat = format!("{at}.rewrite[{j}]");
                let ops = r.as_object().map(|m| m.len()).unwrap_or(0);
                if ops != 1 {
                    // ESO ≥ v0.19 rejects this too (EXTERNAL-SECRETS.md §2.4).
                    un.msg(format!("{rat} must hold exactly one operation, has {ops}"));
                    continue;
                }
                if let Some(rx) = r.get("regexp") {
                    un.only(rx, &format!("{rat}.regexp"), &["source", "target"]);
                    rewrite.push(json!({"regexp": {
                        "source": str_at(rx, "/source").unwrap_or(""),
                        "target": str_at(rx, "/target").unwrap_or(""),
                    }}));
                } else if let Some(tf) = r.get("transform") {
                    un.only(tf, &format!("{rat}.transform"), &["template"]);
                    rewrite.push(json!({"transform": str_at(tf, "/template").unwrap_or("")}));
                } else {
                    un.only(r, &rat, &[]);
                }
            }
            if rewrite.is_empty() {
                from.push(json!(path));
            } else {
                from.push(json!({"path": path, "rewrite": rewrite}));
            }
        }
        if !from.is_empty() {
            w.insert("from".into(), Value::Array(from));
        }
    }
    Value::Object(w)
}

/// The text `import` prints: a `workloads:` section ready to paste into the config.
pub fn render_workloads(workloads: &Value) -> String {
    render_yaml(&json!({ "workloads": workloads }))
}
