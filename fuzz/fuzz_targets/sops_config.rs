//! `.sops.yaml` (`SopsConfig::parse`, SOPS.md §7): creation rules with Go-RE2 path regexes and
//! key groups. Arbitrary text must give an error, never a panic; a parsed config must answer
//! rule lookups without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use overworld_secrets::sops::rules::SopsConfig;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(cfg) = SopsConfig::parse(Path::new("/repo/.sops.yaml"), text) else {
        return;
    };
    for file in ["/repo/secrets/a.yaml", "/repo/b.env", "/elsewhere/c.json"] {
        let _ = cfg.rule_for(Path::new(file));
    }
});
