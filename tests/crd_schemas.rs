//! The vendored CRD schemas and the validator that checks manifests against them
//! (`tests/oracles/crd_validate.py`, following `tests/schemas/README.md`).
//!
//! Why it exists: generated SealedSecrets and ExternalSecrets are validated against the upstream
//! CRDs (STYLE.md "Tests"), so the schemas must be the recorded upstream bytes and the validator must
//! both accept known-good manifests and reject broken ones. What it must never do: let a schema be
//! edited by hand, or a validator that accepts everything pass for one that works.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::util::{repo_root, Run, Scratch};

const SEALED_CRD: &str = "tests/schemas/sealed-secrets/bitnami.com_sealedsecrets.yaml";

/// Runs the validator in strict mode on `manifests` (paths relative to the repository root or
/// absolute) against `crd`.
pub fn validate_against_crd(s: &Scratch, crd: &str, manifests: &[PathBuf]) -> Run {
    let mut cmd = s.oracle("crd_validate.py");
    cmd.arg("--strict").arg(repo_root().join(crd));
    cmd.args(manifests.iter().map(|m| repo_root().join(m)));
    cmd.run()
}

#[test]
fn vendored_schemas_match_their_recorded_hashes() {
    // README.md lists `<sha256>  <path>` for every file, as recorded when it was copied upstream.
    let dir = repo_root().join("tests/schemas");
    let readme = std::fs::read_to_string(dir.join("README.md")).expect("schemas README");
    let mut checked = 0;
    for line in readme.lines() {
        let Some((hash, path)) = line.split_once("  ") else {
            continue;
        };
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            continue;
        }
        let bytes = std::fs::read(dir.join(path.trim())).unwrap_or_else(|e| panic!("{path}: {e}"));
        let actual: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            actual, hash,
            "tests/schemas/{path} is not the recorded upstream file"
        );
        checked += 1;
    }
    assert_eq!(
        checked, 4,
        "expected a recorded hash for each of the 4 vendored CRDs"
    );
}

#[test]
fn sealed_fixtures_satisfy_the_sealedsecret_crd() {
    let sealed = repo_root().join("tests/fixtures/sealed");
    let mut manifests = Vec::new();
    for sub in ["cases", "format"] {
        for entry in std::fs::read_dir(sealed.join(sub)).expect("read sealed fixtures") {
            let path = entry.expect("dir entry").path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            // SealedSecret YAML only: `*.secret.yaml` / `*.expected.yaml` are plain Secrets.
            let is_sealed = name.ends_with(".yaml")
                && !name.ends_with(".secret.yaml")
                && !name.ends_with(".expected.yaml");
            if is_sealed {
                manifests.push(path);
            }
        }
    }
    assert!(manifests.len() >= 10, "found only {manifests:?}");
    let s = Scratch::new();
    let run = validate_against_crd(&s, SEALED_CRD, &manifests);
    assert_eq!(
        run.code,
        Some(0),
        "fixtures rejected by the CRD schema\n{run}"
    );
}

#[test]
fn crd_validation_rejects_broken_manifests() {
    let s = Scratch::new();
    let good = s.write(
        "good.yaml",
        "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: x\n  namespace: y\nspec:\n  encryptedData:\n    a: AgB=\n",
    );
    let run = validate_against_crd(&s, SEALED_CRD, std::slice::from_ref(&good));
    assert_eq!(
        run.code,
        Some(0),
        "a minimal SealedSecret was rejected\n{run}"
    );

    let original = std::fs::read_to_string(&good).unwrap();
    for (what, broken) in [
        // A misspelt field: only strict mode catches it (the API server would drop it).
        ("typo", original.replace("encryptedData", "encryptedDta")),
        ("wrong type", original.replace("    a: AgB=", "    a: [1]")),
        (
            "wrong kind",
            original.replace("kind: SealedSecret", "kind: Secret"),
        ),
    ] {
        let path = s.write(&format!("{}.yaml", what.replace(' ', "-")), broken);
        let run = validate_against_crd(&s, SEALED_CRD, std::slice::from_ref(&path));
        assert_eq!(
            run.code,
            Some(1),
            "{what}: accepted by the validator\n{run}"
        );
        assert!(
            run.stdout_str().contains(file_name(&path)),
            "{what}: the report does not name the file\n{run}"
        );
    }
}

fn file_name(path: &Path) -> &str {
    path.file_name().unwrap().to_str().unwrap()
}
