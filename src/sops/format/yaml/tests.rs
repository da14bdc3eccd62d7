//! Fixture-driven and property tests for the YAML store.

use super::{emit, parse};
use crate::sops::format::EmitOptions;
use std::path::{Path, PathBuf};

fn roundtrip(input: &[u8], indent: usize) -> Result<Vec<u8>, String> {
    let tree = parse(input).map_err(|e| format!("parse: {e}"))?;
    let opts = EmitOptions {
        yaml_indent: indent,
        ..EmitOptions::default()
    };
    emit(&tree, &opts).map_err(|e| format!("emit: {e}"))
}

fn show_diff(name: &str, got: &[u8], want: &[u8]) -> String {
    let g = String::from_utf8_lossy(got);
    let w = String::from_utf8_lossy(want);
    let mut out = format!("== {name}\n");
    for (i, (a, b)) in g.lines().zip(w.lines()).enumerate() {
        if a != b {
            out += &format!(
                "first difference at line {}:\n  got:  {a:?}\n  want: {b:?}\n",
                i + 1
            );
            return out;
        }
    }
    out + &format!(
        "length differs: got {} lines, want {} lines\n",
        g.lines().count(),
        w.lines().count()
    )
}

/// Every YAML case sops made: `emit(parse(f)) == f` for its outputs (SOPS.md §7.2, §8.2).
#[test]
fn shared_sops_fixtures_reemit_byte_for_byte() {
    let root = Path::new("/work/shared/fixtures/sops/cases");
    let Ok(dirs) = std::fs::read_dir(root) else {
        eprintln!("shared fixtures not present; skipping");
        return;
    };
    let mut failures = Vec::new();
    let mut checked = 0;
    let mut dirs: Vec<PathBuf> = dirs.map(|d| d.unwrap().path()).collect();
    dirs.sort();
    for dir in dirs {
        for name in [
            "expected.yaml",
            "encrypted.yaml",
            "original.yaml",
            "expected-ignore-mac.yaml",
            "before-rotate.yaml",
            "before-updatekeys.yaml",
        ] {
            let p = dir.join(name);
            let Ok(bytes) = std::fs::read(&p) else {
                continue;
            };
            checked += 1;
            match roundtrip(&bytes, 4) {
                Ok(out) if out == bytes => {}
                Ok(out) => failures.push(show_diff(&p.display().to_string(), &out, &bytes)),
                Err(e) => failures.push(format!("== {}: {e}\n", p.display())),
            }
        }
    }
    assert!(
        checked > 20,
        "expected the shared YAML fixtures, found {checked}"
    );
    assert!(
        failures.is_empty(),
        "{} of {checked} failed:\n{}",
        failures.len(),
        failures.join("")
    );
}

/// `tests/fixtures/yaml-store/<case>/input.yaml` → what the real sops printed (`expected.yaml`).
#[test]
fn corpus_matches_real_sops() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/yaml-store");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("corpus folder")
        .map(|d| d.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let mut failures = Vec::new();
    let mut checked = 0;
    for dir in &dirs {
        let input = std::fs::read(dir.join("input.yaml")).unwrap();
        let indent = if dir.join(".sops.yaml").exists() {
            2
        } else {
            4
        };
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        if let Ok(want) = std::fs::read(dir.join("expected.yaml")) {
            checked += 1;
            match roundtrip(&input, indent) {
                Ok(out) if out == want => {}
                Ok(out) => failures.push(show_diff(&name, &out, &want)),
                Err(e) => failures.push(format!("== {name}: {e}\n")),
            }
        } else if let Ok(err) = std::fs::read_to_string(dir.join("expected-error.txt")) {
            checked += 1;
            match parse(&input) {
                Ok(_) => failures.push(format!("== {name}: parsed, but sops fails with {err}")),
                // Where we knowingly differ (README of the case), failing is enough.
                Err(_) if dir.join("known-difference.md").exists() => {}
                Err(e) => {
                    let msg = e.to_string();
                    if !err.contains(&msg) {
                        failures.push(format!("== {name}: error {msg:?}, sops says {err:?}\n"));
                    }
                }
            }
        }
    }
    assert!(checked >= 40, "corpus has only {checked} cases");
    assert!(
        failures.is_empty(),
        "{} of {checked} failed:\n{}",
        failures.len(),
        failures.join("")
    );
}

/// The shared cases' plaintext inputs: what we print for `input.yaml` is what sops printed when
/// it decrypted the file it had made from it (`expected.yaml`).
#[test]
fn shared_inputs_emit_like_sops() {
    let root = Path::new("/work/shared/fixtures/sops/cases");
    let Ok(dirs) = std::fs::read_dir(root) else {
        eprintln!("shared fixtures not present; skipping");
        return;
    };
    let mut failures = Vec::new();
    let mut checked = 0;
    for dir in dirs.map(|d| d.unwrap().path()) {
        let (Ok(input), Ok(want)) = (
            std::fs::read(dir.join("input.yaml")),
            std::fs::read(dir.join("expected.yaml")),
        ) else {
            continue;
        };
        checked += 1;
        match roundtrip(&input, 4) {
            Ok(out) if out == want => {}
            Ok(out) => failures.push(show_diff(&dir.display().to_string(), &out, &want)),
            Err(e) => failures.push(format!("== {}: {e}\n", dir.display())),
        }
    }
    assert!(
        checked >= 10,
        "expected the shared YAML inputs, found {checked}"
    );
    assert!(
        failures.is_empty(),
        "{} of {checked} failed:\n{}",
        failures.len(),
        failures.join("")
    );
}

/// Differential helper, not a test: `YAML_DIFF_DIR=dir cargo test --lib yaml_diff -- --ignored`
/// writes `ours.yaml` (or `ours-error.txt`) beside every `input.yaml` under `dir`.
#[test]
#[ignore = "tool for comparing against the real sops; see tests/fixtures/yaml-store/README.md"]
fn yaml_diff_tool() {
    let Ok(dir) = std::env::var("YAML_DIFF_DIR") else {
        return;
    };
    for d in std::fs::read_dir(dir).unwrap().map(|d| d.unwrap().path()) {
        let Ok(input) = std::fs::read(d.join("input.yaml")) else {
            continue;
        };
        let indent = if d.join(".sops.yaml").exists() { 2 } else { 4 };
        match roundtrip(&input, indent) {
            Ok(out) => std::fs::write(d.join("ours.yaml"), out).unwrap(),
            Err(e) => std::fs::write(d.join("ours-error.txt"), e).unwrap(),
        }
    }
}
