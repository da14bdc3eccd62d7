//! Fetching the controller's sealing certificate exactly as kubeseal does: read the Service's
//! first port name, then GET `/v1/cert.pem` through the API server's service proxy
//! (SEALED-SECRETS.md §4.6), so the same RBAC that lets kubeseal work lets us work. When the
//! configured Service is missing it looks for the controller under the names the install methods
//! use (§8) and reports them; it must never silently switch to a Service the config does not name.

use super::{ApiClient, KubeError};
use crate::config::Controller;
use ::kube::api::{Api, ListParams};
use k8s_openapi::api::core::v1::Service;

/// `Accept` header kubeseal sends for the certificate (SEALED-SECRETS.md §4.6).
pub const CERT_ACCEPT: &str = "application/x-pem-file, */*";

/// Label selectors of the controller Service: Helm chart, then the plain manifest (§8).
pub const CONTROLLER_SELECTORS: [&str; 2] = [
    "app.kubernetes.io/name=sealed-secrets",
    "name=sealed-secrets-controller",
];

/// The certificate as the controller served it, and the proxy path it came from.
#[derive(Debug, Clone)]
pub struct FetchedCert {
    pub pem: Vec<u8>,
    pub path: String,
}

/// The service-proxy path: `http:<name>:<port name>` — with an empty port name the segment ends
/// in a bare colon, which is what the plain manifest's RBAC grants (§4.6).
pub fn proxy_path(namespace: &str, name: &str, port_name: &str) -> String {
    format!("/api/v1/namespaces/{namespace}/services/http:{name}:{port_name}/proxy/v1/cert.pem")
}

/// GETs the controller's certificate through the service proxy.
pub async fn fetch_cert(api: &ApiClient, ctrl: &Controller) -> Result<FetchedCert, KubeError> {
    let services: Api<Service> = Api::namespaced(api.client.clone(), &ctrl.namespace);
    let action = format!("get services {}/{}", ctrl.namespace, ctrl.name);
    let service = match services.get(&ctrl.name).await {
        Ok(s) => s,
        Err(e) => {
            let e = KubeError::from_kube(e, &action, api);
            if e.code() == Some(404) {
                return Err(KubeError::ServiceNotFound {
                    namespace: ctrl.namespace.clone(),
                    name: ctrl.name.clone(),
                    found: find_controller_services(api).await.unwrap_or_default(),
                });
            }
            return Err(e);
        }
    };
    let port_name = service
        .spec
        .as_ref()
        .and_then(|s| s.ports.as_ref())
        .and_then(|p| p.first())
        .and_then(|p| p.name.clone())
        .unwrap_or_default();
    let path = proxy_path(&ctrl.namespace, &ctrl.name, &port_name);
    let request = http::Request::get(&path)
        .header(http::header::ACCEPT, CERT_ACCEPT)
        .body(Vec::new())
        .map_err(|e| KubeError::Other {
            action: "build the certificate request".into(),
            reason: e.to_string(),
        })?;
    let action = format!(
        "get services/proxy {}/http:{}:{port_name} (fetch the certificate)",
        ctrl.namespace, ctrl.name
    );
    match api.client.request_text(request).await {
        Ok(text) => Ok(FetchedCert {
            pem: text.into_bytes(),
            path,
        }),
        Err(e) => {
            let e = KubeError::from_kube(e, &action, api);
            match &e {
                // The API server answers 503 "no endpoints available for service …" when no
                // controller pod is ready behind the Service (sealed-secrets#317, #397).
                KubeError::Api { code: 503, .. } => Err(KubeError::NoEndpoints {
                    namespace: ctrl.namespace.clone(),
                    name: ctrl.name.clone(),
                }),
                _ => Err(e),
            }
        }
    }
}

/// Controller Services in any namespace, by the chart's and the plain manifest's labels, without
/// the chart's `-metrics` Service (§8: never use that one). Sorted, de-duplicated.
pub async fn find_controller_services(api: &ApiClient) -> Result<Vec<(String, String)>, KubeError> {
    let all: Api<Service> = Api::all(api.client.clone());
    let mut found = Vec::new();
    for selector in CONTROLLER_SELECTORS {
        let list = all
            .list(&ListParams::default().labels(selector))
            .await
            .map_err(|e| KubeError::from_kube(e, "list services in all namespaces", api))?;
        for s in list.items {
            let name = s.metadata.name.unwrap_or_default();
            let ns = s.metadata.namespace.unwrap_or_default();
            if !name.is_empty() && !name.ends_with("-metrics") {
                found.push((ns, name));
            }
        }
    }
    found.sort();
    found.dedup();
    Ok(found)
}
