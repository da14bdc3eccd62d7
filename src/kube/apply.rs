//! Writing and reading Secrets: server-side apply with our field manager (so a re-run, or Flux
//! later, owns the fields cleanly), namespace creation, the controller's sealing key Secrets
//! (SEALED-SECRETS.md §6–§7) and restarting the controller. Secret values stay in
//! [`SecretBytes`] up to the request body; responses are never parsed into value-holding types,
//! and no value reaches an error or a message.

use super::{ApiClient, KubeError};
use crate::secret::SecretBytes;
use ::kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use base64::Engine as _;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use serde::{Deserialize, Serialize, Serializer};
use std::collections::BTreeMap;

/// The field manager of every apply (server-side apply ownership).
pub const FIELD_MANAGER: &str = "overworld-secrets";

/// The label that marks a sealing key Secret (SEALED-SECRETS.md §6).
pub const SEALING_KEY_LABEL: &str = "sealedsecrets.bitnami.com/sealed-secrets-key";

/// The pre-0.9 key Secret's fixed name, read by the controller without the label (§6).
pub const LEGACY_KEY_NAME: &str = "sealed-secrets-key";

/// Pod label selectors of the controller: Helm chart, plain manifest (§7 step 4).
pub const CONTROLLER_POD_SELECTORS: [&str; 2] = [
    "app.kubernetes.io/name=sealed-secrets",
    "name=sealed-secrets-controller",
];

/// A v1 Secret as we apply it or read it back: only the fields a new cluster needs, without
/// server fields (uid, resourceVersion, creationTimestamp, managedFields, ownerReferences — §7).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SecretObject {
    pub name: String,
    pub namespace: String,
    pub type_: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub data: BTreeMap<String, SecretBytes>,
}

/// Base64 of each value, produced only while the request body is serialised.
struct DataMap<'a>(&'a BTreeMap<String, SecretBytes>);

impl Serialize for DataMap<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            let b64 = zeroize::Zeroizing::new(
                base64::engine::general_purpose::STANDARD.encode(v.expose()),
            );
            m.serialize_entry(k, b64.as_str())?;
        }
        m.end()
    }
}

impl Serialize for SecretObject {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        #[derive(Serialize)]
        struct Meta<'a> {
            name: &'a str,
            namespace: &'a str,
            #[serde(skip_serializing_if = "BTreeMap::is_empty")]
            labels: &'a BTreeMap<String, String>,
            #[serde(skip_serializing_if = "BTreeMap::is_empty")]
            annotations: &'a BTreeMap<String, String>,
        }
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("apiVersion", "v1")?;
        m.serialize_entry("kind", "Secret")?;
        m.serialize_entry(
            "metadata",
            &Meta {
                name: &self.name,
                namespace: &self.namespace,
                labels: &self.labels,
                annotations: &self.annotations,
            },
        )?;
        if let Some(t) = &self.type_ {
            m.serialize_entry("type", t)?;
        }
        m.serialize_entry("data", &DataMap(&self.data))?;
        m.end()
    }
}

/// One `data` value as the API returns it: decoded into [`SecretBytes`], the base64 text wiped.
struct B64Value(SecretBytes);

impl<'de> Deserialize<'de> for B64Value {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = zeroize::Zeroizing::new(String::deserialize(d)?);
        base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map(|v| B64Value(SecretBytes::new(v)))
            .map_err(|_| serde::de::Error::custom("a data value is not base64"))
    }
}

