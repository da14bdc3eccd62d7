//! `init`: plan with `crate::onboard::init`, apply, and tell the user what to do next.

use super::Ctx;
use crate::cli::InitArgs;
use crate::error::{Error, Result};
use crate::onboard::init::{self, IdentityPlan, InitError};
use crate::sops::keys::IdentitySources;

fn err(e: InitError) -> Error {
    match e {
        InitError::Refused(m) => Error::Usage(m),
        InitError::Io { path, msg } => Error::Usage(format!("{}: {msg}", path.display())),
    }
}

pub fn run(ctx: &Ctx, a: InitArgs) -> Result<()> {
    let root = std::env::current_dir().map_err(|e| Error::io(".", e))?;
    let explicit_key = a.key_file.is_some();
    let key_file = match a.key_file {
        Some(k) => k,
        // Where sops will look (SOPS.md §6.3): SOPS_AGE_KEY_FILE when set, else keys.txt.
        None => {
            let src = IdentitySources::from_env();
            src.key_file.clone().or_else(|| src.default_keys_txt())
        }
        .ok_or_else(|| {
            Error::Usage(
                "neither XDG_CONFIG_HOME nor HOME is set: pass --key-file PATH for the new age identity"
                    .into(),
            )
        })?,
    };
    let plan = init::plan(&root, a.cluster.as_deref(), &key_file).map_err(err)?;
    init::apply(&plan).map_err(err)?;
    let p = &ctx.printer;
    match &plan.identity {
        IdentityPlan::New { file, .. } => p.info(&format!(
            "created age identity {} (0600) — back it up: without it the SOPS sources cannot be decrypted",
            file.display()
        )),
        IdentityPlan::Existing { file, .. } => p.info(&format!(
            "using the existing age identity in {}",
            file.display()
        )),
    }
    p.info(&format!("recipient: {}", plan.identity.recipient()));
    for (f, _) in &plan.files {
        if !f.ends_with(".gitkeep") {
            p.info(&format!("created {}", f.display()));
        }
    }
    for d in &plan.dirs {
        p.info(&format!("created {}/", d.display()));
    }
    if let Some((sops, rule)) = &plan.sops_rule_to_add {
        p.warn(&format!(
            "{} exists and was left alone; add this rule as its FIRST creation rule so new sources follow the Flux convention:\n{rule}",
            sops.display()
        ));
    }
    let cluster = plan.cluster.as_deref().unwrap_or("NAME");
    let mut next = String::from("next steps:\n");
    if plan.cluster.is_none() {
        next.push_str("  - add a cluster to overworld-secrets.yaml (or re-run init --cluster NAME in a fresh repository)\n");
    }
    if explicit_key {
        next.push_str(&format!(
            "  - sops does not look there by itself: export SOPS_AGE_KEY_FILE={}\n",
            plan.identity.file().display()
        ));
    }
    if plan.cluster.is_some() && !root.join("pub-cert.pem").is_file() {
        next.push_str(&format!(
            "  - pin the controller's certificate: kubeseal --fetch-cert > keys/clusters/{cluster}.pem\n"
        ));
    }
    next.push_str(&format!(
        "  - existing plaintext or sealed secrets: overworld-secrets adopt --cluster {cluster} --dry-run\n  - new secrets: write a Secret manifest under secrets/{cluster}/ and run overworld-secrets encrypt -i FILE\n  - seal: overworld-secrets reseal --cluster {cluster}; CI: overworld-secrets check --require-decrypt\n"
    ));
    p.info(next.trim_end());
    Ok(())
}
