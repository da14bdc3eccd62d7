//! Shared by the fuzz targets that reach the YAML store (included with `#[path]`).

/// libFuzzer's hook aborts on every panic, before any `catch_unwind` can run. The YAML store
/// deliberately catches libyaml-safer's internal panics and turns them into syntax errors
/// (src/sops/format/yaml/parse.rs), so let those unwind to that guard; an uncaught one still
/// reaches libfuzzer-sys's own `catch_unwind` and aborts.
pub fn let_yaml_guard_catch() {
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
