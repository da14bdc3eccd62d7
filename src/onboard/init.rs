//! `init`: lay out a repository for overworld-secrets — `overworld-secrets.yaml`, `keys/`,
//! `secrets/`, `manifests/`, a `.sops.yaml` with the Flux rule — and give the user an age
//! identity where sops looks for it (SOPS.md §6.3: `$XDG_CONFIG_HOME/sops/age/keys.txt`, default
//! `~/.config/sops/age/keys.txt`).
//!
//! It never overwrites a file: an existing config stops it, an existing `.sops.yaml` is left alone
//! (the rule to add is printed instead), an existing identity file is reused, not replaced. The
//! private key is never written inside the repository (it would be committed) and is written 0600.

use super::edit;
use age::secrecy::ExposeSecret;
use std::path::{Path, PathBuf};
use std::str::FromStr;

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("{0}")]
    Refused(String),
    #[error("{}: {msg}", path.display())]
    Io { path: PathBuf, msg: String },
}

/// The identity: reused from an existing file, or a new one to write.
pub enum IdentityPlan {
    Existing {
        file: PathBuf,
        recipient: String,
    },
    New {
        file: PathBuf,
        identity: age::x25519::Identity,
    },
}

impl IdentityPlan {
    pub fn recipient(&self) -> String {
        match self {
            IdentityPlan::Existing { recipient, .. } => recipient.clone(),
            IdentityPlan::New { identity, .. } => identity.to_public().to_string(),
        }
    }
    pub fn file(&self) -> &Path {
        match self {
            IdentityPlan::Existing { file, .. } | IdentityPlan::New { file, .. } => file,
        }
    }
}

/// Everything init will do.
pub struct InitPlan {
    pub root: PathBuf,
    pub cluster: Option<String>,
    pub identity: IdentityPlan,
    /// New files (relative to root) and their bytes.
    pub files: Vec<(PathBuf, Vec<u8>)>,
    /// Folders to create (relative).
    pub dirs: Vec<PathBuf>,
    /// The existing `.sops.yaml` (left alone) and the rule to add to it by hand.
    pub sops_rule_to_add: Option<(PathBuf, String)>,
}

/// The `.sops.yaml` rule for `secrets/` (Flux convention, HOMELAB-WORKFLOWS.md §1.4 #1).
pub const SOURCES_REGEX: &str = "^secrets/.*\\.ya?ml$";

/// The recipient of the first x25519 identity in an identities file, if any.
fn first_recipient(text: &str) -> Option<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| l.starts_with("AGE-SECRET-KEY-1"))
        .find_map(|l| age::x25519::Identity::from_str(l).ok())
        .map(|id| id.to_public().to_string())
}

fn inside(root: &Path, p: &Path) -> bool {
    // Compare canonical forms of the nearest existing ancestors (the file does not exist yet).
    let canon = |p: &Path| -> PathBuf {
        let mut cur = p.to_path_buf();
        let mut tail = Vec::new();
        loop {
            if let Ok(c) = cur.canonicalize() {
                let mut out = c;
                for t in tail.iter().rev() {
                    out.push(t);
                }
                return out;
            }
            match (cur.file_name().map(|f| f.to_os_string()), cur.parent()) {
                (Some(f), Some(parent)) => {
                    tail.push(f);
                    cur = parent.to_path_buf();
                }
                _ => return p.to_path_buf(),
            }
        }
    };
    canon(p).starts_with(canon(root))
}

