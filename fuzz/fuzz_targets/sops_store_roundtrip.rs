//! Every sops store (YAML, JSON, dotenv, INI, binary) on arbitrary bytes: parsing must never panic,
//! and whatever parses must survive emit → parse unchanged (SOPS.md §8: the stores are how a file's
//! bytes become the tree the MAC covers, so a lossy round trip would re-encrypt something else).
#![no_main]

use libfuzzer_sys::fuzz_target;
use overworld_secrets::sops::format::{self, EmitOptions, Format};

const FORMATS: [Format; 5] = [
    Format::Yaml,
    Format::Json,
    Format::Dotenv,
    Format::Ini,
    Format::Binary,
];

fuzz_target!(init: let_yaml_guard_catch(), |data: &[u8]| {
    // The first byte picks the store so one corpus exercises all five.
    let Some((&sel, input)) = data.split_first() else {
        return;
    };
    let fmt = FORMATS[sel as usize % FORMATS.len()];
    let Ok(tree) = format::parse(fmt, input) else {
        return;
    };
    let opts = EmitOptions::default();
    // Emitting may refuse a tree the store cannot represent (e.g. nesting in dotenv), never panic.
    let Ok(out) = format::emit(fmt, &tree, &opts) else {
        return;
    };
    let again = match format::parse(fmt, &out) {
        Ok(t) => t,
        // go-yaml v3 (and so sops 3.11) writes a block scalar with a leading space inside a
        // nested sequence as `- |4-` with too little indentation, which no YAML parser reads
        // back; we reproduce its bytes on purpose (tests/hardening.rs pins this against the
        // real sops). Everything else we write must parse.
        Err(_) if fmt == Format::Yaml && has_explicit_indent(&out) => return,
        Err(e) => panic!("our own {} output does not parse: {e:?}", fmt.name()),
    };
    let out2 = format::emit(fmt, &again, &opts).expect("a re-parsed tree must emit");
    assert!(out == out2, "emit → parse → emit is not stable for {}", fmt.name());
});

/// A block scalar header with an explicit indentation indicator (`|4`, `>2-`, …).
fn has_explicit_indent(out: &[u8]) -> bool {
    out.windows(2)
        .any(|w| (w[0] == b'|' || w[0] == b'>') && w[1].is_ascii_digit())
}

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
