//! `check`: one small repository per finding, each failing for exactly its reason; a clean one
//! passes; the demo passes with its key and structurally without; no finding prints a value.
//! SOPS files here are made by the REAL sops.

use crate::util::{copy_dir, identity_file, repo_root, Run, Scratch};
use std::collections::BTreeSet;

const A: &str = "age1ks8uufh9q0l3ae7vseg5pj3ns42kdfqd2jfz86sm8tp862wc5y8swyackd";
const B: &str = "age1cdrwk9r9p3qeatkhm0p9qyra2jk5834l8r38eyc2ml9l5d59wsfq3u2ccj";
const MARKER: &str = "s3cr3t-marker-9f8e7d";

fn sops_yaml(recipients: &str) -> String {
    format!("creation_rules:\n  - path_regex: ^secrets/.*\\.yaml$\n    encrypted_regex: ^(data|stringData)$\n    age: {recipients}\n")
}

fn secret(name: &str, value: &str) -> String {
    format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: apps\nstringData:\n  password: {value}\n")
}

/// A clean repo: .sops.yaml and one encrypted Secret (made by the real sops).
fn clean_repo() -> Scratch {
    let s = Scratch::new();
    s.write(".sops.yaml", sops_yaml(A));
    s.write("secrets/app.yaml", secret("app", MARKER));
    s.sops().args(["encrypt", "-i", "secrets/app.yaml"]).ok();
    s
}

fn check(s: &Scratch, extra: &[&str]) -> (Run, BTreeSet<String>) {
    let run = s
        .ours()
        .age_key_file(&identity_file("a"))
        .args(["check", "--format", "json"])
        .args(extra)
        .run();
    assert!(
        !run.stdout_str().contains(MARKER) && !run.stderr_str().contains(MARKER),
        "a value leaked\n{run}"
    );
    let v: serde_json::Value =
        serde_json::from_slice(&run.stdout).unwrap_or_else(|e| panic!("json: {e}\n{run}"));
    let codes = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            assert!(
                f["file"].as_str().is_some_and(|p| !p.is_empty()),
                "every finding names a file: {f}"
            );
            f["code"].as_str().unwrap().to_string()
        })
        .collect();
    (run, codes)
}

fn expect_only(s: &Scratch, extra: &[&str], code: &str) {
    let (run, codes) = check(s, extra);
    assert_eq!(codes, BTreeSet::from([code.to_string()]), "{run}");
    assert_eq!(run.code, Some(1), "{run}");
}

#[test]
fn clean_repo_passes() {
    let s = clean_repo();
    let (run, codes) = check(&s, &["--require-decrypt"]);
    assert!(codes.is_empty(), "{run}");
    assert_eq!(run.code, Some(0));
}

#[test]
fn plaintext_file_a_rule_says_must_be_encrypted() {
    let s = clean_repo();
    s.write("secrets/plain.yaml", secret("plain", MARKER));
    // It is also a plaintext Secret: both findings, each for its reason.
    let (run, codes) = check(&s, &[]);
    assert_eq!(
        codes,
        BTreeSet::from([
            "sops.not-encrypted".to_string(),
            "leak.plaintext-secret".to_string()
        ]),
        "{run}"
    );
}

#[test]
fn stale_recipients() {
    let s = clean_repo();
    s.write(".sops.yaml", sops_yaml(&format!("{A},{B}")));
    expect_only(&s, &[], "sops.stale-recipients");
}

#[test]
fn no_key_for_the_file() {
    let s = Scratch::new();
    s.write(".sops.yaml", sops_yaml(B));
    s.write("secrets/app.yaml", secret("app", MARKER));
    s.sops().args(["encrypt", "-i", "secrets/app.yaml"]).ok();
    expect_only(&s, &[], "sops.no-key");
}

#[test]
fn mac_mismatch_and_tampered_value() {
    let s = clean_repo();
    let text = String::from_utf8(s.read("secrets/app.yaml")).unwrap();
    let i = text.find("lastmodified: \"").unwrap() + 15;
    let mut t = text.clone().into_bytes();
    t[i + 3] = if t[i + 3] == b'9' { b'8' } else { b'9' }; // another year: the MAC's AAD changes
    s.write("secrets/app.yaml", &t);
    expect_only(&s, &[], "sops.mac");
    let i = text.find("ENC[AES256_GCM,data:").unwrap() + 21;
    let mut t = text.into_bytes();
    t[i] = if t[i] == b'A' { b'B' } else { b'A' };
    s.write("secrets/app.yaml", &t);
    expect_only(&s, &[], "sops.tampered");
}

