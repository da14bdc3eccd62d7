//! The fast reader for plain block YAML against libyaml: whatever it reads, it must read into
//! exactly libyaml's events (values, styles, marks), and libyaml must accept it too.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../common/yaml_guard.rs"]
mod yaml_guard;
use overworld_secrets::sops::format::yaml::fast_path_agrees;
use yaml_guard::let_yaml_guard_catch;

fuzz_target!(init: let_yaml_guard_catch(), |data: &[u8]| {
    if let Err(e) = fast_path_agrees(data) {
        panic!("{e}");
    }
});
