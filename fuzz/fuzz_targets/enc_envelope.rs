//! The `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]` value parser (SOPS.md §2.3). Whatever parses
//! must format back to an envelope that parses to the same fields; opening with a fixed key must
//! fail cleanly (GCM tag) rather than panic on odd IV/tag lengths.
#![no_main]

use libfuzzer_sys::fuzz_target;
use overworld_secrets::secret::Key32;
use overworld_secrets::sops::cipher::{self, Envelope};

fuzz_target!(|data: &[u8]| {
    let _ = cipher::is_envelope(data);
    let key = Key32::new([7u8; 32]);
    let _ = cipher::open(&key, data, b"k:");
    let Ok(env) = Envelope::parse(data) else {
        return;
    };
    let text = env.format();
    let again = Envelope::parse(text.as_bytes()).expect("a formatted envelope must parse");
    assert_eq!(env.data, again.data);
    assert_eq!(env.iv, again.iv);
    assert_eq!(env.tag, again.tag);
    assert_eq!(text, again.format());
    let _ = cipher::open_raw(&key, &env, b"k:");
});