#[test]
fn decrypt_skipped_is_an_error_only_when_required() {
    let s = clean_repo();
    let run = s.ours().args(["check", "--format", "json"]).run();
    assert_eq!(run.code, Some(0), "{run}");
    assert!(run.stdout_str().contains("decrypt_skipped"));
    let run = s
        .ours()
        .args(["check", "--format", "json", "--require-decrypt"])
        .run();
    assert_eq!(run.code, Some(1), "{run}");
    assert!(run.stdout_str().contains("sops.decrypt-skipped"));
}

#[test]
fn secret_looking_value_left_plaintext_is_a_warning() {
    let s = clean_repo();
    s.write(".sops.yaml", "creation_rules:\n  - path_regex: ^secrets/.*\\.yaml$\n    encrypted_regex: ^data$\n    age: ".to_string() + A + "\n");
    s.write("secrets/half.yaml", secret("half", "not-the-marker"));
    s.sops().args(["encrypt", "-i", "secrets/half.yaml"]).ok();
    // The clean file's rule changed too (selection rules are per file, recipients unchanged).
    let (run, codes) = check(&s, &[]);
    assert_eq!(
        codes,
        BTreeSet::from(["sops.plaintext-value".to_string()]),
        "{run}"
    );
    assert_eq!(run.code, Some(0), "warnings alone pass");
    let (run, _) = check(&s, &["--strict"]);
    assert_eq!(run.code, Some(1), "--strict fails on warnings");
}

#[test]
fn leaked_keys_outside_test_only_places() {
    let s = clean_repo();
    let key = std::fs::read_to_string(identity_file("b")).unwrap();
    s.write("notes/backup.txt", &key);
    let (run, codes) = check(&s, &[]);
    assert_eq!(codes, BTreeSet::from(["leak.age-key".to_string()]), "{run}");
    assert!(
        run.stdout_str().contains("\"line\": 4"),
        "names the line\n{run}"
    );
    let secret_line = key
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
        .unwrap();
    assert!(
        !run.stdout_str().contains(&secret_line[16..]),
        "never prints the key"
    );
    std::fs::remove_file(s.path("notes/backup.txt")).unwrap();
    let pem = std::fs::read_to_string(
        repo_root().join("tests/fixtures/sealed/TEST-ONLY-sealing-key.pem"),
    )
    .unwrap();
    s.write("deploy/sealing.pem", &pem);
    expect_only(&s, &[], "leak.private-key");
    // The same file in a TEST-ONLY place, or an allowed prefix, is fine.
    std::fs::rename(
        s.path("deploy/sealing.pem"),
        s.path("deploy/TEST-ONLY-sealing.pem"),
    )
    .unwrap();
    assert!(check(&s, &[]).1.is_empty());
}

#[test]
fn plaintext_secret_manifest() {
    let s = clean_repo();
    s.write("apps/db.secret.yaml", secret("db", MARKER));
    expect_only(&s, &[], "leak.plaintext-secret");
}

#[test]
fn flux_pitfalls() {
    // Metadata encrypted: a rule without encrypted_regex.
    let s = Scratch::new();
    s.write(
        ".sops.yaml",
        format!("creation_rules:\n  - path_regex: ^secrets/.*\\.yaml$\n    age: {A}\n"),
    );
    s.write("secrets/app.yaml", secret("app", "x"));
    s.sops().args(["encrypt", "-i", "secrets/app.yaml"]).ok();
    expect_only(&s, &[], "flux.metadata-encrypted");

    // `${` in a value Flux would substitute.
    let s = clean_repo();
    s.write("secrets/subst.yaml", secret("subst", "'pa${ss}word'"));
    s.sops().args(["encrypt", "-i", "secrets/subst.yaml"]).ok();
    let (run, codes) = check(&s, &[]);
    assert_eq!(
        codes,
        BTreeSet::from(["flux.substitution".to_string()]),
        "{run}"
    );

    // A decryption Secret whose key does not end in .agekey.
    let s = clean_repo();
    s.write(
        "clusters/prod/apps.yaml",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\nspec:\n  decryption:\n    provider: sops\n    secretRef:\n      name: flux-age\n",
    );
    s.write("secrets/flux-age.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: flux-age\n  namespace: flux-system\nstringData:\n  age.key: x\n");
    s.sops()
        .args(["encrypt", "-i", "secrets/flux-age.yaml"])
        .ok();
    expect_only(&s, &[], "flux.agekey-name");
}

