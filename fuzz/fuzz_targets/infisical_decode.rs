//! The Infisical client's response decoding (INFISICAL.md §1.1, §6): secret listings and error
//! bodies, as they arrive from a server we do not control. Must never panic; the error summary
//! must stay bounded whatever the body holds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use overworld_secrets::infisical::client::decode_for_fuzzing;

fuzz_target!(|data: &[u8]| {
    let Some((&[hi, lo], body)) = data.split_first_chunk::<2>() else {
        return;
    };
    let status = 100 + (u16::from_be_bytes([hi, lo]) % 500);
    let (_, summary) = decode_for_fuzzing(status, body);
    if let Some(s) = summary {
        // The message is cut to 300 characters (§1.1); the error name is not, but comes from
        // the body too. Bound the total to what a body can hold plus the fixed text.
        assert!(s.len() <= body.len() + 400);
    }
});
