//! `overworld-secrets.yaml`: the project's one config file, found by walking up from the working
//! directory. It describes clusters (this module), and grows Infisical and workloads sections.
//! Every path in it is relative to the file's folder. Unknown keys are errors with a suggestion,
//! because a typo in a security tool's config must not silently do nothing.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "overworld-secrets.yaml";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("no {FILE_NAME} found in {} or any parent folder; run `overworld-secrets init` or pass --config", .0.display())]
    NotFound(PathBuf),
    #[error("{}: {msg}", path.display())]
    Invalid { path: PathBuf, msg: String },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("unknown cluster {name:?} (configured: {known}){hint}")]
    UnknownCluster {
        name: String,
        known: String,
        hint: String,
    },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawController {
    name: Option<String>,
    namespace: Option<String>,
}

/// `clusters.<name>.bootstrap`: what `bootstrap` applies and `keys backup` writes.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBootstrap {
    age_key: Option<PathBuf>,
    sealing_keys: Option<PathBuf>,
    secrets: Option<Vec<PathBuf>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCluster {
    sources: Option<PathBuf>,
    sealed: Option<PathBuf>,
    cert: Option<PathBuf>,
    controller: Option<RawController>,
    context: Option<String>,
    bootstrap: Option<RawBootstrap>,
    /// Interpreted by `external_secrets` (its own schema and errors).
    external_secrets: Option<serde_yaml_ng::Value>,
    sealed_paths: Option<BTreeMap<String, PathBuf>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    clusters: Option<BTreeMap<String, Option<RawCluster>>>,
    /// Interpreted by `infisical::config` (its own schema and errors).
    infisical: Option<serde_yaml_ng::Value>,
    /// Interpreted by `external_secrets` (its own schema and errors).
    workloads: Option<serde_yaml_ng::Value>,
}

/// Where the sealed-secrets controller runs (SEALED-SECRETS.md §8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Controller {
    pub name: String,
    pub namespace: String,
}

impl Default for Controller {
    fn default() -> Self {
        Controller {
            name: "sealed-secrets-controller".into(),
            namespace: "kube-system".into(),
        }
    }
}

/// What a fresh cluster needs before Flux reconciles (SEALED-SECRETS.md §7, FLUX-SOPS.md §1.2).
/// The defaults live outside the cluster's `sources` folder on purpose: `reseal` seals every
/// manifest below `sources`, and neither the sealing keys nor the Flux age identity may ever be
/// sealed into git. They match `^secrets/[^/]+/.*` so a typical `.sops.yaml` rule covers them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bootstrap {
    /// SOPS-encrypted age identity for `flux-system/sops-age` (absolute).
    pub age_key: PathBuf,
    /// SOPS-encrypted backup of the controller's sealing key Secrets (absolute).
    pub sealing_keys: PathBuf,
    /// SOPS-encrypted Secret manifests applied as they are (absolute), in order.
    pub secrets: Vec<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    pub name: String,
    /// Folder of SOPS-encrypted Secret manifests (absolute).
    pub sources: PathBuf,
    /// Folder the SealedSecrets are written to (absolute).
    pub sealed: PathBuf,
    /// The controller's sealing certificate (absolute).
    pub cert: PathBuf,
    pub controller: Controller,
    pub context: Option<String>,
    pub bootstrap: Bootstrap,
    /// The cluster's `external_secrets:` section, validated by `external_secrets`.
    pub external_secrets: Option<serde_yaml_ng::Value>,
    /// `sealed_paths:`: `<namespace>/<name>` (`cluster-wide/<name>` without a namespace) → the
    /// file (absolute) reseal writes that SealedSecret to instead of `<sealed>/<ns>/<name>.sealed.yaml`.
    /// `adopt` fills it so an adopted repository's kustomizations keep pointing at the same files.
    pub sealed_paths: BTreeMap<String, PathBuf>,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// The config file.
    pub path: PathBuf,
    /// Its folder: the repository root every path is relative to.
    pub root: PathBuf,
    pub clusters: BTreeMap<String, Cluster>,
    /// The `infisical:` section, validated by `infisical::config`.
    pub infisical: Option<serde_yaml_ng::Value>,
    /// The `workloads:` section, validated by `external_secrets`.
    pub workloads: Option<serde_yaml_ng::Value>,
}

/// Adds "did you mean …?" to serde's unknown-field and unknown-variant errors; every section of
/// the config (clusters, infisical, workloads) reports typos through this one function.
pub fn with_suggestion(msg: &str) -> String {
    let marker = ["unknown field `", "unknown variant `"]
        .iter()
        .find_map(|m| msg.split_once(m));
    let Some((_, rest)) = marker else {
        return msg.to_string();
    };
    let Some((field, expected)) = rest.split_once('`') else {
        return msg.to_string();
    };
    let expected = expected.split(" at line ").next().unwrap_or(expected);
    let best = expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(|cand| (strsim::levenshtein(field, cand), cand))
        .min();
    match best {
        Some((d, cand)) if d <= 3 => format!("{msg} — did you mean `{cand}`?"),
        _ => msg.to_string(),
    }
}

