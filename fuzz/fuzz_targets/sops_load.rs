//! A whole encrypted file as `decrypt`/`filestatus` read it: store parse plus the `sops` metadata
//! section (SOPS.md §4). Arbitrary bytes must give an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../common/yaml_guard.rs"]
mod yaml_guard;
use overworld_secrets::sops::engine;
use overworld_secrets::sops::format::{EmitOptions, Format};
use yaml_guard::let_yaml_guard_catch;

const FORMATS: [Format; 5] = [
    Format::Yaml,
    Format::Json,
    Format::Dotenv,
    Format::Ini,
    Format::Binary,
];

fuzz_target!(init: let_yaml_guard_catch(), |data: &[u8]| {
    let Some((&sel, input)) = data.split_first() else {
        return;
    };
    let fmt = FORMATS[sel as usize % FORMATS.len()];
    let _ = engine::is_encrypted(fmt, input);
    if let Ok(file) = engine::load(fmt, input) {
        // What loads must write back out (updatekeys/rotate re-emit loaded files).
        let _ = engine::emit_encrypted(&file, &EmitOptions::default());
    }
});
