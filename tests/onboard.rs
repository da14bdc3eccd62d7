//! `init` and `adopt` on a repository shaped like the user's (tests/fixtures/onboard, see its
//! README): after `adopt --yes` and `reseal`, every SealedSecret unseals — with the independent
//! oracle — to what it unsealed to before, at the same path; kustomizations still resolve; the real
//! sops decrypts every new source; `check` passes; no plaintext stays tracked. Without the sealing
//! key, sealed-only secrets are reported by name and left untouched.

use crate::util::{copy_dir, fixture, git, repo_root, snapshot, Run, Scratch};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const SEALING_KEY: &str = "tests/fixtures/sealed/TEST-ONLY-sealing-key.pem";

/// The fixture in a git repository: ignored plaintext, one plaintext committed by mistake.
fn user_repo() -> Scratch {
    let s = Scratch::new();
    copy_dir(&fixture("onboard/repo"), &s.work());
    std::fs::rename(s.path("gitignore"), s.path(".gitignore")).unwrap();
    git(&s, &["init", "-q"]);
    git(&s, &["add", "-A"]);
    git(
        &s,
        &[
            "add",
            "-f",
            "infrastructure/base-config/prod/minio-creds.secret.yaml",
        ],
    );
    git(&s, &["commit", "-qm", "the user's repository"]);
    s
}

fn sealed_files(s: &Scratch) -> Vec<PathBuf> {
    snapshot(&s.work())
        .into_keys()
        .filter(|p| p.to_string_lossy().ends_with(".sealed.yaml"))
        .collect()
}

/// What the controller would create from each SealedSecret, per the independent oracle.
fn unsealed_by_oracle(s: &Scratch) -> BTreeMap<PathBuf, String> {
    sealed_files(s)
        .into_iter()
        .map(|f| {
            let run = s
                .oracle("unseal.py")
                .arg("--key")
                .arg(repo_root().join(SEALING_KEY))
                .arg(&f)
                .args(["-o", "json"])
                .run();
            assert_eq!(
                run.code,
                Some(0),
                "oracle cannot unseal {}\n{run}",
                f.display()
            );
            (f, run.stdout_str())
        })
        .collect()
}

fn key_a() -> PathBuf {
    crate::util::identity_file("a")
}

fn init(s: &Scratch) -> Run {
    let run = s.ours().args(["init", "--cluster", "prod"]).run();
    assert_eq!(run.code, Some(0), "{run}");
    run
}

fn adopt(s: &Scratch, extra: &[&str]) -> Run {
    s.ours()
        .args(["adopt", "--cluster", "prod"])
        .args(extra)
        .run()
}

fn reseal(s: &Scratch) -> Run {
    let run = s
        .ours()
        .age_key_file(&key_a())
        .args(["reseal", "--cluster", "prod"])
        .run();
    assert_eq!(run.code, Some(0), "{run}");
    run
}

/// Every `resources:` entry of every kustomization names an existing file or folder.
fn assert_kustomizations_resolve(s: &Scratch) {
    for (f, bytes) in snapshot(&s.work()) {
        if f.file_name().unwrap() != "kustomization.yaml" {
            continue;
        }
        let v: serde_yaml_ng::Value = serde_yaml_ng::from_slice(&bytes).unwrap();
        for r in v["resources"].as_sequence().into_iter().flatten() {
            let target = s.work().join(f.parent().unwrap()).join(r.as_str().unwrap());
            assert!(
                target.exists(),
                "{} lists {} which does not exist",
                f.display(),
                r.as_str().unwrap()
            );
        }
    }
}

