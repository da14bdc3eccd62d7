//! `overworld-secrets.yaml` (`Config::parse`): clusters, Infisical, workloads. Arbitrary text must
//! give an error, never a panic; a parsed config must answer cluster selection.
#![no_main]

use libfuzzer_sys::fuzz_target;
use overworld_secrets::config::Config;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(cfg) = Config::parse(Path::new("/repo/overworld-secrets.yaml"), text) {
        let _ = cfg.select(None);
        let _ = cfg.select(Some("prod"));
    }
});
