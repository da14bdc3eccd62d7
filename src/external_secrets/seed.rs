//! Which Infisical keys an environment has, read from its SOPS-encrypted seed file
//! (`secrets/infisical/<env>.yaml`) WITHOUT decrypting: in that layout a mapping is a folder and
//! a string is a secret, and SOPS leaves key names readable (SOPS.md: only values are
//! encrypted). This module must never decrypt or hold a value; it only sees names.
//!
//! (`src/infisical/` reads the same files for seeding; the two will be deduplicated.)

use super::EsoError;
use std::collections::BTreeSet;
use std::path::Path;

/// The folder and secret paths of one environment, all absolute (`/databases/vikunja`,
/// `/databases/vikunja/PASSWORD`, `/GHCR_TOKEN`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeedKeys {
    pub secrets: BTreeSet<String>,
    /// Every folder, including `/`.
    pub folders: BTreeSet<String>,
}

impl SeedKeys {
    /// Folders other than `folder` whose path starts with `folder` as a string — what ESO's
    /// `find.path` prefix match would also pick up (INFISICAL.md §9.4).
    pub fn prefix_siblings<'a>(&'a self, folder: &'a str) -> impl Iterator<Item = &'a String> {
        self.folders
            .iter()
            .filter(move |f| f.as_str() != folder && f.starts_with(folder))
    }

    /// Secret names directly inside `folder`.
    pub fn names_in<'a>(&'a self, folder: &'a str) -> impl Iterator<Item = &'a str> {
        self.secrets.iter().filter_map(move |s| {
            let (parent, name) = s.rsplit_once('/')?;
            let parent = if parent.is_empty() { "/" } else { parent };
            (parent == folder).then_some(name)
        })
    }
}

/// Reads the key paths of a seed file (see the module doc); the top-level `sops` key is SOPS
/// metadata, not a folder.
pub fn seed_key_paths(path: &Path) -> Result<SeedKeys, EsoError> {
    let text = std::fs::read_to_string(path).map_err(|source| EsoError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    seed_key_paths_from_str(path, &text)
}

/// [`seed_key_paths`] on text already read.
pub fn seed_key_paths_from_str(path: &Path, text: &str) -> Result<SeedKeys, EsoError> {
    let bad = |msg: String| EsoError::Seed {
        path: path.to_path_buf(),
        msg,
    };
    // serde_yaml_ng errors carry a position and the parser's message, never a scalar's content.
    let doc: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(text).map_err(|e| bad(format!("not YAML: {e}")))?;
    let mut keys = SeedKeys::default();
    keys.folders.insert("/".into());
    match doc {
        serde_yaml_ng::Value::Mapping(m) => walk(&m, "", true, &mut keys).map_err(bad)?,
        serde_yaml_ng::Value::Null => {}
        _ => {
            return Err(bad(
                "the top level must be a mapping of folders and secrets".into(),
            ))
        }
    }
    Ok(keys)
}

fn walk(
    m: &serde_yaml_ng::Mapping,
    prefix: &str,
    top: bool,
    keys: &mut SeedKeys,
) -> Result<(), String> {
    for (k, v) in m {
        let Some(name) = k.as_str() else {
            return Err(format!(
                "a key under {:?} is not a string",
                if prefix.is_empty() { "/" } else { prefix }
            ));
        };
        if top && name == "sops" {
            continue;
        }
        let p = format!("{prefix}/{name}");
        match v {
            serde_yaml_ng::Value::Mapping(sub) => {
                keys.folders.insert(p.clone());
                walk(sub, &p, false, keys)?;
            }
            serde_yaml_ng::Value::Sequence(_) => {
                return Err(format!(
                    "{p}: a list is neither a folder (mapping) nor a secret (string)"
                ));
            }
            _ => {
                keys.secrets.insert(p);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_and_secrets_without_decrypting() {
        let k = seed_key_paths_from_str(
            Path::new("x.yaml"),
            "GHCR_TOKEN: ENC[AES256_GCM,data:x,type:str]\ndatabases:\n  vikunja:\n    PASSWORD: ENC[x]\n  docmost: {}\nsops:\n  mac: ENC[x]\n",
        )
        .unwrap();
        assert_eq!(
            k.secrets.iter().collect::<Vec<_>>(),
            ["/GHCR_TOKEN", "/databases/vikunja/PASSWORD"]
        );
        assert_eq!(
            k.folders.iter().collect::<Vec<_>>(),
            [
                "/",
                "/databases",
                "/databases/docmost",
                "/databases/vikunja"
            ]
        );
        assert_eq!(k.names_in("/").collect::<Vec<_>>(), ["GHCR_TOKEN"]);
        assert_eq!(
            k.names_in("/databases/vikunja").collect::<Vec<_>>(),
            ["PASSWORD"]
        );
    }

    #[test]
    fn real_demo_seed_lists_the_prod_keys() {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("secrets/infisical/prod.yaml");
        let k = seed_key_paths(&p).unwrap();
        assert!(k.secrets.contains("/databases/vikunja/PASSWORD"));
        assert!(k.secrets.contains("/GHCR_TOKEN"));
        assert!(!k.secrets.iter().any(|s| s.starts_with("/sops")));
    }
}