#[test]
fn adopt_with_the_sealing_key_then_reseal_keeps_every_secret_at_its_path() {
    let s = user_repo();
    let before = unsealed_by_oracle(&s);
    assert_eq!(before.len(), 5);
    let old_bytes = snapshot(&s.work());

    init(&s);
    // The identity lands where sops looks by default, private to the user.
    let id = s.home().join(".config/sops/age/keys.txt");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&id).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    assert_eq!(
        std::fs::read(s.path(".sops.yaml")).unwrap(),
        old_bytes[Path::new(".sops.yaml")],
        "init leaves an existing .sops.yaml alone"
    );

    let run = adopt(
        &s,
        &[
            "--sealing-key",
            repo_root().join(SEALING_KEY).to_str().unwrap(),
            "--yes",
            "--delete-plaintext",
        ],
    );
    assert_eq!(run.code, Some(0), "{run}");
    let out = run.stdout_str();
    assert!(
        out.contains("no creation rule matches the new sources"),
        "{out}"
    );
    assert!(out.contains("immich-db-creds.sealed.yaml"), "{out}");
    assert!(
        out.contains("tracked by git"),
        "the committed plaintext is flagged\n{out}"
    );
    for v in [
        "TEST-ONLY-immich-pw",
        "TEST-ONLY-client-secret",
        "TEST-ONLY-musmgr-pw",
    ] {
        assert!(
            !out.contains(v) && !run.stderr_str().contains(v),
            "a value leaked\n{run}"
        );
    }

    // Five sources, each readable by the REAL sops with key a, with only data encrypted.
    let sources: Vec<PathBuf> = snapshot(&s.path("secrets/prod"))
        .into_keys()
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    assert_eq!(sources.len(), 5, "{sources:?}");
    for src in &sources {
        let path = s.path("secrets/prod").join(src);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("encrypted_regex: ^(data|stringData)$"),
            "{text}"
        );
        s.sops()
            .age_key_file(&key_a())
            .arg("decrypt")
            .arg(&path)
            .ok();
    }
    // The recovered one carries exactly what the controller had.
    let immich = s
        .sops()
        .age_key_file(&key_a())
        .arg("decrypt")
        .arg(s.path("secrets/prod/db/immich-db-creds.yaml"))
        .ok()
        .stdout_str();
    assert!(immich.contains("skip-set-owner-references"), "{immich}");

    reseal(&s);
    assert_eq!(
        sealed_files(&s),
        before.keys().cloned().collect::<Vec<_>>(),
        "same paths, no new SealedSecret files"
    );
    let after = unsealed_by_oracle(&s);
    for (f, want) in &before {
        assert_eq!(
            &after[f],
            want,
            "{} unseals to something else after adopt + reseal",
            f.display()
        );
        assert_ne!(
            s.read(f.to_str().unwrap()),
            old_bytes[f],
            "{} was resealed by reseal (digest annotation added)",
            f.display()
        );
    }
    assert_kustomizations_resolve(&s);

    // No plaintext left, nothing tracked; a second reseal changes nothing; check passes.
    for f in snapshot(&s.work()).keys() {
        assert!(
            !f.to_string_lossy().ends_with(".secret.yaml"),
            "{} remains",
            f.display()
        );
    }
    git(&s, &["add", "-A"]);
    git(&s, &["commit", "-qm", "adopt"]);
    assert!(!git(&s, &["ls-files"]).contains(".secret.yaml"));
    reseal(&s);
    assert_eq!(
        git(&s, &["status", "--porcelain"]),
        "",
        "reseal is idempotent on mapped paths"
    );
    let check = s
        .ours()
        .age_key_file(&key_a())
        .args(["check", "--require-decrypt"])
        .run();
    assert_eq!(check.code, Some(0), "{check}");
    // Adopting again (even without the key) finds everything adopted and changes nothing.
    let again = adopt(&s, &["--yes"]);
    assert_eq!(again.code, Some(0), "{again}");
    let out = again.stdout_str();
    assert!(!out.contains("sealed only"), "{out}");
    assert_eq!(out.matches(" exists: left alone").count(), 5, "{out}");
    assert_eq!(git(&s, &["status", "--porcelain"]), "");
}

#[test]
fn adopt_without_the_sealing_key_reports_sealed_only_secrets_and_leaves_them() {
    let s = user_repo();
    init(&s);
    let immich = "apps/immich/prod/immich-db-creds.sealed.yaml";
    let before = s.read(immich);
    let run = adopt(&s, &["--yes"]);
    assert_eq!(run.code, Some(0), "{run}");
    let out = run.stdout_str();
    assert!(
        out.contains("db/immich-db-creds in apps/immich/prod/immich-db-creds.sealed.yaml: sealed only, source missing"),
        "{out}"
    );
    assert!(!s.path("secrets/prod/db/immich-db-creds.yaml").exists());
    let cfg = String::from_utf8(s.read("overworld-secrets.yaml")).unwrap();
    assert!(!cfg.contains("immich"), "no mapping for it\n{cfg}");
    // Plaintext is listed, not deleted, without --delete-plaintext.
    assert!(s.path("apps/musmgr/prod/db.secret.yaml").exists());
    assert!(out.contains("apps/musmgr/prod/db.secret.yaml"), "{out}");
    reseal(&s);
    assert_eq!(
        s.read(immich),
        before,
        "reseal leaves the sealed-only file alone"
    );
    assert_kustomizations_resolve(&s);
}

