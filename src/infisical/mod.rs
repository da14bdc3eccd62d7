//! Infisical: push the application secrets kept SOPS-encrypted in git (`secrets/infisical/<env>.yaml`)
//! into a self-hosted Infisical as a reviewed, idempotent plan (issue 5, INFISICAL.md §7).
//!
//! This is the only module that talks HTTP. It is split so that the parts that decide are pure and
//! the part that talks is small: [`seed`] turns a decrypted tree into folders and keys (and
//! validates names before anything is sent), [`plan`] compares that with what the server holds,
//! [`client`] speaks the REST API (login, probing v4/v2 against v3/v1, retries, revoke), and
//! [`apply`] runs the whole sequence. It must never print, log or put into an error a secret value,
//! an access token or the client secret: values stay [`SecretBytes`](crate::secret::SecretBytes)
//! until the moment they are serialised into a request body, and every type that holds one has a
//! redacted `Debug`.
//!
//! Configuration (`overworld-secrets.yaml`, validated by [`config`]):
//!
//! ```yaml
//! infisical:
//!   host: https://infisical.example.com     # API URL; env INFISICAL_API_URL overrides
//!   project: overworld                      # project slug
//!   environments: [dev, prod]
//!   seeds: secrets/infisical                # folder holding <env>.yaml (default)
//!   credentials:                            # optional; env INFISICAL_UNIVERSAL_AUTH_CLIENT_ID/_SECRET win
//!     file: secrets/demo/external-secrets/infisical-universal-auth.yaml   # a SOPS file
//!     client_id: '["stringData"]["clientId"]'        # sops path syntax into that file
//!     client_secret: '["stringData"]["clientSecret"]'
//! ```
//!
//! Seed layout: in `<seeds>/<env>.yaml` a mapping is a folder and a string is a secret, so
//! `databases: {vikunja: {PASSWORD: x}}` is the key `PASSWORD` in folder `/databases/vikunja`;
//! root keys live in `/`.

pub mod apply;
pub mod client;
pub mod config;
pub mod plan;
pub mod seed;

pub use apply::{apply, read_state, ApplyOutcome, EnvState};
pub use client::{ApiGeneration, Client, ClientOptions, Credentials, RetryPolicy};
pub use config::InfisicalConfig;
pub use plan::{Action, EnvPlan};
pub use seed::{seed_key_names_from_encrypted, seed_keys, Seed};

/// Everything that can go wrong talking to Infisical or preparing a seed. Variants carry routes,
/// folder paths, key names and status codes — never a value, token or client secret.
#[derive(Debug, thiserror::Error)]
pub enum InfisicalError {
    #[error("infisical config: {0}")]
    Config(String),
    /// A seed file's shape or a name in it is not acceptable (checked before anything is sent).
    #[error("{file}: {path}: {msg}")]
    Seed {
        file: String,
        path: String,
        msg: String,
    },
    /// Universal Auth login failed. Never retried: Infisical locks an identity after a few
    /// failures (INFISICAL.md §2.1).
    #[error("login to {host} failed: HTTP {status} {error}: {message}")]
    Login {
        host: String,
        status: u16,
        error: String,
        message: String,
    },
    /// The server answered a call with an error status (after any retries).
    #[error("{method} {route}: HTTP {status} {error}: {message}")]
    Http {
        method: String,
        route: String,
        status: u16,
        error: String,
        message: String,
    },
    /// No answer: connection refused, TLS failure, timeout (after any retries).
    #[error("{method} {route}: {detail}")]
    Transport {
        method: String,
        route: String,
        detail: String,
    },
    /// The server's answer was not the shape the spec describes.
    #[error("{method} {route}: unexpected response: {detail}")]
    Shape {
        method: String,
        route: String,
        detail: String,
    },
    #[error("project {slug:?} not found or not visible to this identity")]
    ProjectNotFound { slug: String },
    /// The server lists an unknown environment as empty (INFISICAL.md §3.2), so seeding into one
    /// would silently write nothing useful: refuse instead.
    #[error("environment {env:?} does not exist in project {project:?} (it has: {known})")]
    UnknownEnvironment {
        env: String,
        project: String,
        known: String,
    },
    /// The identity may list but not read values (`secretValueHidden`, INFISICAL.md §0), so no
    /// honest diff is possible.
    #[error("{env}:{path}/{key}: the server hides this value from the identity; grant it read access to secret values")]
    ValueHidden {
        env: String,
        path: String,
        key: String,
    },
    #[error("{0}")]
    Tls(String),
}

impl InfisicalError {
    /// Process exit code: 2 bad input or config (nothing was sent), 3 the server or the network
    /// failed us.
    pub fn exit_code(&self) -> i32 {
        match self {
            InfisicalError::Config(_) | InfisicalError::Seed { .. } => 2,
            _ => 3,
        }
    }
}

pub type Result<T, E = InfisicalError> = std::result::Result<T, E>;

/// Joins a folder path and a name: `/` + `A` → `/A`, `/db` + `A` → `/db/A`.
pub fn join(folder: &str, name: &str) -> String {
    if folder == "/" {
        format!("/{name}")
    } else {
        format!("{folder}/{name}")
    }
}
