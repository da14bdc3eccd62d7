//! `encrypt`: a plaintext file into the SOPS format, keys and rules from `.sops.yaml` or flags
//! (SOPS.md §10, `sops encrypt`).

use super::{formats, read_input, write_output, Ctx};
use crate::cli::EncryptArgs;
use crate::error::{Error, Result};
use crate::sops::engine::{self, EncryptParams};
use crate::sops::format::{self, Format};
use crate::sops::metadata::Selection;
use crate::sops::SopsError;

pub fn run(ctx: &Ctx, a: EncryptArgs) -> Result<()> {
    if a.in_place && a.output.is_some() {
        return Err(Error::sops(
            a.file.clone().unwrap_or_default(),
            SopsError::Conflict("Error: cannot operate on both --output and --in-place".into()),
        ));
    }
    if a.in_place && a.file.as_deref().is_none_or(|f| f.as_os_str() == "-") {
        return Err(Error::Usage("--in-place needs a file, not stdin".into()));
    }
    if a.file.as_deref().is_none_or(|f| f.as_os_str() == "-") && a.store.filename_override.is_none()
    {
        return Err(Error::Usage(
            "encrypting stdin needs --filename-override NAME (to choose the store and the .sops.yaml rule)".into(),
        ));
    }
    let input = read_input(a.file.as_deref(), &a.store)?;
    let name = input.name.clone();
    let (in_fmt, out_fmt) = formats(&name, &a.store)?;
    let fail = |e: SopsError| Error::sops(&name, e);

    let tree = format::parse(in_fmt, &input.bytes).map_err(|e| fail(e.into()))?;
    let config = ctx.sops_config()?;

    let mut params = EncryptParams::default();
    let flag_age = a.age.as_deref().map(|s| {
        s.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect::<Vec<_>>()
    });
    match flag_age {
        // Any key flag replaces the rule's keys with one group (SOPS.md §9.3).
        Some(recipients) => params.groups = vec![recipients],
        None => {
            let cfg = config.as_ref().filter(|c| c.has_creation_rules()).ok_or_else(|| {
                fail(SopsError::Config(
                    "config file not found, or has no creation rules, and no keys provided through command line options".into(),
                ))
            })?;
            let rule = cfg
                .rule_for(&name)
                .map_err(|e| fail(SopsError::Config(e.to_string())))?;
            for g in &rule.groups {
                if let Some((ty, _)) = g.others.first() {
                    return Err(fail(SopsError::Config(format!(
                        "creation rule {} in {} also demands {ty} keys, which overworld-secrets cannot encrypt to; use sops for this file or keep only age recipients in the rule",
                        rule.index,
                        cfg.path.display()
                    ))));
                }
            }
            params.groups = rule.groups.iter().map(|g| g.age.clone()).collect();
            params.shamir_threshold = rule.shamir_threshold;
            params.selection = rule.selection.clone();
            params.mac_only_encrypted = rule.mac_only_encrypted;
        }
    }
    let flag_sel = [
        a.encrypted_regex.clone().map(Selection::EncryptedRegex),
        a.unencrypted_regex.clone().map(Selection::UnencryptedRegex),
        a.encrypted_suffix.clone().map(Selection::EncryptedSuffix),
        a.unencrypted_suffix
            .clone()
            .map(Selection::UnencryptedSuffix),
    ]
    .into_iter()
    .flatten()
    .next();
    if flag_sel.is_some() {
        params.selection = flag_sel;
    }
    if let Some(t) = a.shamir_threshold {
        params.shamir_threshold = t;
    }
    // Binary content is one value whatever the output store (SOPS.md §8.6).
    let enc_format = if in_fmt == Format::Binary {
        Format::Binary
    } else {
        out_fmt
    };
    let opts = config
        .as_ref()
        .map(|c| c.emit_for(enc_format))
        .unwrap_or_default();
    let file = engine::encrypt(tree, enc_format, &params).map_err(fail)?;
    let bytes = engine::emit_encrypted(&file, &opts).map_err(fail)?;
    write_output(
        &bytes,
        a.output.as_deref(),
        a.in_place
            .then_some(name.as_path())
            .and(input.file.as_deref()),
        false,
    )
}
