//! The cost of the cryptography alone for one SOPS file of the benchmark corpus (issue 9): one
//! age X25519 unwrap of the data key, AES-256-GCM decryption of 5 values and of the MAC, and the
//! SHA-512 MAC over the values — no parsing, no I/O. `bench/bench.py` compares the bulk decrypt
//! against this floor. Run: `cargo bench --bench crypto_floor`.

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
    // Two recipients per file, as in the corpus; the one we hold is tried second half the time.
    let other = ::age::x25519::Identity::generate().to_public().to_string();
    let mine = id.to_public().to_string();
    let wrapped: Vec<String> = [other, mine]
        .iter()
        .map(|r| age::wrap(r, key.expose()).unwrap())
        .collect();
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

    let files = 500;
    let mut samples = Vec::new();
    for _round in 0..5 {
        let start = Instant::now();
        for _ in 0..files {
            // sops tries the recipients in order; the first one fails for us.
            let k = wrapped
                .iter()
                .find_map(|w| age::unwrap(w, idsref(&ids)).ok())
                .expect("unwrap");
            let k = Key32::from_slice(&k).unwrap();
            let mut h = Sha512::new();
            for (enc, aad) in &values {
                let env = cipher::Envelope::parse(enc.as_bytes()).unwrap();
                let p = cipher::open_raw(&k, &env, aad.as_bytes()).unwrap();
                h.update(p.expose());
            }
            let _ = h.finalize();
            let env = cipher::Envelope::parse(mac.as_bytes()).unwrap();
            cipher::open_raw(&k, &env, b"2026-11-24T00:00:00Z").unwrap();
        }
        samples.push(start.elapsed().as_secs_f64());
    }
    samples.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let median = samples[samples.len() / 2];
    println!(
        "BENCH crypto-floor files={files} median_total_s={median:.6} per_file_us={:.1}",
        median / files as f64 * 1e6
    );
}

fn idsref(ids: &Identities) -> &[Box<dyn ::age::Identity + Send + Sync>] {
    ids.as_slice()
}