/// Plans init in `root`; `key_file` is `--key-file` or sops's default location.
pub fn plan(root: &Path, cluster: Option<&str>, key_file: &Path) -> Result<InitPlan, InitError> {
    let config = root.join(crate::config::FILE_NAME);
    if config.exists() {
        return Err(InitError::Refused(format!(
            "{} already exists: this repository is initialised (use `overworld-secrets adopt --cluster NAME` to bring existing secrets in)",
            config.display()
        )));
    }
    if let Some(c) = cluster {
        if c.is_empty()
            || !c
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '-' | '_' | '.'))
        {
            return Err(InitError::Refused(format!(
                "cluster name {c:?} must be letters, digits, '-', '_' or '.'"
            )));
        }
    }
    let key_file = crate::sops::rules::absolute(key_file);
    if inside(root, &key_file) {
        return Err(InitError::Refused(format!(
            "{} is inside the repository: a private key there ends up committed; choose a path outside it (default: ~/.config/sops/age/keys.txt)",
            key_file.display()
        )));
    }
    let identity = if key_file.exists() {
        let text = std::fs::read_to_string(&key_file).map_err(|e| InitError::Io {
            path: key_file.clone(),
            msg: e.to_string(),
        })?;
        let recipient = first_recipient(&text).ok_or_else(|| {
            InitError::Refused(format!(
                "{} exists but holds no age identity (AGE-SECRET-KEY-1…); it is left alone — pass --key-file with a new path",
                key_file.display()
            ))
        })?;
        IdentityPlan::Existing {
            file: key_file,
            recipient,
        }
    } else {
        IdentityPlan::New {
            file: key_file,
            identity: age::x25519::Identity::generate(),
        }
    };
    let recipient = identity.recipient();

    let mut files: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    let mut dirs = Vec::new();
    for d in ["keys/clusters", "secrets", "manifests"] {
        if !root.join(d).exists() {
            dirs.push(PathBuf::from(d));
            files.push((PathBuf::from(d).join(".gitkeep"), Vec::new()));
        }
    }
    if let Some(c) = cluster {
        let d = PathBuf::from("secrets").join(c);
        if !root.join(&d).exists() {
            dirs.push(d.clone());
            files.push((d.join(".gitkeep"), Vec::new()));
        }
    }
    files.push((
        PathBuf::from(crate::config::FILE_NAME),
        config_text(root, cluster),
    ));
    let sops = root.join(".sops.yaml");
    let rule = edit::flux_rule(SOURCES_REGEX, std::slice::from_ref(&recipient), 2);
    let sops_rule_to_add = if sops.exists() {
        Some((sops, rule))
    } else {
        let text = format!(
            "# SOPS creation rules (read by sops, Flux and overworld-secrets alike).\ncreation_rules:\n  # Kubernetes Secret manifests: only data/stringData are encrypted (the Flux convention), so\n  # names, namespaces and types stay readable in review.\n{rule}"
        );
        files.push((PathBuf::from(".sops.yaml"), text.into_bytes()));
        None
    };
    for (f, _) in &files {
        if root.join(f).exists() {
            return Err(InitError::Refused(format!(
                "{} already exists; init never overwrites a file",
                root.join(f).display()
            )));
        }
    }
    Ok(InitPlan {
        root: root.to_path_buf(),
        cluster: cluster.map(str::to_string),
        identity,
        files,
        dirs,
        sops_rule_to_add,
    })
}

fn config_text(root: &Path, cluster: Option<&str>) -> Vec<u8> {
    let mut s =
        String::from("# overworld-secrets configuration. Every path is relative to this file.\n");
    match cluster {
        None => s.push_str(
            "clusters: {}\n# Add a cluster, e.g.:\n# clusters:\n#   prod:\n#     sources: secrets/prod\n#     sealed: manifests/prod/sealed\n#     cert: keys/clusters/prod.pem\n",
        ),
        Some(c) => {
            // A committed controller certificate (HOMELAB-WORKFLOWS.md §1.1 `pub-cert.pem`) is
            // used as the cluster's pinned certificate rather than a path that does not exist.
            let cert = if root.join("pub-cert.pem").is_file() {
                "pub-cert.pem".to_string()
            } else {
                format!("keys/clusters/{c}.pem")
            };
            s.push_str(&format!(
                "clusters:\n  {c}:\n    sources: secrets/{c}              # SOPS-encrypted Secret manifests\n    sealed: manifests/{c}/sealed      # where reseal writes SealedSecrets\n    cert: {cert}    # the controller's sealing certificate\n    controller:\n      name: sealed-secrets-controller\n      namespace: kube-system\n"
            ));
        }
    }
    s.into_bytes()
}