#[test]
fn adopt_changes_nothing_without_confirmation_or_with_dry_run() {
    let s = user_repo();
    init(&s);
    let before = snapshot(&s.work());
    let refused = adopt(&s, &[]);
    assert_eq!(refused.code, Some(2), "{refused}");
    assert!(refused.stderr_str().contains("--yes"), "{refused}");
    let dry = adopt(&s, &["--dry-run", "--delete-plaintext", "--yes"]);
    assert_eq!(dry.code, Some(0), "{dry}");
    assert!(dry.stdout_str().contains("new SOPS sources"), "{dry}");
    assert_eq!(snapshot(&s.work()), before, "nothing written");
}

#[test]
fn adopt_move_uses_the_standard_layout_and_names_the_kustomization_edits() {
    let s = user_repo();
    let before = unsealed_by_oracle(&s);
    init(&s);
    let run = adopt(&s, &["--move", "--yes"]);
    assert_eq!(run.code, Some(0), "{run}");
    let out = run.stdout_str();
    assert!(
        out.contains("apps/musmgr/prod/kustomization.yaml: replace `db.sealed.yaml` with `../../../manifests/prod/sealed/db/psql-musmgr-creds.sealed.yaml`"),
        "{out}"
    );
    assert!(!String::from_utf8(s.read("overworld-secrets.yaml"))
        .unwrap()
        .contains("sealed_paths"));
    reseal(&s);
    // The new standard-layout file opens to what the old one did.
    let moved = "manifests/prod/sealed/db/psql-musmgr-creds.sealed.yaml";
    let run = s
        .oracle("unseal.py")
        .arg("--key")
        .arg(repo_root().join(SEALING_KEY))
        .arg(s.path(moved))
        .args(["-o", "json"])
        .run();
    assert_eq!(run.code, Some(0), "{run}");
    assert_eq!(
        run.stdout_str(),
        before[Path::new("apps/musmgr/prod/db.sealed.yaml")]
    );
}

#[test]
fn init_writes_rules_the_real_sops_follows_and_refuses_to_overwrite() {
    let s = Scratch::new();
    let inside = s.ours().args(["init", "--key-file", "keys/age.txt"]).run();
    assert_eq!(inside.code, Some(2), "{inside}");
    assert!(
        inside.stderr_str().contains("inside the repository"),
        "{inside}"
    );
    assert!(
        snapshot(&s.work()).is_empty(),
        "a refused init writes nothing"
    );

    init(&s);
    let id = s.home().join(".config/sops/age/keys.txt");
    // The real sops picks the rule from our .sops.yaml and the identity from its default place.
    s.write(
        "secrets/prod/app/creds.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n  namespace: app\nstringData:\n  token: TEST-ONLY-t0k3n\n",
    );
    s.sops()
        .args(["encrypt", "-i", "secrets/prod/app/creds.yaml"])
        .ok();
    let enc = String::from_utf8(s.read("secrets/prod/app/creds.yaml")).unwrap();
    assert!(
        enc.contains("name: creds") && !enc.contains("TEST-ONLY-t0k3n"),
        "{enc}"
    );
    let dec = s
        .sops()
        .env("XDG_CONFIG_HOME", s.home().join(".config"))
        .args(["decrypt", "secrets/prod/app/creds.yaml"])
        .ok();
    assert!(dec.stdout_str().contains("TEST-ONLY-t0k3n"));
    assert!(id.exists());

    let again = s.ours().args(["init", "--cluster", "prod"]).run();
    assert_eq!(again.code, Some(2), "{again}");
    assert!(again.stderr_str().contains("already exists"), "{again}");
}
