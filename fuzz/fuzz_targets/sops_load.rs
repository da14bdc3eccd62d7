//! A whole encrypted file as `decrypt`/`filestatus` read it: store parse plus the `sops` metadata
//! section (SOPS.md §4). Arbitrary bytes must give an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use overworld_secrets::sops::engine;
use overworld_secrets::sops::format::{EmitOptions, Format};

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

/// libFuzzer's hook aborts on every panic, before any `catch_unwind` can run. The YAML store
/// deliberately catches libyaml-safer's internal panics and turns them into syntax errors
/// (src/sops/format/yaml/parse.rs), so let those unwind to that guard; an uncaught one still
/// reaches libfuzzer-sys's own `catch_unwind` and aborts.
fn let_yaml_guard_catch() {
    let abort_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let in_libyaml = info
            .location()
            .is_some_and(|l| l.file().contains("libyaml-safer"));
        if !in_libyaml {
            abort_hook(info);
        }
    }));
}