#[derive(Deserialize)]
struct ReadMeta {
    name: Option<String>,
    namespace: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct ReadSecret {
    metadata: ReadMeta,
    #[serde(rename = "type")]
    type_: Option<String>,
    #[serde(default)]
    data: BTreeMap<String, B64Value>,
}

#[derive(Deserialize)]
struct ReadSecretList {
    #[serde(default)]
    items: Vec<ReadSecret>,
}

impl From<ReadSecret> for SecretObject {
    fn from(r: ReadSecret) -> Self {
        let mut annotations = r.metadata.annotations;
        // kubectl's copy of the whole object, values included: never carry it along.
        annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
        SecretObject {
            name: r.metadata.name.unwrap_or_default(),
            namespace: r.metadata.namespace.unwrap_or_default(),
            type_: r.type_,
            labels: r.metadata.labels,
            annotations,
            data: r.data.into_iter().map(|(k, v)| (k, v.0)).collect(),
        }
    }
}

fn build_err(action: &str, e: impl std::fmt::Display) -> KubeError {
    KubeError::Other {
        action: action.into(),
        reason: e.to_string(),
    }
}

/// Server-side apply of a Secret: PATCH `application/apply-patch+yaml` with
/// `fieldManager=overworld-secrets&force=true` (force: we are the source of truth for these
/// fields, even when kubectl created the Secret first).
pub async fn apply_secret(api: &ApiClient, secret: &SecretObject) -> Result<(), KubeError> {
    let action = format!("apply secrets {}/{}", secret.namespace, secret.name);
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let request =
        ::kube::core::Request::new(format!("/api/v1/namespaces/{}/secrets", secret.namespace))
            .patch(&secret.name, &params, &Patch::Apply(secret))
            .map_err(|e| build_err(&action, e))?;
    // The response echoes the data: read it into nothing.
    api.client
        .request::<serde::de::IgnoredAny>(request)
        .await
        .map_err(|e| KubeError::from_kube(e, &action, api))?;
    Ok(())
}

/// Creates `namespace` (server-side apply) when it does not exist; returns whether it did.
pub async fn ensure_namespace(api: &ApiClient, namespace: &str) -> Result<bool, KubeError> {
    let namespaces: Api<Namespace> = Api::all(api.client.clone());
    let found = namespaces
        .get_opt(namespace)
        .await
        .map_err(|e| KubeError::from_kube(e, &format!("get namespaces {namespace}"), api))?;
    if found.is_some() {
        return Ok(false);
    }
    let ns = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": { "name": namespace },
    });
    namespaces
        .patch(
            namespace,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&ns),
        )
        .await
        .map_err(|e| KubeError::from_kube(e, &format!("create namespace {namespace}"), api))?;
    Ok(true)
}

/// The controller's sealing key Secrets in `namespace`: every Secret carrying the key label (any
/// value; `kubectl get -l` semantics, as the upstream backup procedure), plus the legacy
/// `sealed-secrets-key` Secret (§6–§7). Sorted by name.
pub async fn list_sealing_keys(
    api: &ApiClient,
    namespace: &str,
) -> Result<Vec<SecretObject>, KubeError> {
    let action = format!("list secrets in {namespace}");
    let lp = ListParams::default().labels(SEALING_KEY_LABEL);
    let request = ::kube::core::Request::new(format!("/api/v1/namespaces/{namespace}/secrets"))
        .list(&lp)
        .map_err(|e| build_err(&action, e))?;
    let list: ReadSecretList = api
        .client
        .request(request)
        .await
        .map_err(|e| KubeError::from_kube(e, &action, api))?;
    let mut keys: Vec<SecretObject> = list.items.into_iter().map(SecretObject::from).collect();
    if !keys.iter().any(|k| k.name == LEGACY_KEY_NAME) {
        let action = format!("get secrets {namespace}/{LEGACY_KEY_NAME}");
        let request = ::kube::core::Request::new(format!("/api/v1/namespaces/{namespace}/secrets"))
            .get(LEGACY_KEY_NAME, &Default::default())
            .map_err(|e| build_err(&action, e))?;
        match api.client.request::<ReadSecret>(request).await {
            Ok(s) => keys.push(s.into()),
            Err(e) => {
                let e = KubeError::from_kube(e, &action, api);
                if e.code() != Some(404) {
                    return Err(e);
                }
            }
        }
    }
    for k in &mut keys {
        if k.namespace.is_empty() {
            k.namespace = namespace.to_string();
        }
    }
    keys.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(keys)
}

/// Names of running controller pods in `namespace`, by the chart's or the plain manifest's labels.
pub async fn controller_pods(api: &ApiClient, namespace: &str) -> Result<Vec<String>, KubeError> {
    let pods: Api<Pod> = Api::namespaced(api.client.clone(), namespace);
    let mut names = Vec::new();
    for selector in CONTROLLER_POD_SELECTORS {
        let list = pods
            .list(&ListParams::default().labels(selector))
            .await
            .map_err(|e| KubeError::from_kube(e, &format!("list pods in {namespace}"), api))?;
        for p in list.items {
            let running = p
                .status
                .as_ref()
                .and_then(|s| s.phase.as_deref())
                .is_some_and(|ph| ph == "Running" || ph == "Pending");
            if let (true, Some(n)) = (running, p.metadata.name) {
                names.push(n);
            }
        }
    }
    names.sort();
    names.dedup();
    Ok(names)
}

/// Deletes the controller pods so their Deployment starts fresh ones that load the restored keys
/// (§7 step 4: keys added at run time are not noticed without `--watch-for-secrets`).
pub async fn restart_controller(
    api: &ApiClient,
    namespace: &str,
    pods: &[String],
) -> Result<(), KubeError> {
    let api_pods: Api<Pod> = Api::namespaced(api.client.clone(), namespace);
    for name in pods {
        match api_pods.delete(name, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(e) => {
                let e = KubeError::from_kube(e, &format!("delete pods {namespace}/{name}"), api);
                // Already gone (a rollout raced us): that is what we wanted.
                if e.code() != Some(404) {
                    return Err(e);
                }
            }
        }
    }
    Ok(())
}
