//! The cluster side: the only module that talks to a Kubernetes API server (and the only one that
//! imports `kube` / `k8s-openapi`). It fetches the sealing certificate through the service proxy,
//! applies Secrets with server-side apply, reads sealing keys and object conditions.
//!
//! Everything here takes an [`ApiClient`] handed in by the caller, so tests drive it with a mock
//! service (STYLE.md, kube-rs `mock_tests.rs`). It must never put a Secret's value into an error
//! or a log line, and never contact anything but the API server named by the kubeconfig.

pub mod apply;
pub mod cert;
pub mod client;
pub mod status;

#[cfg(test)]
mod tests;

pub use apply::{SecretObject, FIELD_MANAGER};
pub use cert::{fetch_cert, FetchedCert};
pub use client::ApiClient;
pub use status::{ObjectRef, ObjectStatus};

/// What went wrong talking to the cluster, phrased so the user can act on it. Server messages
/// (Kubernetes `Status.message`) are kept: the API server never echoes a Secret's data in them.
#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    #[error("kubeconfig: {0} (set KUBECONFIG or --context, or fix ~/.kube/config)")]
    Kubeconfig(String),
    #[error("cannot reach the API server {server}: connection refused — is the cluster running and is the kubeconfig context ({context}) the right one?")]
    Unreachable { server: String, context: String },
    #[error("lost the API server {server} while trying to {action}: {reason} (re-run once the server, or the proxy in front of it, answers)")]
    Transport {
        server: String,
        action: String,
        reason: String,
    },
    #[error("the API server refused to {action} (403 Forbidden: {message}); your user needs RBAC permission for it — check `kubectl auth can-i` with the same context, or use a context with more rights")]
    Forbidden { action: String, message: String },
    #[error("the API server rejected our credentials while trying to {action} (401 Unauthorized): refresh the login of the kubeconfig context (an expired token or exec plugin)")]
    Unauthorized { action: String },
    #[error("{}", service_not_found(namespace, name, found))]
    ServiceNotFound {
        namespace: String,
        name: String,
        /// Controller Services found elsewhere (namespace, name).
        found: Vec<(String, String)>,
    },
    #[error("the Service {namespace}/{name} has no ready endpoints (503), so the certificate cannot be fetched through it: is the sealed-secrets controller running? Check `kubectl -n {namespace} get pods -l app.kubernetes.io/name=sealed-secrets` (chart) or `-l name=sealed-secrets-controller` (plain manifest)")]
    NoEndpoints { namespace: String, name: String },
    #[error("cannot {action}: {code} {message}")]
    Api {
        action: String,
        code: u16,
        message: String,
    },
    #[error("cannot {action}: {reason}")]
    Other { action: String, reason: String },
}

fn service_not_found(namespace: &str, name: &str, found: &[(String, String)]) -> String {
    let mut s = format!(
        "cannot get sealed secret service {namespace}/{name}: not found (SEALED-SECRETS.md §8: the Helm chart names it after the release)"
    );
    match found {
        [] => s.push_str(
            "; no sealed-secrets controller Service was found in any namespace either — is the controller installed in this cluster?",
        ),
        [(ns, n)] => s.push_str(&format!(
            "; found the controller Service {ns}/{n}: set `controller: {{name: {n}, namespace: {ns}}}` for this cluster in overworld-secrets.yaml"
        )),
        many => {
            let list: Vec<String> = many.iter().map(|(ns, n)| format!("{ns}/{n}")).collect();
            s.push_str(&format!(
                "; found controller Services {}: set `controller: {{name: …, namespace: …}}` for this cluster in overworld-secrets.yaml to the one in use",
                list.join(", ")
            ));
        }
    }
    s
}

impl KubeError {
    /// Classifies a kube error for `action` (e.g. "get services kube-system/x").
    pub fn from_kube(e: ::kube::Error, action: &str, client: &ApiClient) -> KubeError {
        match e {
            ::kube::Error::Api(st) => match st.code {
                401 => KubeError::Unauthorized {
                    action: action.into(),
                },
                403 => KubeError::Forbidden {
                    action: action.into(),
                    message: st.message.clone(),
                },
                code => KubeError::Api {
                    action: action.into(),
                    code,
                    message: if st.message.is_empty() {
                        st.reason.clone()
                    } else {
                        st.message.clone()
                    },
                },
            },
            other => {
                if is_connection_refused(&other) {
                    KubeError::Unreachable {
                        server: client.server.clone(),
                        context: client.context.clone(),
                    }
                } else if is_transport(&other) {
                    KubeError::Transport {
                        server: client.server.clone(),
                        action: action.into(),
                        reason: chain(&other),
                    }
                } else {
                    KubeError::Other {
                        action: action.into(),
                        reason: chain(&other),
                    }
                }
            }
        }
    }

    /// The HTTP status of an API error, if it was one.
    pub fn code(&self) -> Option<u16> {
        match self {
            KubeError::Api { code, .. } => Some(*code),
            KubeError::Forbidden { .. } => Some(403),
            KubeError::Unauthorized { .. } => Some(401),
            _ => None,
        }
    }
}

/// The error and its sources on one line.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

fn is_connection_refused(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cur {
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::ConnectionRefused {
                return true;
            }
        }
        cur = c.source();
    }
    // hyper-util wraps the connect error in types that are not all downcastable.
    chain(e).to_ascii_lowercase().contains("connection refused")
}

fn is_transport(e: &::kube::Error) -> bool {
    matches!(e, ::kube::Error::HyperError(_) | ::kube::Error::Service(_))
}

impl From<KubeError> for crate::error::Error {
    fn from(e: KubeError) -> Self {
        crate::error::Error::Usage(e.to_string())
    }
}
