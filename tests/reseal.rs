//! `reseal` and `seal` against the independent unseal oracle (tests/oracles/unseal.py), the real
//! sops (which decrypts the sources to build the expected Secrets, independently of our decrypt),
//! kubeseal's reference layouts and the SealedSecret CRD schema.

use crate::util::{copy_dir, git, repo_root, snapshot, Run, Scratch};
use base64::Engine as _;
use std::path::{Path, PathBuf};

const DEMO_KEY: &str = "keys/demo/TEST-ONLY-age.agekey";
const DEMO_SEALING_KEY: &str = "keys/demo/TEST-ONLY-sealing-key.pem";

/// A copy of the demo repository (config, rules, keys, demo sources) in a scratch git repo.
fn demo_repo() -> Scratch {
    let s = Scratch::new();
    let root = repo_root();
    for rel in [
        "overworld-secrets.yaml",
        ".sops.yaml",
        DEMO_KEY,
        DEMO_SEALING_KEY,
        "keys/clusters/demo.pem",
    ] {
        s.write(rel, std::fs::read(root.join(rel)).unwrap());
    }
    copy_dir(&root.join("secrets/demo"), &s.path("secrets/demo"));
    git(&s, &["init", "-q"]);
    git(&s, &["add", "-A"]);
    git(
        &s,
        &[
            "-c",
            "user.email=t@t",
            "-c",
            "user.name=t",
            "commit",
            "-qm",
            "demo",
        ],
    );
    s
}

fn reseal(s: &Scratch, extra: &[&str]) -> Run {
    s.ours()
        .age_key_file(&s.path(DEMO_KEY))
        .arg("reseal")
        .args(extra)
        .run()
}

fn reseal_ok(s: &Scratch, extra: &[&str]) -> Run {
    let run = reseal(s, extra);
    assert_eq!(run.code, Some(0), "reseal {extra:?} failed\n{run}");
    run
}

fn sealed_files(s: &Scratch) -> Vec<PathBuf> {
    snapshot(&s.path("manifests/demo/sealed"))
        .into_keys()
        .filter(|p| p.to_string_lossy().ends_with(".sealed.yaml"))
        .map(|p| s.path("manifests/demo/sealed").join(p))
        .collect()
}

/// The Secret the controller must create from a source, built from the REAL sops's decryption
/// of that source (not ours): data ∪ base64(stringData), template metadata, type, ownerReference.
fn expected_secret(s: &Scratch, source: &Path) -> serde_yaml_ng::Value {
    let run = s
        .sops()
        .age_key_file(&s.path(DEMO_KEY))
        .arg("decrypt")
        .arg(source)
        .ok();
    let v: serde_yaml_ng::Value = serde_yaml_ng::from_slice(&run.stdout).unwrap();
    let md = v.get("metadata").unwrap();
    let name = md.get("name").unwrap().as_str().unwrap().to_string();
    let mut data = serde_yaml_ng::Mapping::new();
    if let Some(d) = v.get("data").and_then(|d| d.as_mapping()) {
        for (k, val) in d {
            data.insert(k.clone(), val.clone());
        }
    }
    if let Some(d) = v.get("stringData").and_then(|d| d.as_mapping()) {
        for (k, val) in d {
            let b = base64::engine::general_purpose::STANDARD.encode(val.as_str().unwrap());
            data.insert(k.clone(), b.into());
        }
    }
    let mut meta = serde_yaml_ng::Mapping::new();
    for k in ["labels", "annotations", "namespace"] {
        if let Some(x) = md.get(k) {
            meta.insert(k.into(), x.clone());
        }
    }
    meta.insert("name".into(), name.clone().into());
    let owner: serde_yaml_ng::Value = serde_yaml_ng::from_str(&format!(
        "- {{apiVersion: bitnami.com/v1alpha1, controller: true, kind: SealedSecret, name: {name}, uid: ''}}"
    ))
    .unwrap();
    meta.insert("ownerReferences".into(), owner);
    let mut out = serde_yaml_ng::Mapping::new();
    out.insert("apiVersion".into(), "v1".into());
    out.insert("kind".into(), "Secret".into());
    out.insert("metadata".into(), meta.into());
    out.insert("data".into(), data.into());
    if let Some(t) = v.get("type") {
        out.insert("type".into(), t.clone());
    }
    if let Some(i) = v.get("immutable") {
        out.insert("immutable".into(), i.clone());
    }
    out.into()
}