/// A temp file a killed write left beside its target is a warning of its own, not a source that
/// fails to decrypt (even when a broad rule's path_regex matches it).
#[test]
fn a_temp_file_left_by_a_killed_write_is_a_warning() {
    let s = clean_repo();
    s.write(
        ".sops.yaml",
        sops_yaml(A).replace("^secrets/.*\\.yaml$", "^secrets/"),
    );
    s.write(
        "secrets/.overworld-secrets-Ab12Cd.tmp",
        "apiVersion: v1\nkind: Secr",
    );
    let (run, codes) = check(&s, &["--require-decrypt"]);
    assert_eq!(
        codes,
        BTreeSet::from(["stale-temp-file".to_string()]),
        "{run}"
    );
    assert_eq!(run.code, Some(0), "a warning alone passes: {run}");
    let (run, _) = check(&s, &["--strict"]);
    assert_eq!(run.code, Some(1), "--strict fails on it: {run}");
}

#[test]
fn github_annotations_name_file_and_line() {
    let s = clean_repo();
    s.write("apps/db.secret.yaml", secret("db", MARKER));
    let run = s.ours().args(["check", "--format", "github"]).run();
    assert_eq!(run.code, Some(1));
    assert!(
        run.stdout_str()
            .contains("::error file=apps/db.secret.yaml,line=2,title=leak.plaintext-secret::"),
        "{run}"
    );
}

/// The demo repository passes with its key, structurally without, and reports stale generated
/// manifests and an expired certificate.
#[test]
fn demo_repository() {
    let s = Scratch::new();
    let root = repo_root();
    for rel in [
        "overworld-secrets.yaml",
        ".sops.yaml",
        "keys/demo/TEST-ONLY-age.agekey",
        "keys/clusters/demo.pem",
    ] {
        s.write(rel, std::fs::read(root.join(rel)).unwrap());
    }
    for dir in ["secrets", "manifests"] {
        copy_dir(&root.join(dir), &s.path(dir));
    }
    let key = s.path("keys/demo/TEST-ONLY-age.agekey");
    let run = s
        .ours()
        .age_key_file(&key)
        .args(["check", "--require-decrypt"])
        .run();
    assert_eq!(run.code, Some(0), "{run}");
    let run = s.ours().args(["check"]).run();
    assert_eq!(run.code, Some(0), "{run}");
    assert!(
        run.stderr_str().contains("decrypt skipped")
            || run.stdout_str().contains("decrypt skipped"),
        "{run}"
    );
    // A changed value: the SealedSecret is stale.
    s.sops()
        .age_key_file(&key)
        .args([
            "set",
            "secrets/demo/minio/minio-root.yaml",
            r#"["data"]["rootUser"]"#,
            r#""b3RoZXI=""#,
        ])
        .ok();
    let run = s
        .ours()
        .age_key_file(&key)
        .args(["check", "--format", "json"])
        .run();
    assert_eq!(run.code, Some(1), "{run}");
    assert!(
        run.stdout_str().contains("generated.stale")
            && run.stdout_str().contains("minio-root.sealed.yaml"),
        "{run}"
    );
    // A generated ExternalSecret edited by hand: stale too.
    let es = s.path("manifests/demo/external-secrets/garage.yaml");
    let mut t = std::fs::read_to_string(&es).unwrap();
    t.push_str("# edited\n");
    std::fs::write(&es, t).unwrap();
    let run = s.ours().args(["check", "--format", "json"]).run();
    assert!(run.stdout_str().contains("garage.yaml"), "{run}");
    // An expired certificate.
    s.write(
        "keys/clusters/demo.pem",
        std::fs::read(root.join("tests/fixtures/sealed/TEST-ONLY-expired-cert.pem")).unwrap(),
    );
    let run = s.ours().args(["check", "--format", "json"]).run();
    assert!(run.stdout_str().contains("cert.expired"), "{run}");
}
