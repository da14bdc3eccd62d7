//! The `infisical:` section of `overworld-secrets.yaml` (schema in the [`super`] module doc),
//! validated into plain values. Unknown keys are errors with a "did you mean" suggestion, because
//! a misspelt `credentials` must not silently fall back to something else. Holds no secret: the
//! credentials section only says *where* they are.

use super::{InfisicalError, Result};
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCredentials {
    file: PathBuf,
    client_id: String,
    client_secret: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInfisical {
    host: Option<String>,
    project: String,
    environments: Vec<String>,
    seeds: Option<PathBuf>,
    credentials: Option<RawCredentials>,
}

/// Where the Universal Auth credentials are kept: a SOPS file and two sops paths into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialsSource {
    /// Absolute.
    pub file: PathBuf,
    pub client_id: Vec<crate::sops::path::Step>,
    pub client_secret: Vec<crate::sops::path::Step>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InfisicalConfig {
    /// The configured host (`INFISICAL_API_URL` may override it at run time).
    pub host: Option<String>,
    pub project: String,
    pub environments: Vec<String>,
    /// Folder holding `<env>.yaml` (absolute).
    pub seeds: PathBuf,
    pub credentials: Option<CredentialsSource>,
}

impl InfisicalConfig {
    /// Validates the raw section; relative paths are taken from `root` (the config's folder).
    pub fn from_value(root: &Path, value: &serde_yaml_ng::Value) -> Result<InfisicalConfig> {
        let bad = |m: String| InfisicalError::Config(m);
        let raw: RawInfisical = serde_yaml_ng::from_value(value.clone())
            .map_err(|e| bad(with_suggestion(&e.to_string())))?;
        let slug_ok = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if !slug_ok(&raw.project) {
            return Err(bad(format!(
                "project {:?} is not a slug (letters, digits, '-', '_')",
                raw.project
            )));
        }
        if raw.environments.is_empty() {
            return Err(bad(
                "environments: list at least one environment slug".into()
            ));
        }
        for e in &raw.environments {
            if !slug_ok(e) {
                return Err(bad(format!("environment {e:?} is not a slug")));
            }
        }
        let credentials = match raw.credentials {
            None => None,
            Some(c) => {
                let parse = |field: &str, p: &str| {
                    crate::sops::path::parse(p)
                        .map_err(|e| bad(format!("credentials.{field}: {e}")))
                };
                Some(CredentialsSource {
                    file: root.join(c.file),
                    client_id: parse("client_id", &c.client_id)?,
                    client_secret: parse("client_secret", &c.client_secret)?,
                })
            }
        };
        Ok(InfisicalConfig {
            host: raw.host,
            project: raw.project,
            environments: raw.environments,
            seeds: root.join(raw.seeds.unwrap_or_else(|| "secrets/infisical".into())),
            credentials,
        })
    }

    /// The seed file of one environment.
    pub fn seed_file(&self, env: &str) -> PathBuf {
        self.seeds.join(format!("{env}.yaml"))
    }
}

use crate::config::with_suggestion;

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<InfisicalConfig> {
        let v: serde_yaml_ng::Value = serde_yaml_ng::from_str(text).unwrap();
        InfisicalConfig::from_value(Path::new("/repo"), &v)
    }

    #[test]
    fn full_section() {
        let c = parse(
            "host: https://infisical.example.com\nproject: overworld\nenvironments: [dev, prod]\n\
             credentials:\n  file: secrets/ua.yaml\n  client_id: '[\"stringData\"][\"clientId\"]'\n  \
             client_secret: '[\"stringData\"][\"clientSecret\"]'\n",
        )
        .unwrap();
        assert_eq!(c.seeds, Path::new("/repo/secrets/infisical"));
        assert_eq!(
            c.seed_file("dev"),
            Path::new("/repo/secrets/infisical/dev.yaml")
        );
        let cr = c.credentials.unwrap();
        assert_eq!(cr.file, Path::new("/repo/secrets/ua.yaml"));
        assert_eq!(cr.client_id.len(), 2);
    }

    /// The shipped demo section parses and points at files that exist.
    #[test]
    fn the_repository_config_is_valid() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let cfg = crate::config::Config::load(&root.join("overworld-secrets.yaml")).unwrap();
        let c = InfisicalConfig::from_value(&cfg.root, cfg.infisical.as_ref().unwrap()).unwrap();
        assert_eq!(c.project, "overworld");
        assert_eq!(c.host.as_deref(), Some("https://infisical.demo.invalid"));
        for env in &c.environments {
            assert!(c.seed_file(env).is_file(), "{env}");
        }
        assert!(c.credentials.unwrap().file.is_file());
    }

    #[test]
    fn typos_and_bad_values_are_errors() {
        let e = parse("project: o\nenvironments: [dev]\ncredentails: {}\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("did you mean `credentials`"), "{e}");
        assert!(parse("project: o\nenvironments: []\n").is_err());
        assert!(parse("project: 'a b'\nenvironments: [dev]\n").is_err());
        assert!(parse("environments: [dev]\n").is_err());
        let e = parse(
            "project: o\nenvironments: [dev]\ncredentials: {file: f, client_id: 'x', client_secret: '[\"a\"]'}\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("credentials.client_id"), "{e}");
    }
}
