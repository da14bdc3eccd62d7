//! Reading a certificate from a file or `file://` URL (kubeseal's `--cert` accepts both;
//! SEALED-SECRETS.md §4.6). http(s) URLs go through the shared HTTP client.

use crate::error::{Error, Result};

pub fn read(source: &str) -> Result<Vec<u8>> {
    let lower = source.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return Err(Error::Usage(format!(
            "{source}: fetching certificates over HTTP is not available in this build; download it or use `overworld-secrets cert fetch`"
        )));
    }
    let path = source.strip_prefix("file://").unwrap_or(source);
    std::fs::read(path).map_err(|e| Error::io(path, e))
}
