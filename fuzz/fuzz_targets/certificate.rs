//! The controller's sealing certificate (SEALED-SECRETS.md §2): PEM and DER. Arbitrary bytes must
//! give a `CertError`, never a panic; an accepted certificate must answer every accessor.
#![no_main]

use libfuzzer_sys::fuzz_target;
use overworld_secrets::sealed::SealingCert;

fuzz_target!(|data: &[u8]| {
    for cert in [SealingCert::from_pem(data), SealingCert::from_der(data)]
        .into_iter()
        .flatten()
    {
        let _ = cert.key_bits();
        let _ = cert.cert_sha256();
        let _ = cert.spki_sha256();
        let _ = cert.ssh_fingerprint();
        let _ = cert.days_left(cert.not_before());
    }
});
