//! ExternalSecrets Operator manifests from the config: which Infisical keys become which keys
//! of which workload's Secret, on which cluster (issue 4; EXTERNAL-SECRETS.md, INFISICAL.md §9).
//! It exists so those mappings are written once, checked against the seed data's key names, and
//! rendered byte-stable for GitOps. It must never decrypt the seed data or hold a secret value
//! (key *names* are all it needs), never reach the network, and never write a field the ESO
//! controller defaults.
//!
//! # Configuration (`overworld-secrets.yaml`)
//!
//! ```yaml
//! infisical:                       # read here: host and project only (validated by infisical::config)
//!   host: https://infisical.example.com      # hostAPI, written without /api
//!   project: overworld                       # project slug (not the display name or UUID)
//! clusters:
//!   demo:
//!     external_secrets:
//!       environment: prod          # required: Infisical environment slug this cluster reads
//!       store: infisical           # ClusterSecretStore name (default "infisical")
//!       output: manifests/demo/external-secrets   # default manifests/<cluster>/external-secrets
//!       seed: secrets/infisical/prod.yaml         # default secrets/infisical/<environment>.yaml
//!       host: …                    # optional per-cluster override of infisical.host
//!       project: …                 # optional per-cluster override of infisical.project
//!       eso_version: 2.0.1         # optional: the cluster's ESO release; features it lacks are
//!                                  # errors (folder `from:` < 2.2.0, CreateOrMerge < 2.8.0, < 0.17.0)
//!       credentials:               # the universal-auth bootstrap Secret (these are the defaults)
//!         name: infisical-universal-auth
//!         namespace: external-secrets
//!         client_id_key: clientId
//!         client_secret_key: clientSecret
//! workloads:
//!   vikunja:                       # the ExternalSecret's name
//!     namespace: vikunja           # required
//!     clusters: [demo]             # default: every cluster with an external_secrets block
//!     target: {name: vikunja-db, type: Opaque}   # name defaults to the workload's name
//!     refresh: 1h                  # any Go duration; written canonically (1h0m0s); omitted = 1h0m0s
//!     creation_policy: Merge       # Owner|Orphan|Merge|None|CreateOrMerge; Owner is not written
//!     deletion_policy: Delete      # Delete|Merge|Retain; Retain is not written
//!     data:                        # Secret key -> absolute Infisical key
//!       DB_PASSWORD: /databases/vikunja/PASSWORD
//!       DB_HOST: {key: /databases/vikunja/CONN_JSON, property: host}   # only on *_JSON keys
//!     from:                        # whole folders (dataFrom.find) or *_JSON secrets (dataFrom.extract)
//!     - /databases/docmost
//!     - path: /applications/garage
//!       rewrite: [{regexp: {source: "^", target: "GARAGE_"}}]  # or {transform: "{{ … }}"}; one op per item
//!     template:                    # Go templates (engineVersion v2) over the fetched keys
//!       DATABASE_URL: "postgres://vikunja:{{ .DB_PASSWORD }}@db:5432/vikunja"
//!     store: {name: secrets-secret-store, kind: ClusterSecretStore}  # another store: keys
//!                                  # are passed through unchecked (e.g. the kubernetes provider)
//! ```
//!
//! # Cross-checks (each names the workload and cluster)
//! Every Infisical key must exist in the cluster environment's seed file (names are readable
//! without decrypting); a folder under `from:` must not share its prefix with another folder
//! (ESO's `find.path` is a prefix match, INFISICAL.md §9.4) and two folders must not yield the same
//! key; `property` and single-secret `from:` need a seed name ending in `_JSON` — the marker that
//! the value is a JSON object of strings, since we cannot look inside values and ESO silently
//! writes an empty string otherwise (§9.2); two workloads must not write the same Secret, nor one
//! that a SOPS source of the cluster (sealed by `reseal`) or the store's credentials define,
//! unless `creation_policy: Merge`; Secret and template keys must be valid Kubernetes keys; a
//! template may only reference fetched keys and must not contain Flux `${…}` substitutions.
//!
//! # Output
//! `<output>/<workload>.yaml`, `clustersecretstore.yaml` and `kustomization.yaml`, each starting
//! with [`generate::HEADER`]; keys in go-yaml v2 order (kubectl style, see `yaml`), `data` items
//! sorted by `secretKey`. Files with the header that are no longer generated are removed; files
//! without it are never overwritten. Exit codes: 2 for config/cross-check errors, 1 for
//! `--check` finding stale output.
//!
//! Folder `from:` makes the store `recursive: true` and needs ESO ≥ v2.2.0 (before that,
//! `find.path` was compared with secret names; INFISICAL.md §9.4) — an error when the cluster's
//! `eso_version` is older.

pub mod config;
pub mod generate;
pub mod import;
pub mod schema;
pub mod seed;
pub mod yaml;

pub use generate::{generate, ClusterOutput, GeneratedFile};
pub use import::{read_folder, render_workloads, workloads_from};
pub use seed::{seed_key_paths, SeedKeys};
pub use yaml::render_yaml;

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum EsoError {
    /// The config's `external_secrets:` / `workloads:` sections do not parse or validate.
    #[error("{}: {msg}", path.display())]
    Config { path: PathBuf, msg: String },
    /// A workload fails a check; messages carry key paths and names, never values.
    #[error("workload {workload:?}{}: {msg}", cluster.as_ref().map(|c| format!(" (cluster {c})")).unwrap_or_default())]
    Workload {
        workload: String,
        cluster: Option<String>,
        msg: String,
    },
    /// The seed file's structure (not its values) is unusable.
    #[error("{}: {msg}", path.display())]
    Seed { path: PathBuf, msg: String },
    #[error("{}: {msg}", path.display())]
    Import { path: PathBuf, msg: String },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
