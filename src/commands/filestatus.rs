//! `filestatus`: `{"encrypted":true}` when the file has sops metadata with a version and a MAC
//! (SOPS.md §10).

use super::{formats, read_input, Ctx};
use crate::cli::FilestatusArgs;
use crate::error::{Error, Result};
use crate::sops::engine;

pub fn run(_ctx: &Ctx, a: FilestatusArgs) -> Result<()> {
    if !a.file.exists() {
        // sops reports a missing file here as a plain load error (exit 1), not exit 100.
        return Err(Error::sops(
            &a.file,
            crate::sops::SopsError::Metadata(format!("{}: no such file", a.file.display())),
        ));
    }
    let input = read_input(Some(&a.file), &a.store)?;
    let (fmt, _) = formats(&input.name, &a.store)?;
    let enc = engine::is_encrypted(fmt, &input.bytes).map_err(|e| Error::sops(&input.name, e))?;
    crate::output::stdout_write(format!("{{\"encrypted\":{enc}}}\n").as_bytes())?;
    Ok(())
}