fn source_for(s: &Scratch, sealed: &Path) -> PathBuf {
    // manifests/demo/sealed/<ns>/<name>.sealed.yaml ← the demo source with that name.
    let name = sealed
        .file_name()
        .unwrap()
        .to_string_lossy()
        .replace(".sealed.yaml", ".yaml");
    snapshot(&s.path("secrets/demo"))
        .into_keys()
        .find(|p| p.file_name().unwrap().to_string_lossy() == name)
        .map(|p| s.path("secrets/demo").join(p))
        .unwrap_or_else(|| panic!("no source for {}", sealed.display()))
}

fn assert_unseals_to_source(s: &Scratch, sealed: &Path, key: &str) {
    let source = source_for(s, sealed);
    let expected = expected_secret(s, &source);
    let exp_path = s.path("expected.yaml");
    std::fs::write(&exp_path, serde_yaml_ng::to_string(&expected).unwrap()).unwrap();
    let run = s
        .oracle("unseal.py")
        .arg("--key")
        .arg(s.path(key))
        .arg(sealed)
        .arg("--expect")
        .arg(&exp_path)
        .arg("--quiet")
        .run();
    assert_eq!(
        run.code,
        Some(0),
        "oracle rejected {}\n{run}",
        sealed.display()
    );
}

#[test]
fn demo_reseal_unseals_with_the_oracle_to_exactly_the_sources() {
    let s = demo_repo();
    let run = reseal(&s, &["--cluster", "demo"]);
    assert_eq!(run.code, Some(0), "{run}");
    let files = sealed_files(&s);
    assert_eq!(files.len(), 6, "one SealedSecret per demo source");
    for f in &files {
        assert_unseals_to_source(&s, f, DEMO_SEALING_KEY);
    }
    // And they validate against the upstream CRD schema (unknown fields rejected).
    let rel: Vec<PathBuf> = files.to_vec();
    let v = crate::crd_schemas::validate_against_crd(
        &s,
        "tests/schemas/sealed-secrets/bitnami.com_sealedsecrets.yaml",
        &rel,
    );
    assert_eq!(v.code, Some(0), "{v}");
}

#[test]
fn rerun_changes_no_byte_and_check_passes() {
    let s = demo_repo();
    reseal_ok(&s, &[]);
    git(&s, &["add", "-A"]);
    git(
        &s,
        &[
            "-c",
            "user.email=t@t",
            "-c",
            "user.name=t",
            "commit",
            "-qm",
            "sealed",
        ],
    );
    let again = reseal(&s, &[]);
    assert_eq!(again.code, Some(0), "{again}");
    assert_eq!(
        git(&s, &["status", "--porcelain"]),
        "",
        "a re-run must leave git status clean"
    );
    let check = reseal(&s, &["--check"]);
    assert_eq!(check.code, Some(0), "{check}");
}

