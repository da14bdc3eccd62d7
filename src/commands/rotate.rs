//! `rotate`: a new data key for a SOPS file, every value re-encrypted under it with its old IV,
//! new `lastmodified` and MAC, the key wrapped for every recipient; `--add-age`/`--rm-age` change
//! the recipients on the way (SOPS.md §10, §2.6, §6.1).
//!
//! Must never write plaintext, nor leave a half-written file; output goes to stdout unless `-i`.

use super::set::{open, reencrypt, settings_of, write_back};
use super::Ctx;
use crate::cli::RotateArgs;
use crate::error::{Error, Result};
use crate::secret::Key32;
use crate::sops::keys;
use crate::sops::lifecycle;
use crate::sops::SopsError;

fn list(s: &Option<String>) -> Vec<String> {
    s.as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

pub fn run(ctx: &Ctx, a: RotateArgs) -> Result<()> {
    if a.files.len() > 1 && !a.in_place {
        return Err(Error::Usage(
            "rotating several files needs -i/--in-place (stdout takes one file)".into(),
        ));
    }
    let (add, rm) = (list(&a.add_age), list(&a.rm_age));
    for r in &add {
        keys::age::parse_recipient(r).map_err(|e| Error::Usage(e.to_string()))?;
    }
    for file in &a.files {
        let o = open(ctx, file, &a.store, a.ignore_mac)?;
        let fail = |e: SopsError| Error::sops(file, e);
        let meta = &o.file.metadata;
        let groups = lifecycle::rotate_recipients(meta, &add, &rm)
            .map_err(|e| fail(SopsError::Keys(e.to_string())))?;
        let key = Key32::random();
        let mut settings = settings_of(meta);
        settings.key_groups = keys::wrap_data_key(&key, &groups, meta.shamir_threshold)
            .map_err(|e| fail(SopsError::Keys(e.to_string())))?;
        let bytes = reencrypt(&o, o.dec.tree.clone(), &key, settings)?;
        if a.in_place {
            write_back(file, &bytes)?;
            ctx.printer.info(&format!("{}: rotated", file.display()));
        } else {
            crate::output::stdout_write(&bytes)?;
        }
    }
    Ok(())
}
