//! `infisical pull`: adopt an existing Infisical by writing what an environment holds into its
//! SOPS seed file (`secrets/infisical/<env>.yaml`), encrypted with the `.sops.yaml` rule for that
//! path — the reverse of `seed-infisical`, so a following `seed-infisical` plans nothing. Values go
//! from the server straight into the SOPS encryption; nothing is printed or written in plaintext,
//! and an existing file is never replaced without `--force`.

use super::seed_infisical::{finish, open, Session};
use super::Ctx;
use crate::cli::InfisicalPullArgs;
use crate::error::{Error, Result};
use crate::infisical::plan::RemoteValue;
use crate::infisical::seed::{valid_folder, valid_key};
use crate::infisical::{join, InfisicalError};
use crate::secret::SecretBytes;
use crate::sops::engine::{self, EncryptParams};
use crate::sops::format::Format;
use crate::sops::tree::{Comment, Entry, Mapping, Node, Scalar, Tree};
use crate::sops::SopsError;
use std::collections::BTreeMap;
use std::path::PathBuf;

pub fn run(ctx: &Ctx, a: InfisicalPullArgs) -> Result<()> {
    let mut s = open(ctx, &a.conn, false, &|_| Ok(()))?;
    let result = pull(ctx, &a, &mut s);
    finish(ctx, &mut s, result)
}

/// One folder of the pulled tree: its secrets and its sub-folders.
#[derive(Default)]
struct Dir {
    keys: BTreeMap<String, SecretBytes>,
    dirs: BTreeMap<String, Dir>,
}

impl Dir {
    /// Secrets first, then sub-folders, each sorted: stable output for review.
    fn into_mapping(self) -> Mapping {
        let mut m = Mapping::new();
        for (k, v) in self.keys {
            m.push(k, Node::Scalar(Scalar::Str(v)));
        }
        for (name, d) in self.dirs {
            m.push(name, Node::Mapping(d.into_mapping()));
        }
        m
    }
}

fn pull(ctx: &Ctx, a: &InfisicalPullArgs, s: &mut Session) -> Result<()> {
    if a.output.is_some() && s.envs.len() != 1 {
        return Err(Error::Usage(
            "--output needs a single environment: add --env ENV".into(),
        ));
    }
    let targets: Vec<(String, PathBuf)> = s
        .envs
        .iter()
        .map(|e| {
            let t = a.output.clone().unwrap_or_else(|| s.icfg.seed_file(e));
            (e.clone(), crate::sops::rules::absolute(&t))
        })
        .collect();
    for (_, t) in &targets {
        if t.exists() && !a.force {
            return Err(Error::Usage(format!(
                "{} exists; pass --force to replace it with what Infisical holds",
                s.cfg.display_path(t)
            )));
        }
    }
    let sops = ctx.sops_config()?;
    let project = s.client.resolve_project(&s.icfg.project)?;
    for (env, target) in &targets {
        if !project.environments.iter().any(|e| e == env) {
            return Err(InfisicalError::UnknownEnvironment {
                env: env.clone(),
                project: project.slug.clone(),
                known: project.environments.join(", "),
            }
            .into());
        }
        let shown = s.cfg.display_path(target).to_string();
        let mut root = Dir::default();
        let mut count = 0usize;
        for sec in s.client.list_secrets(env, "/")? {
            let value = match sec.value {
                RemoteValue::Known(v) => v,
                RemoteValue::Hidden => {
                    return Err(InfisicalError::ValueHidden {
                        env: env.clone(),
                        path: sec.folder,
                        key: sec.key,
                    }
                    .into())
                }
            };
            let bad = |msg: &str| {
                Error::from(InfisicalError::Seed {
                    file: shown.clone(),
                    path: join(&sec.folder, &sec.key),
                    msg: msg.to_string(),
                })
            };
            if !valid_key(&sec.key) {
                return Err(bad(
                    "this key name cannot be a seed key (letters, digits, '_', '.', '-')",
                ));
            }
            let mut dir = &mut root;
            for seg in sec.folder.split('/').filter(|x| !x.is_empty()) {
                if !valid_folder(seg) || dir.keys.contains_key(seg) {
                    return Err(bad(
                        "its folder cannot be a seed mapping (bad name, or a key of the same name)",
                    ));
                }
                dir = dir.dirs.entry(seg.to_string()).or_default();
            }
            if dir.dirs.contains_key(&sec.key) {
                return Err(bad(
                    "a key and a folder share this name; a seed file cannot hold both",
                ));
            }
            dir.keys.insert(sec.key, value);
            count += 1;
        }
        let mut doc = Mapping::new();
        doc.entries
            .push(Entry::Comment(Comment(SecretBytes::from(format!(
                " Infisical project \"{}\", environment \"{env}\" (pulled by overworld-secrets).",
                project.slug
            )))));
        doc.entries.extend(root.into_mapping().entries);
        let tree = Tree {
            documents: vec![doc],
        };
        let format = Format::from_path(target);
        let fail = |e: SopsError| Error::sops(target, e);
        let cfg = sops
            .as_ref()
            .filter(|c| c.has_creation_rules())
            .ok_or_else(|| {
                fail(SopsError::Config(
                    "no .sops.yaml creation rule to encrypt the pulled seed with".into(),
                ))
            })?;
        let rule = cfg
            .rule_for(target)
            .map_err(|e| fail(SopsError::Config(e.to_string())))?;
        if rule.groups.iter().any(|g| !g.others.is_empty()) {
            return Err(fail(SopsError::Config(format!(
                "creation rule {} demands non-age keys, which overworld-secrets cannot encrypt to",
                rule.index
            ))));
        }
        let params = EncryptParams {
            groups: rule.groups.iter().map(|g| g.age.clone()).collect(),
            shamir_threshold: rule.shamir_threshold,
            selection: rule.selection.clone(),
            mac_only_encrypted: rule.mac_only_encrypted,
        };
        let file = engine::encrypt(tree, format, &params).map_err(fail)?;
        let bytes = engine::emit_encrypted(&file, &cfg.emit_for(format)).map_err(fail)?;
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        crate::fsutil::atomic_write(target, &bytes, None)?;
        ctx.printer
            .info(&format!("wrote {shown}: {count} secret(s) from {env}"));
    }
    Ok(())
}
