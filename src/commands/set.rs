//! `set` and `unset`: change one value of a SOPS file in place (SOPS.md §10). Only that value's
//! ciphertext changes (plus `mac`/`lastmodified`): the data key is kept and unchanged values
//! re-use their IVs (SOPS.md §2.6). Also the open/re-encrypt/write steps `edit` and `rotate`
//! share.
//!
//! Must never write plaintext anywhere, nor leave a half-written file (writes are atomic).

use super::{formats, read_input, Ctx};
use crate::cli::{SetArgs, StoreArgs, UnsetArgs};
use crate::error::{Error, Result};
use crate::secret::Key32;
use crate::sops::engine::{self, Decrypted, EncryptedFile, Settings};
use crate::sops::format::{EmitOptions, Format};
use crate::sops::lifecycle;
use crate::sops::metadata::{self, Metadata};
use crate::sops::path;
use crate::sops::tree::Tree;
use crate::sops::SopsError;
use std::path::{Path, PathBuf};

/// A SOPS file loaded and decrypted, with what writing it back needs.
pub(crate) struct Opened {
    pub name: PathBuf,
    pub format: Format,
    pub file: EncryptedFile,
    pub dec: Decrypted,
    pub opts: EmitOptions,
}

/// Loads `file`, recovers its data key and decrypts it (MAC checked unless `ignore_mac`).
pub(crate) fn open(ctx: &Ctx, file: &Path, store: &StoreArgs, ignore_mac: bool) -> Result<Opened> {
    let input = read_input(Some(file), store)?;
    let name = input.name.clone();
    let fail = |e: SopsError| Error::sops(&name, e);
    let (format, _) = formats(&name, store)?;
    let opts = ctx
        .sops_config()?
        .map(|c| c.emit_for(format))
        .unwrap_or_default();
    let loaded = engine::load(format, &input.bytes).map_err(fail)?;
    let ids = super::load_identities(ctx).map_err(|e| fail(SopsError::Keys(e)))?;
    for n in ids.notes() {
        ctx.printer.detail(n);
    }
    let dec = engine::decrypt(&loaded, &ids, ignore_mac).map_err(fail)?;
    for w in &dec.warnings {
        ctx.printer.warn(w);
    }
    Ok(Opened {
        name,
        format,
        file: loaded,
        dec,
        opts,
    })
}

/// Dotted numeric version comparison; anything unparsable counts as older.
fn version_key(v: &str) -> Vec<u64> {
    v.split('.').map(|p| p.parse().unwrap_or(0)).collect()
}

/// The metadata settings for re-encrypting a file: everything kept, `version` bumped to ours when
/// the file's is older (SOPS.md §10 `edit`).
pub(crate) fn settings_of(meta: &Metadata) -> Settings {
    let version = if version_key(&meta.version) < version_key(metadata::SOPS_VERSION) {
        metadata::SOPS_VERSION.to_string()
    } else {
        meta.version.clone()
    };
    Settings {
        key_groups: meta.key_groups.clone(),
        shamir_threshold: meta.shamir_threshold,
        selection: meta.selection.clone(),
        mac_only_encrypted: meta.mac_only_encrypted,
        version,
    }
}

/// Encrypts `tree` under `key` with `settings`, re-using the IVs of unchanged values, and
/// serialises it. Nothing is written here.
pub(crate) fn reencrypt(
    o: &Opened,
    tree: Tree,
    key: &Key32,
    settings: Settings,
) -> Result<Vec<u8>> {
    let fail = |e: SopsError| Error::sops(&o.name, e);
    let enc =
        engine::encrypt_with_key(tree, o.format, key, settings, Some(&o.dec.ivs)).map_err(fail)?;
    engine::emit_encrypted(&enc, &o.opts).map_err(fail)
}

/// Replaces `path` atomically with `bytes`, keeping its permissions.
pub(crate) fn write_back(path: &Path, bytes: &[u8]) -> Result<()> {
    crate::fsutil::atomic_write(path, bytes, None)
        .map_err(|e| Error::sops(path, SopsError::Write(e.source.to_string())))
}

fn read_value(a: &SetArgs) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    let bytes = if let Some(f) = &a.value_file {
        std::fs::read(f).map_err(|e| Error::io(f, e))?
    } else if a.value_stdin {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut v)
            .map_err(|e| Error::io("<stdin>", e))?;
        v
    } else {
        a.value.clone().unwrap_or_default().into_bytes()
    };
    Ok(zeroize::Zeroizing::new(bytes))
}

pub fn run_set(ctx: &Ctx, a: SetArgs) -> Result<()> {
    let fail = |e: SopsError| Error::sops(&a.file, e);
    // Path and value are checked before anything is decrypted (sops exit 7 for both).
    let steps = path::parse(&a.path).map_err(|e| fail(SopsError::InvalidSet(e)))?;
    let raw = read_value(&a)?;
    let value =
        lifecycle::json_value(&raw).map_err(|e| fail(SopsError::InvalidSet(e.to_string())))?;
    drop(raw);
    let o = open(ctx, &a.file, &a.store, a.ignore_mac)?;
    let mut tree = o.dec.tree.clone();
    let changed = path::set(&mut tree, &steps, value)
        .map_err(|e| fail(SopsError::InvalidSet(e.to_string())))?;
    if !changed && a.idempotent {
        ctx.printer.info("Value already set; file not written.");
        return Ok(());
    }
    let bytes = reencrypt(&o, tree, &o.dec.data_key, settings_of(&o.file.metadata))?;
    write_back(&a.file, &bytes)
}

pub fn run_unset(ctx: &Ctx, a: UnsetArgs) -> Result<()> {
    let fail = |e: SopsError| Error::sops(&a.file, e);
    let steps = path::parse(&a.path).map_err(|e| fail(SopsError::InvalidSet(e)))?;
    let o = open(ctx, &a.file, &a.store, a.ignore_mac)?;
    let mut tree = o.dec.tree.clone();
    match path::unset(&mut tree, &steps) {
        Ok(()) => {}
        Err(path::EditError::KeyNotFound(_) | path::EditError::IndexOutOfBounds(_))
            if a.idempotent =>
        {
            ctx.printer.info("Nothing to remove; file not written.");
            return Ok(());
        }
        Err(e) => return Err(fail(SopsError::Edit(e.to_string()))),
    }
    let bytes = reencrypt(&o, tree, &o.dec.data_key, settings_of(&o.file.metadata))?;
    write_back(&a.file, &bytes)
}
