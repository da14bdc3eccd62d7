//! Reading what the cluster made of the repository's objects: is a SealedSecret / ExternalSecret
//! there, and what does its condition say (SEALED-SECRETS.md §3.1: `Synced`; ESO: `Ready`). It
//! reads objects only — never Secrets — so no value can pass through here.

use super::{ApiClient, KubeError};
use serde::Serialize;

/// An object the repository declares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectRef {
    /// e.g. `bitnami.com/v1alpha1`.
    pub api_version: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl ObjectRef {
    /// The condition type that says whether the object worked.
    pub fn condition_type(&self) -> &'static str {
        match self.kind.as_str() {
            "SealedSecret" => "Synced",
            _ => "Ready",
        }
    }

    /// Lower-case plural resource name: both kinds we read pluralise by adding `s`.
    fn plural(&self) -> String {
        format!("{}s", self.kind.to_ascii_lowercase())
    }

    pub fn path(&self) -> String {
        let base = if self.api_version.contains('/') {
            format!("/apis/{}", self.api_version)
        } else {
            format!("/api/{}", self.api_version)
        };
        format!(
            "{base}/namespaces/{}/{}/{}",
            self.namespace,
            self.plural(),
            self.name
        )
    }
}

/// What the cluster says about one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ObjectStatus {
    /// Not in the cluster.
    Missing,
    /// The kind itself is unknown to the API server (the CRD is not installed).
    NoCrd,
    /// Present; `condition` is the Synced/Ready condition if the controller wrote one.
    Present { condition: Option<Condition> },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Condition {
    #[serde(rename = "type")]
    pub type_: String,
    /// "True", "False" or "Unknown".
    pub status: String,
    pub reason: Option<String>,
    pub message: Option<String>,
}

/// GETs the object and extracts its condition.
pub async fn object_status(api: &ApiClient, obj: &ObjectRef) -> Result<ObjectStatus, KubeError> {
    let action = format!("get {} {}/{}", obj.plural(), obj.namespace, obj.name);
    let request = http::Request::get(obj.path())
        .header(http::header::ACCEPT, "application/json")
        .body(Vec::new())
        .map_err(|e| KubeError::Other {
            action: action.clone(),
            reason: e.to_string(),
        })?;
    match api.client.request::<serde_json::Value>(request).await {
        Ok(v) => Ok(ObjectStatus::Present {
            condition: condition(&v, obj.condition_type()),
        }),
        Err(::kube::Error::Api(st)) if st.code == 404 => {
            // A missing object is a `Status` with reason NotFound; an unknown resource path
            // (no CRD) is a bare "404 page not found".
            if st.reason == "NotFound" || st.details.is_some() {
                Ok(ObjectStatus::Missing)
            } else {
                Ok(ObjectStatus::NoCrd)
            }
        }
        Err(e) => Err(KubeError::from_kube(e, &action, api)),
    }
}

fn condition(v: &serde_json::Value, type_: &str) -> Option<Condition> {
    let conds = v.get("status")?.get("conditions")?.as_array()?;
    let c = conds
        .iter()
        .find(|c| c.get("type").and_then(|t| t.as_str()) == Some(type_))?;
    let s = |k: &str| c.get(k).and_then(|x| x.as_str()).map(str::to_string);
    Some(Condition {
        type_: type_.to_string(),
        status: s("status").unwrap_or_else(|| "Unknown".into()),
        reason: s("reason"),
        message: s("message"),
    })
}
