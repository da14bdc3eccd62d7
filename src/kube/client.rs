//! Building the API client from the user's kubeconfig (KUBECONFIG or ~/.kube/config; exec auth
//! plugins as kube-rs runs them), or from any tower service in tests. It must never fall back to
//! an in-cluster config or a default server: the cluster is the one the kubeconfig names.

use super::KubeError;
use ::kube::config::{KubeConfigOptions, Kubeconfig};

/// A client for one cluster, with what messages need to say which cluster it is.
#[derive(Clone)]
pub struct ApiClient {
    pub client: ::kube::Client,
    /// The API server URL, for messages.
    pub server: String,
    /// The kubeconfig context in use, for messages.
    pub context: String,
}

impl ApiClient {
    /// The client for `context` (or the kubeconfig's current context); every request gives up
    /// after `timeout` (kube-rs waits for an answer forever by default).
    pub async fn from_kubeconfig(
        context: Option<&str>,
        timeout: std::time::Duration,
    ) -> Result<ApiClient, KubeError> {
        let kubeconfig = Kubeconfig::read().map_err(|e| KubeError::Kubeconfig(super::chain(&e)))?;
        let context_name = context
            .map(str::to_string)
            .or_else(|| kubeconfig.current_context.clone())
            .ok_or_else(|| {
                KubeError::Kubeconfig(
                    "no current context: pass --context or set `context:` for the cluster".into(),
                )
            })?;
        if !kubeconfig.contexts.iter().any(|c| c.name == context_name) {
            let known: Vec<&str> = kubeconfig
                .contexts
                .iter()
                .map(|c| c.name.as_str())
                .collect();
            return Err(KubeError::Kubeconfig(format!(
                "context {context_name:?} not found (known: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            )));
        }
        let options = KubeConfigOptions {
            context: Some(context_name.clone()),
            ..Default::default()
        };
        let mut config = ::kube::Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(|e| KubeError::Kubeconfig(super::chain(&e)))?;
        config.connect_timeout = Some(timeout);
        config.read_timeout = Some(timeout);
        config.write_timeout = Some(timeout);
        // kube-rs's default retry answers a 429/503/504 storm with 15 retries over ~4 minutes,
        // past any timeout. A command fails fast instead, naming what it was doing; the user
        // (or the CI job) re-runs, and every command here is safe to re-run.
        config.default_retry = false;
        let server = config.cluster_url.to_string();
        let client = ::kube::Client::try_from(config)
            .map_err(|e| KubeError::Kubeconfig(super::chain(&e)))?;
        Ok(ApiClient {
            client,
            server,
            context: context_name,
        })
    }

    /// Wraps an existing client (tests: a `tower_test` mock).
    pub fn new(client: ::kube::Client, server: &str, context: &str) -> ApiClient {
        ApiClient {
            client,
            server: server.into(),
            context: context.into(),
        }
    }
}

/// A single-threaded runtime for one command: kube is async, our commands are not.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}
