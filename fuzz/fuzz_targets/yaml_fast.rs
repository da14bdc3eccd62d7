//! The fast reader for plain block YAML against libyaml: whatever it reads, it must read into
//! exactly libyaml's events (values, styles, marks), and libyaml must accept it too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use overworld_secrets::sops::format::yaml::fast_path_agrees;

fuzz_target!(init: let_yaml_guard_catch(), |data: &[u8]| {
    if let Err(e) = fast_path_agrees(data) {
        panic!("{e}");
    }
});

/// As in sops_load.rs: libyaml-safer's own panics unwind to the store's guard (a syntax error).
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