impl Config {
    /// Finds the config: `explicit`, else `overworld-secrets.yaml` from `start` upward.
    pub fn find(start: &Path, explicit: Option<&Path>) -> Result<Config, ConfigError> {
        if let Some(p) = explicit {
            return Config::load(p);
        }
        let mut dir = Some(start);
        while let Some(d) = dir {
            let c = d.join(FILE_NAME);
            if c.is_file() {
                return Config::load(&c);
            }
            dir = d.parent();
        }
        Err(ConfigError::NotFound(start.to_path_buf()))
    }

    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let path = crate::sops::rules::absolute(path);
        Config::parse(&path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let invalid = |msg: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            msg,
        };
        let raw: RawConfig =
            serde_yaml_ng::from_str(text).map_err(|e| invalid(with_suggestion(&e.to_string())))?;
        let root = path.parent().unwrap_or(Path::new("/")).to_path_buf();
        let mut clusters = BTreeMap::new();
        for (name, rc) in raw.clusters.unwrap_or_default() {
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
            {
                return Err(invalid(format!(
                    "cluster name {name:?} must be letters, digits, '-', '_' or '.'"
                )));
            }
            let rc = rc.unwrap_or(RawCluster {
                sources: None,
                sealed: None,
                cert: None,
                controller: None,
                context: None,
                bootstrap: None,
                external_secrets: None,
                sealed_paths: None,
            });
            let rel = |p: Option<PathBuf>, default: String| {
                root.join(p.unwrap_or_else(|| default.into()))
            };
            let mut controller = Controller::default();
            if let Some(c) = rc.controller {
                if let Some(n) = c.name {
                    controller.name = n;
                }
                if let Some(n) = c.namespace {
                    controller.namespace = n;
                }
            }
            let rb = rc.bootstrap.unwrap_or_default();
            let bootstrap = Bootstrap {
                age_key: rel(rb.age_key, format!("secrets/bootstrap/{name}/age.agekey")),
                sealing_keys: rel(
                    rb.sealing_keys,
                    format!("secrets/bootstrap/{name}/sealed-secrets-keys.yaml"),
                ),
                secrets: rb
                    .secrets
                    .unwrap_or_default()
                    .into_iter()
                    .map(|p| root.join(p))
                    .collect(),
            };
            let sources = rel(rc.sources, format!("secrets/{name}"));
            // reseal seals every manifest below `sources`: the bootstrap files must not be there.
            for (field, p) in [
                ("age_key", &bootstrap.age_key),
                ("sealing_keys", &bootstrap.sealing_keys),
            ] {
                if p.starts_with(&sources) {
                    return Err(invalid(format!(
                        "clusters.{name}.bootstrap.{field} is inside the cluster's sources folder, which reseal seals: move it out (default secrets/bootstrap/{name}/)"
                    )));
                }
            }
            let mut sealed_paths = BTreeMap::new();
            for (key, p) in rc.sealed_paths.unwrap_or_default() {
                let ok = key
                    .split_once('/')
                    .is_some_and(|(ns, n)| !ns.is_empty() && !n.is_empty() && !n.contains('/'));
                if !ok {
                    return Err(invalid(format!(
                        "clusters.{name}.sealed_paths: key {key:?} must be <namespace>/<name> (cluster-wide/<name> without a namespace)"
                    )));
                }
                if p.is_absolute() || p.as_os_str().is_empty() {
                    return Err(invalid(format!(
                        "clusters.{name}.sealed_paths.{key}: the path must be relative to the config's folder"
                    )));
                }
                sealed_paths.insert(key, root.join(p));
            }
            clusters.insert(
                name.clone(),
                Cluster {
                    sources,
                    sealed: rel(rc.sealed, format!("manifests/{name}/sealed")),
                    cert: rel(rc.cert, format!("keys/clusters/{name}.pem")),
                    controller,
                    context: rc.context,
                    bootstrap,
                    external_secrets: rc.external_secrets,
                    sealed_paths,
                    name,
                },
            );
        }
        Ok(Config {
            path: path.to_path_buf(),
            root,
            clusters,
            infisical: raw.infisical,
            workloads: raw.workloads,
        })
    }

    /// The clusters a command acts on: the named one, or all of them.
    pub fn select(&self, name: Option<&str>) -> Result<Vec<&Cluster>, ConfigError> {
        match name {
            None => Ok(self.clusters.values().collect()),
            Some(n) => match self.clusters.get(n) {
                Some(c) => Ok(vec![c]),
                None => {
                    let known: Vec<&str> = self.clusters.keys().map(String::as_str).collect();
                    let hint = known
                        .iter()
                        .map(|k| (strsim::levenshtein(n, k), *k))
                        .min()
                        .filter(|(d, _)| *d <= 3)
                        .map(|(_, k)| format!(" — did you mean {k:?}?"))
                        .unwrap_or_default();
                    Err(ConfigError::UnknownCluster {
                        name: n.to_string(),
                        known: if known.is_empty() {
                            "none".into()
                        } else {
                            known.join(", ")
                        },
                        hint,
                    })
                }
            },
        }
    }

    /// A path relative to the repository root, for messages and generated files.
    pub fn display_path<'a>(&self, p: &'a Path) -> std::borrow::Cow<'a, str> {
        match p.strip_prefix(&self.root) {
            Ok(r) => r.to_string_lossy(),
            Err(_) => p.to_string_lossy(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_relative_paths() {
        let c = Config::parse(
            Path::new("/repo/overworld-secrets.yaml"),
            "clusters:\n  demo:\n    controller:\n      namespace: sealed-secrets\n  prod: {}\n",
        )
        .unwrap();
        let d = &c.clusters["demo"];
        assert_eq!(d.sources, Path::new("/repo/secrets/demo"));
        assert_eq!(d.sealed, Path::new("/repo/manifests/demo/sealed"));
        assert_eq!(d.cert, Path::new("/repo/keys/clusters/demo.pem"));
        assert_eq!(d.controller.name, "sealed-secrets-controller");
        assert_eq!(d.controller.namespace, "sealed-secrets");
        assert_eq!(
            d.bootstrap.sealing_keys,
            Path::new("/repo/secrets/bootstrap/demo/sealed-secrets-keys.yaml")
        );
        assert_eq!(
            d.bootstrap.age_key,
            Path::new("/repo/secrets/bootstrap/demo/age.agekey")
        );
        assert!(d.bootstrap.secrets.is_empty());
        assert_eq!(c.select(None).unwrap().len(), 2);
        assert!(d.sealed_paths.is_empty());
    }

    #[test]
    fn sealed_paths_are_relative_to_the_config_and_validated() {
        let c = Config::parse(
            Path::new("/repo/overworld-secrets.yaml"),
            "clusters:\n  prod:\n    sealed_paths:\n      db/creds: apps/db/prod/creds.sealed.yaml\n",
        )
        .unwrap();
        assert_eq!(
            c.clusters["prod"].sealed_paths["db/creds"],
            Path::new("/repo/apps/db/prod/creds.sealed.yaml")
        );
        for bad in ["creds: x.yaml", "db/creds: /abs.yaml", "a/b/c: x.yaml"] {
            let text = format!("clusters:\n  prod:\n    sealed_paths:\n      {bad}\n");
            assert!(
                Config::parse(Path::new("/r/overworld-secrets.yaml"), &text).is_err(),
                "{bad} must be rejected"
            );
        }
    }

    #[test]
    fn bootstrap_files_must_stay_out_of_the_sources() {
        let e = Config::parse(
            Path::new("/r/overworld-secrets.yaml"),
            "clusters:\n  demo:\n    bootstrap:\n      sealing_keys: secrets/demo/keys.yaml\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("bootstrap.sealing_keys"), "{e}");
        let c = Config::parse(
            Path::new("/r/overworld-secrets.yaml"),
            "clusters:\n  demo:\n    bootstrap:\n      age_key: keys/flux.agekey\n      secrets: [a.yaml]\n",
        )
        .unwrap();
        let b = &c.clusters["demo"].bootstrap;
        assert_eq!(b.age_key, Path::new("/r/keys/flux.agekey"));
        assert_eq!(b.secrets, vec![PathBuf::from("/r/a.yaml")]);
        let e = Config::parse(
            Path::new("/r/overworld-secrets.yaml"),
            "clusters:\n  demo:\n    bootstrap:\n      age_keys: x\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("did you mean `age_key`"), "{e}");
    }

    #[test]
    fn unknown_keys_get_a_suggestion() {
        let e = Config::parse(
            Path::new("/r/overworld-secrets.yaml"),
            "clusters:\n  demo:\n    sorces: secrets/x\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("did you mean `sources`"), "{e}");
        let c = Config::parse(
            Path::new("/r/overworld-secrets.yaml"),
            "clusters:\n  demo: {}\n",
        )
        .unwrap();
        let e = c.select(Some("dmeo")).unwrap_err().to_string();
        assert!(e.contains("did you mean \"demo\""), "{e}");
    }
}