/// Writes the plan: the identity file (0600, its folder 0700) first, then the repository files.
pub fn apply(plan: &InitPlan) -> Result<(), InitError> {
    let io = |p: &Path, e: &dyn std::fmt::Display| InitError::Io {
        path: p.to_path_buf(),
        msg: e.to_string(),
    };
    if let IdentityPlan::New { file, identity } = &plan.identity {
        if let Some(dir) = file.parent() {
            if !dir.exists() {
                std::fs::create_dir_all(dir).map_err(|e| io(dir, &e))?;
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                        .map_err(|e| io(dir, &e))?;
                }
            }
        }
        // age-keygen's layout: created / public key comments, then the key.
        let secret = identity.to_string();
        let text = zeroize::Zeroizing::new(format!(
            "# created: {}\n# public key: {}\n{}\n",
            chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ"),
            identity.to_public(),
            secret.expose_secret()
        ));
        let mut f = std::fs::OpenOptions::new();
        f.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut f, 0o600);
        let mut h = f.open(file).map_err(|e| io(file, &e))?;
        std::io::Write::write_all(&mut h, text.as_bytes()).map_err(|e| io(file, &e))?;
        h.sync_all().map_err(|e| io(file, &e))?;
    }
    for d in &plan.dirs {
        let p = plan.root.join(d);
        std::fs::create_dir_all(&p).map_err(|e| io(&p, &e))?;
    }
    for (rel, bytes) in &plan.files {
        let p = plan.root.join(rel);
        let mut f = std::fs::OpenOptions::new();
        f.write(true).create_new(true);
        let mut h = f.open(&p).map_err(|e| io(&p, &e))?;
        std::io::Write::write_all(&mut h, bytes).map_err(|e| io(&p, &e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_a_key_inside_the_repo_and_an_existing_config() {
        let d = tempfile::tempdir().unwrap();
        let e = plan(d.path(), Some("prod"), &d.path().join("keys/age.txt"))
            .err()
            .unwrap();
        assert!(e.to_string().contains("inside the repository"), "{e}");
        std::fs::write(d.path().join("overworld-secrets.yaml"), "clusters: {}\n").unwrap();
        let out = tempfile::tempdir().unwrap();
        let e = plan(d.path(), None, &out.path().join("k.txt"))
            .err()
            .unwrap();
        assert!(e.to_string().contains("already exists"), "{e}");
    }

    #[test]
    fn new_repo_gets_a_working_rule_and_config() {
        let d = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        let p = plan(d.path(), Some("prod"), &out.path().join("age/keys.txt")).unwrap();
        apply(&p).unwrap();
        let key = out.path().join("age/keys.txt");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let text = std::fs::read_to_string(&key).unwrap();
        assert_eq!(first_recipient(&text).unwrap(), p.identity.recipient());
        let sops = crate::sops::rules::SopsConfig::load(&d.path().join(".sops.yaml")).unwrap();
        let rule = sops
            .rule_for(&d.path().join("secrets/prod/db/creds.yaml"))
            .unwrap();
        assert_eq!(rule.groups[0].age, vec![p.identity.recipient()]);
        assert!(rule.selection.is_some());
        let cfg = crate::config::Config::load(&d.path().join("overworld-secrets.yaml")).unwrap();
        assert_eq!(cfg.clusters["prod"].sources, d.path().join("secrets/prod"));
        // A second init refuses; the existing identity would be reused, never replaced.
        assert!(plan(d.path(), Some("prod"), &key).is_err());
        std::fs::remove_file(d.path().join("overworld-secrets.yaml")).unwrap();
        let again = plan(d.path(), Some("prod"), &key).unwrap();
        assert!(matches!(again.identity, IdentityPlan::Existing { .. }));
        assert!(
            again.sops_rule_to_add.is_some(),
            "existing .sops.yaml is not rewritten"
        );
    }
}
