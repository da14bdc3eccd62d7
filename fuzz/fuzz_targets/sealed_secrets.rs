//! SealedSecret and Secret manifests as `reseal`/`check` read them (SEALED-SECRETS.md §3):
//! multi-document YAML/JSON into typed objects, then the Go-compatible YAML/JSON writers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use overworld_secrets::sealed::object::{
    parse_documents, parse_sealed_secrets, parse_secrets, to_kubeseal_json, to_kubeseal_yaml,
};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = parse_documents(text);
    let _ = parse_secrets(text);
    if let Ok(objs) = parse_sealed_secrets(text) {
        // What we accept we must be able to write back (reseal rewrites these files).
        let _ = to_kubeseal_yaml(&objs);
        let _ = to_kubeseal_json(&objs);
    }
});
