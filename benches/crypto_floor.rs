//! The cost of the cryptography alone (issue 9), no parsing, no I/O, one thread:
//! - per SOPS file of the benchmark corpus: one age X25519 unwrap of the data key (the entry for
//!   the identity held, which is the one `check` tries first), AES-256-GCM decryption of 5 values
//!   and of the MAC, and the SHA-512 MAC over the values;
//! - per sealed value: what kubeseal's hybrid scheme costs, RSA-OAEP-4096 of a fresh session key
//!   plus AES-256-GCM of the value, through the same `seal_value` reseal uses.
//!
//! `bench/bench.py` compares the bulk decrypt and reseal against these floors.
//! Run: `cargo bench --bench crypto_floor`.

use overworld_secrets::secret::Key32;
use overworld_secrets::sops::cipher::{self, ValueType};
use overworld_secrets::sops::keys::{age, Identities, IdentitySources};
use sha2::{Digest, Sha512};
use std::time::Instant;

fn main() {
    use ::age::secrecy::ExposeSecret;
    let id = ::age::x25519::Identity::generate();
    let ids = Identities::load(&IdentitySources {
        key: Some(id.to_string().expose_secret().to_string()),
        ..Default::default()
    })
    .expect("identity");
    let key = Key32::random();
    // The entry for the recipient we hold: one unwrap is the crypto a file needs.
    let mine = id.to_public().to_string();
    let wrapped = age::wrap(&mine, key.expose()).unwrap();
    let values: Vec<(String, String)> = (0..5)
        .map(|i| {
            let aad = format!("data:key{i}:");
            let v = format!("c2VjcmV0LXZhbHVlLW51bWJlci17aX0tcGFkZGluZw=={i}");
            (
                cipher::seal(&key, v.as_bytes(), aad.as_bytes(), ValueType::Str, None),
                aad,
            )
        })
        .collect();
    let mac = cipher::seal(
        &key,
        &[b'A'; 128],
        b"2026-11-24T00:00:00Z",
        ValueType::Str,
        None,
    );

    // `decrypt` or `seal` as the argument runs only that floor (`bench/bench.py` counts the
    // instructions of `one_file` under callgrind with `decrypt`).
    let only = std::env::args()
        .nth(1)
        .filter(|a| a == "decrypt" || a == "seal");
    if only.as_deref() == Some("seal") {
        seal_floor();
        return;
    }
    let files = 500;
    let mut samples = Vec::new();
    for _round in 0..5 {
        let start = Instant::now();
        for _ in 0..files {
            one_file(&wrapped, &ids, &values, &mac);
        }
        samples.push(start.elapsed().as_secs_f64());
    }
    samples.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let median = samples[samples.len() / 2];
    println!(
        "BENCH crypto-floor files={files} median_total_s={median:.6} per_file_us={:.1}",
        median / files as f64 * 1e6
    );
    if only.is_none() {
        seal_floor();
    }
}

/// The crypto of one corpus file. Not inlined, so callgrind can count it alone.
#[inline(never)]
fn one_file(wrapped: &str, ids: &Identities, values: &[(String, String)], mac: &str) {
    let k = age::unwrap(wrapped, idsref(ids)).expect("unwrap");
    let k = Key32::from_slice(&k).unwrap();
    let mut h = Sha512::new();
    for (enc, aad) in values {
        let env = cipher::Envelope::parse(enc.as_bytes()).unwrap();
        let p = cipher::open_raw(&k, &env, aad.as_bytes()).unwrap();
        h.update(p.expose());
    }
    let _ = h.finalize();
    let env = cipher::Envelope::parse(mac.as_bytes()).unwrap();
    cipher::open_raw(&k, &env, b"2026-11-24T00:00:00Z").unwrap();
}

/// RSA-OAEP-4096 + AES-GCM per value, one thread, to the demo cluster's certificate.
fn seal_floor() {
    use overworld_secrets::sealed::{crypto, SealingCert};
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let pem = std::fs::read(root.join("keys/clusters/demo.pem")).expect("demo certificate");
    let cert = SealingCert::from_pem(&pem).expect("certificate");
    let value = b"c2VjcmV0LXZhbHVlLW51bWJlci0xLXBhZGRpbmc=";
    let values = 2500;
    let mut samples = Vec::new();
    for _round in 0..5 {
        let start = Instant::now();
        for i in 0..values {
            let label = format!("ns{}/secret-{:03}", i % 7, i / 5);
            crypto::seal_value(cert.public_key(), label.as_bytes(), value).expect("seal");
        }
        samples.push(start.elapsed().as_secs_f64());
    }
    samples.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let median = samples[samples.len() / 2];
    println!(
        "BENCH seal-floor values={values} median_total_s={median:.6} values_per_s_one_core={:.0}",
        values as f64 / median
    );
}

fn idsref(ids: &Identities) -> &[Box<dyn ::age::Identity + Send + Sync>] {
    ids.as_slice()
}
