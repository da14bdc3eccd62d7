//! Sealed Secrets: hybrid encryption, scopes, certificates, the SealedSecret object
//! (SEALED-SECRETS.md). Knows nothing of the cluster or the network.
//!
//! This core turns Secret manifests into SealedSecrets that the real controller unseals and that
//! look byte for byte like kubeseal's output (apart from the random ciphertexts), and opens them
//! again with backed-up keys. It must never reach the network or a cluster (callers hand it the
//! certificate and keys), never print a plaintext value in an error or `Debug`, and never encrypt
//! deterministically from public inputs (§1.4).
//!
//! Typical flow (kubeseal `--cert c.pem -o yaml`):
//! `SealingCert::from_pem` → `check_not_expired(now)` → `parse_secrets(text)` →
//! `SealedSecret::seal(&manifest, &BuildOptions { .. }, cert.public_key())` (or
//! `SealedSecret::prepare` + own sealing + `PreparedSeal::finish` to reuse unchanged ciphertexts
//! or seal in parallel) → `to_kubeseal_yaml(&[..])`. Reading back: `parse_sealed_secrets`,
//! `unseal(&ss, &UnsealingKeys::load(..)?, None)`.

pub mod cert;
pub mod crypto;
pub mod goyaml;
pub mod object;
pub mod scope;

pub use cert::{CertError, SealingCert};
pub use crypto::{
    seal_value, seal_value_b64, unseal_value, CryptoError, SealingPublicKey, UnsealingKeys,
};
pub use goyaml::{json_to_go_yaml, to_go_json, to_go_yaml, GoValue};
pub use object::{
    parse_documents, parse_sealed_secrets, parse_secrets, to_kubeseal_json, to_kubeseal_yaml,
    unseal, BuildOptions, ItemToSeal, KubesealCompat, ObjectError, PreparedSeal, SealedSecret,
    SecretManifest, SecretTemplate, TemplateMetadata, UnsealError, UnsealedSecret,
};
pub use scope::{RawLabelError, Scope};

#[cfg(test)]
mod fixture_tests;

#[cfg(test)]
pub(crate) mod test_support {
    use std::path::PathBuf;

    /// The one place that says where the sealed-secrets fixtures live (copied from the shared set,
    /// see tests/fixtures/sealed/README.md).
    pub fn fixture_root() -> PathBuf {
        PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/sealed"
        ))
    }

    pub fn fixture(rel: &str) -> PathBuf {
        fixture_root().join(rel)
    }

    /// Our own fixtures (generated with the real tools, see the README there).
    pub fn own_fixture(rel: &str) -> PathBuf {
        PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/sealed-core"
        ))
        .join(rel)
    }

    /// The independent unseal oracle.
    pub fn oracle_script() -> PathBuf {
        PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/oracles/unseal.py"
        ))
    }

    /// Directory holding `seal.py`, the reference sealer/renderer.
    pub fn reference_tools_dir() -> PathBuf {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oracles"))
    }

    /// Python with `cryptography` + `pyyaml`: `$OVERWORLD_ORACLE_PYTHON`, else
    /// `target/oracles/bin/python`. Missing → the test fails (never skips).
    pub fn oracle_python() -> PathBuf {
        let p = std::env::var_os("OVERWORLD_ORACLE_PYTHON")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/target/oracles/bin/python"
                ))
            });
        assert!(
            p.exists(),
            "oracle python not found at {} — run the test setup script (it installs the oracles \
             into target/oracles) or set OVERWORLD_ORACLE_PYTHON",
            p.display()
        );
        let script = oracle_script();
        assert!(
            script.exists(),
            "unseal oracle not found at {} — run the test setup script",
            script.display()
        );
        p
    }
}