#[test]
fn editing_one_value_reseals_only_that_value() {
    let s = demo_repo();
    reseal_ok(&s, &[]);
    let before = snapshot(&s.path("manifests/demo/sealed"));
    // Change one value with the real sops.
    s.sops()
        .age_key_file(&s.path(DEMO_KEY))
        .args([
            "set",
            "secrets/demo/minio/minio-root.yaml",
            r#"["data"]["rootPassword"]"#,
            r#""bmV3LXBhc3N3b3Jk""#,
        ])
        .ok();
    let check = reseal(&s, &["--check"]);
    assert_eq!(
        check.code,
        Some(1),
        "--check must report the changed source\n{check}"
    );
    assert!(
        check.stderr_str().contains("minio-root.sealed.yaml"),
        "{check}"
    );
    reseal_ok(&s, &[]);
    let after = snapshot(&s.path("manifests/demo/sealed"));
    let changed: Vec<&PathBuf> = after
        .keys()
        .filter(|k| before.get(*k) != after.get(*k))
        .collect();
    assert_eq!(
        changed,
        vec![&PathBuf::from("minio/minio-root.sealed.yaml")]
    );
    let old = String::from_utf8_lossy(&before[&PathBuf::from("minio/minio-root.sealed.yaml")])
        .into_owned();
    let new = String::from_utf8_lossy(&after[&PathBuf::from("minio/minio-root.sealed.yaml")])
        .into_owned();
    let diff: Vec<(&str, &str)> = old
        .lines()
        .zip(new.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(
        diff.len(),
        2,
        "only the digest annotation and that item's ciphertext: {diff:?}"
    );
    assert!(diff
        .iter()
        .any(|(a, _)| a.trim_start().starts_with("rootPassword:")));
    assert!(!diff
        .iter()
        .any(|(a, _)| a.trim_start().starts_with("rootUser:")));
    assert_unseals_to_source(
        &s,
        &s.path("manifests/demo/sealed/minio/minio-root.sealed.yaml"),
        DEMO_SEALING_KEY,
    );
}

#[test]
fn a_new_certificate_reseals_everything() {
    let s = demo_repo();
    reseal_ok(&s, &[]);
    let before = snapshot(&s.path("manifests/demo/sealed"));
    s.write(
        "keys/other.pem",
        std::fs::read(repo_root().join("tests/fixtures/sealed/TEST-ONLY-sealing-cert.pem"))
            .unwrap(),
    );
    s.write(
        "keys/other-key.pem",
        std::fs::read(repo_root().join("tests/fixtures/sealed/TEST-ONLY-sealing-key.pem")).unwrap(),
    );
    let check = reseal(&s, &["--cert", "keys/other.pem", "--check"]);
    assert_eq!(check.code, Some(1), "{check}");
    reseal_ok(&s, &["--cert", "keys/other.pem"]);
    let after = snapshot(&s.path("manifests/demo/sealed"));
    for f in sealed_files(&s) {
        let rel = f
            .strip_prefix(s.path("manifests/demo/sealed"))
            .unwrap()
            .to_path_buf();
        let (old, new) = (
            String::from_utf8_lossy(&before[&rel]).into_owned(),
            String::from_utf8_lossy(&after[&rel]).into_owned(),
        );
        let enc = |t: &str| {
            t.lines()
                .filter(|l| l.contains(": Ag"))
                .map(str::to_string)
                .collect::<Vec<_>>()
        };
        for (a, b) in enc(&old).iter().zip(enc(&new).iter()) {
            assert_ne!(
                a,
                b,
                "{}: every item must be resealed for the new certificate",
                rel.display()
            );
        }
        assert_unseals_to_source(&s, &f, "keys/other-key.pem");
    }
}

#[test]
fn a_deleted_source_is_reported_then_pruned() {
    let s = demo_repo();
    reseal_ok(&s, &[]);
    std::fs::remove_file(s.path("secrets/demo/cert-manager/cloudflare-api-token.yaml")).unwrap();
    let check = reseal(&s, &["--check"]);
    assert_eq!(check.code, Some(1), "{check}");
    assert!(check.stderr_str().contains("orphaned"), "{check}");
    let plain = reseal(&s, &[]);
    assert_eq!(plain.code, Some(0));
    assert!(
        s.path("manifests/demo/sealed/cert-manager/cloudflare-api-token.sealed.yaml")
            .exists(),
        "without --prune nothing is deleted"
    );
    reseal_ok(&s, &["--prune"]);
    assert!(!s.path("manifests/demo/sealed/cert-manager").exists());
    let top = String::from_utf8(s.read("manifests/demo/sealed/kustomization.yaml")).unwrap();
    assert!(!top.contains("cert-manager"), "{top}");
    assert_eq!(reseal(&s, &["--check"]).code, Some(0));
}

/// Each failure: a clear error and no output file touched.
#[test]
fn failures_touch_no_output() {
    let s = demo_repo();
    reseal_ok(&s, &[]);
    let before = snapshot(&s.path("manifests"));
    let unchanged = |what: &str| {
        assert!(
            snapshot(&s.path("manifests")) == before,
            "{what} changed an output file"
        )
    };

    // Wrong age key.
    let wrong = s.identities(&["a"]);
    let run = s.ours().age_key_file(&wrong).arg("reseal").run();
    assert_eq!(run.code, Some(128), "{run}");
    assert!(
        run.stderr_str().contains("secrets/demo/") && run.stderr_str().contains("age1nmu0"),
        "names the file and recipients\n{run}"
    );
    unchanged("a wrong key");

    // Tampered source: flip one character of a ciphertext.
    let f = s.path("secrets/demo/apps/ghcr-pull.yaml");
    let text = std::fs::read_to_string(&f).unwrap();
    let pos = text.find("ENC[AES256_GCM,data:").unwrap() + 24;
    let mut b = text.into_bytes();
    b[pos] = if b[pos] == b'A' { b'B' } else { b'A' };
    std::fs::write(&f, &b).unwrap();
    let run = reseal(&s, &[]);
    assert!(matches!(run.code, Some(25) | Some(51)), "{run}");
    assert!(run.stderr_str().contains("ghcr-pull.yaml"), "{run}");
    unchanged("a tampered source");
    git(&s, &["checkout", "--", "secrets"]);

    // A source without a namespace.
    s.write(
        "plain.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: no-ns\nstringData:\n  k: v\n",
    );
    s.ours()
        .age_key_file(&s.path(DEMO_KEY))
        .args([
            "encrypt",
            "--output",
            "secrets/demo/no-ns.yaml",
            "--filename-override",
            "secrets/demo/no-ns.yaml",
            "plain.yaml",
        ])
        .ok();
    let run = reseal(&s, &[]);
    assert_eq!(run.code, Some(2), "{run}");
    assert!(
        run.stderr_str().contains("namespace") && run.stderr_str().contains("no-ns.yaml"),
        "{run}"
    );
    unchanged("a missing namespace");
    std::fs::remove_file(s.path("secrets/demo/no-ns.yaml")).unwrap();

    // Expired certificate: kubeseal's message.
    s.write(
        "keys/expired.pem",
        std::fs::read(repo_root().join("tests/fixtures/sealed/TEST-ONLY-expired-cert.pem"))
            .unwrap(),
    );
    let run = reseal(&s, &["--cert", "keys/expired.pem"]);
    assert_ne!(run.code, Some(0));
    assert!(
        run.stderr_str()
            .contains("failed to encrypt using an expired certificate on"),
        "{run}"
    );
    unchanged("an expired certificate");

    // No plaintext demo value ever reaches the output streams of these failures.
    for marker in [
        "demo-mirror-password",
        "ghp_demoTOKEN",
        "demo-grafana-password",
    ] {
        assert!(!run.stderr_str().contains(marker));
    }
}

/// `seal` output has kubeseal's exact structure and field order (ciphertexts masked) and unseals.
#[test]
fn seal_matches_kubeseal_layout_and_unseals() {
    let s = Scratch::new();
    let fx = repo_root().join("tests/fixtures/sealed");
    let mask = |t: &str| -> String {
        t.lines()
            .map(|l| match l.split_once(": Ag") {
                Some((k, _)) => format!("{k}: <ciphertext>"),
                None => l.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let mask_json = |t: &str| -> String {
        t.lines()
            .map(|l| match l.split_once(": \"Ag") {
                Some((k, rest)) => format!(
                    "{k}: <ciphertext>{}",
                    if rest.ends_with(',') { "," } else { "" }
                ),
                None => l.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    for (case, input, ns) in [
        (
            "01-strict-opaque",
            "cases/01-strict-opaque.secret.yaml",
            None,
        ),
        (
            "02-namespace-wide-binary",
            "cases/02-namespace-wide-binary.secret.yaml",
            None,
        ),
        (
            "03-cluster-wide-dockerconfigjson",
            "cases/03-cluster-wide-dockerconfigjson.secret.yaml",
            Some("flux-system"),
        ),
        (
            "05-strict-tls-immutable",
            "cases/05-strict-tls-immutable.secret.yaml",
            None,
        ),
        (
            "11-yaml-quoting",
            "format/11-yaml-quoting.secret.yaml",
            None,
        ),
    ] {
        let cert = fx.join("TEST-ONLY-sealing-cert.pem");
        let yaml = s
            .ours()
            .arg("seal")
            .arg("--cert")
            .arg(&cert)
            .arg(fx.join(input))
            .ok();
        let reference = if case.starts_with("11") {
            format!("format/{case}.sealed.yaml")
        } else {
            format!("format/{case}.kubeseal-current.yaml")
        };
        let want = std::fs::read_to_string(fx.join(&reference)).unwrap();
        assert_eq!(
            mask(&yaml.stdout_str()),
            mask(&want),
            "{case}: YAML layout differs from kubeseal's"
        );
        let json = s
            .ours()
            .arg("seal")
            .arg("-o")
            .arg("json")
            .arg("--cert")
            .arg(&cert)
            .arg(fx.join(input))
            .ok();
        let reference = if case.starts_with("11") {
            format!("format/{case}.sealed.json")
        } else {
            format!("format/{case}.kubeseal-current.json")
        };
        let want = std::fs::read_to_string(fx.join(&reference)).unwrap();
        assert_eq!(
            mask_json(&json.stdout_str()),
            mask_json(&want),
            "{case}: JSON layout differs from kubeseal's"
        );
        let out = s.write(&format!("{case}.yaml"), yaml.stdout);
        let mut oracle = s.oracle("unseal.py");
        oracle
            .arg("--key")
            .arg(fx.join("TEST-ONLY-sealing-key.pem"))
            .arg(&out)
            .arg("--quiet");
        if let Some(ns) = ns {
            oracle.arg("--namespace").arg(ns);
        }
        if !case.starts_with("11") {
            oracle
                .arg("--expect")
                .arg(fx.join(format!("cases/{case}.expected.yaml")));
        }
        let r = oracle.run();
        assert_eq!(r.code, Some(0), "{case}: oracle\n{r}");
    }
}

#[test]
fn seal_raw_and_merge_into() {
    let s = Scratch::new();
    let fx = repo_root().join("tests/fixtures/sealed");
    let cert = fx.join("TEST-ONLY-sealing-cert.pem");
    // --raw prints only the ciphertext, no newline; strict needs --name.
    let run = s
        .ours()
        .args(["seal", "--raw", "--namespace", "apps"])
        .arg("--cert")
        .arg(&cert)
        .stdin("v")
        .run();
    assert_eq!(run.code, Some(2), "{run}");
    assert!(run.stderr_str().contains("--name"));
    let raw = s
        .ours()
        .args(["seal", "--raw", "--namespace", "apps", "--name", "db"])
        .arg("--cert")
        .arg(&cert)
        .stdin("s3cret")
        .ok();
    assert!(!raw.stdout_str().ends_with('\n'), "{raw}");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(raw.stdout_str())
        .expect("base64");
    assert_eq!(
        &bytes[..2],
        &[0x02, 0x00],
        "u16 length of a 4096-bit RSA block first"
    );
    assert_eq!(
        bytes.len(),
        2 + 512 + 6 + 16,
        "RSA block + AES-GCM(6 bytes) + tag"
    );
    // --merge-into keeps the file's name/namespace and YAML format, adds the item.
    let base = s
        .ours()
        .arg("seal")
        .arg("--cert")
        .arg(&cert)
        .arg(fx.join("cases/01-strict-opaque.secret.yaml"))
        .ok();
    s.write("target.yaml", &base.stdout);
    s.write("extra.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: whatever\n  namespace: apps\nstringData:\n  extra-key: extra-value\n");
    s.ours()
        .arg("seal")
        .arg("--cert")
        .arg(&cert)
        .args(["--merge-into", "target.yaml", "extra.yaml"])
        .ok();
    let merged = String::from_utf8(s.read("target.yaml")).unwrap();
    assert!(
        merged.starts_with("---\n")
            && merged.contains("extra-key: Ag")
            && merged.contains("name: db-credentials")
    );
    let r = s
        .oracle("unseal.py")
        .arg("--key")
        .arg(fx.join("TEST-ONLY-sealing-key.pem"))
        .arg(s.path("target.yaml"))
        .args(["-o", "json"])
        .run();
    assert_eq!(r.code, Some(0), "{r}");
    assert!(r
        .stdout_str()
        .contains(&base64::engine::general_purpose::STANDARD.encode("extra-value")));
}

/// A `.sops.yaml` kept next to the sources (common in Flux repos) is configuration, not a source.
#[test]
fn a_sops_yaml_inside_the_sources_is_not_a_source() {
    let s = demo_repo();
    s.write(
        "secrets/demo/.sops.yaml",
        std::fs::read(s.path(".sops.yaml")).unwrap(),
    );
    let run = reseal(&s, &[]);
    assert_eq!(run.code, Some(0), "{run}");
    assert_eq!(sealed_files(&s).len(), 6);
}
