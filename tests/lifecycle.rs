//! The SOPS lifecycle commands — `edit`, `set`, `unset`, `updatekeys`, `rotate`, `exec-env`,
//! `exec-file` — and SSH recipients, checked against the real sops 3.11.0 (issue 8).
//!
//! Why it exists: these commands rewrite files people commit; "compatible" means the real sops
//! reads what we wrote (`sops decrypt`, `sops filestatus`, and `sops updatekeys` agreeing that a
//! file is up to date), we read what it wrote, unchanged values keep their ciphertext byte for
//! byte, and no plaintext is left on disk. Expected plaintexts come from the real sops doing the
//! same operation on a copy, never from our own idea of the result.
//! What it must never do: skip a check because a tool is missing (sops, ssh-keygen), or leave a
//! running child behind.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::util::{Run, Scratch};

/// Recipients of the TEST-ONLY identities a, b, c (tests/fixtures/sops/recipients.txt).
const A: &str = "age1ks8uufh9q0l3ae7vseg5pj3ns42kdfqd2jfz86sm8tp862wc5y8swyackd";
const B: &str = "age1cdrwk9r9p3qeatkhm0p9qyra2jk5834l8r38eyc2ml9l5d59wsfq3u2ccj";
const C: &str = "age1dqp0rh0q8t3nn6avvqmv8xajq88c7fec6ywcg4hfvq5w5dgd7evqcsvkc2";

const DOC: &str = "a: 1\nb:\n    - x\n    - \"y\"\nc:\n    d: e\n    f: 2.5\ntoken: s3cr3t-value\n";

/// A scratch dir with its own TMPDIR (so leftovers of temp files can be looked for) and the
/// identities of all three TEST-ONLY keys.
struct Env {
    s: Scratch,
    tmp: PathBuf,
    ids: PathBuf,
}

impl Env {
    fn new() -> Env {
        let s = Scratch::new();
        let tmp = s.home().join("tmp");
        std::fs::create_dir_all(&tmp).unwrap();
        let ids = s.identities(&["a", "b", "c"]);
        Env { s, tmp, ids }
    }

    fn ours(&self) -> crate::util::TestCommand {
        let mut c = self.s.ours();
        c.age_key_file(&self.ids).env("TMPDIR", &self.tmp);
        c
    }

    fn sops_with(&self, letters: &[&str]) -> crate::util::TestCommand {
        let mut c = self.s.sops();
        c.age_key_file(&self.s.identities(letters))
            .env("TMPDIR", &self.tmp);
        c
    }

    fn sops(&self) -> crate::util::TestCommand {
        self.sops_with(&["a", "b", "c"])
    }

    /// Writes `plain` to `rel` and has the real sops encrypt it in place for `recipients`.
    fn sops_encrypt(&self, rel: &str, plain: &str, recipients: &str) {
        self.s.write(rel, plain);
        self.sops()
            .args(["encrypt", "--age", recipients, "-i", rel])
            .ok();
    }

    fn decrypt_with_sops(&self, rel: &str) -> String {
        self.sops().args(["decrypt", rel]).ok().stdout_str()
    }

    fn assert_encrypted(&self, rel: &str) {
        let r = self.sops().args(["filestatus", rel]).ok();
        assert_eq!(r.stdout_str().trim(), r#"{"encrypted":true}"#, "{r}");
    }

    /// Nothing left in our TMPDIR: no plaintext temp file or dir survived.
    fn assert_tmp_empty(&self) {
        let left: Vec<_> = std::fs::read_dir(&self.tmp)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(left.is_empty(), "temporary files left behind: {left:?}");
    }

    fn text(&self, rel: &str) -> String {
        String::from_utf8(self.s.read(rel)).unwrap()
    }

    fn copy(&self, from: &str, to: &str) {
        std::fs::copy(self.s.path(from), self.s.path(to)).unwrap();
    }
}

/// The `key: ENC[...]` lines of a YAML file, by line, above the `sops:` block.
fn value_lines(text: &str) -> Vec<String> {
    text.lines()
        .take_while(|l| *l != "sops:")
        .map(str::to_string)
        .collect()
}

fn metadata_line<'a>(text: &'a str, key: &str) -> &'a str {
    text.lines()
        .find(|l| l.trim_start().starts_with(&format!("{key}:")))
        .unwrap_or_else(|| panic!("no {key} line"))
}

fn code(r: &Run) -> i32 {
    r.code.expect("exited normally")
}

#[test]
fn set_changes_only_that_value_and_sops_agrees() {
    let e = Env::new();
    e.sops_encrypt("f.yaml", DOC, A);
    e.copy("f.yaml", "theirs.yaml");
    let before = e.text("f.yaml");
    for (path, value) in [
        (r#"["c"]["d"]"#, r#""changed""#),
        (r#"["b"][7]"#, r#""appended""#),
        (r#"["new"]["k"]"#, r#"{"x":[1,true]}"#),
    ] {
        e.ours().args(["set", "f.yaml", path, value]).ok();
        e.sops().args(["set", "theirs.yaml", path, value]).ok();
    }
    e.assert_encrypted("f.yaml");
    assert_eq!(
        e.decrypt_with_sops("f.yaml"),
        e.decrypt_with_sops("theirs.yaml")
    );
    let (old, new) = (value_lines(&before), value_lines(&e.text("f.yaml")));
    // a, both list items, c.f and token keep their exact ENC[...] strings (SOPS.md §2.6); lines
    // move because the list grew, so look them up by content.
    for i in [0, 2, 3, 6, 7] {
        assert!(new.contains(&old[i]), "line {i} changed: {}", old[i]);
    }
    assert!(!new.contains(&old[5]), "c.d should have a new ciphertext");
    assert_ne!(
        metadata_line(&before, "mac"),
        metadata_line(&e.text("f.yaml"), "mac")
    );

    // --idempotent: same value, file untouched (not even the MAC).
    let snapshot = e.s.read("f.yaml");
    e.ours()
        .args([
            "set",
            "--idempotent",
            "f.yaml",
            r#"["c"]["d"]"#,
            r#""changed""#,
        ])
        .ok();
    assert_eq!(snapshot, e.s.read("f.yaml"));
    // --value-stdin, and a number becomes a float as with sops.
    e.ours()
        .args(["set", "--value-stdin", "f.yaml", r#"["a"]"#])
        .stdin("5")
        .ok();
    e.sops().args(["set", "theirs.yaml", r#"["a"]"#, "5"]).ok();
    assert_eq!(
        e.decrypt_with_sops("f.yaml"),
        e.decrypt_with_sops("theirs.yaml")
    );
    assert!(value_lines(&e.text("f.yaml"))[0].ends_with("type:float]"));

    // Not JSON: sops's exit 7 and text, nothing written, value not echoed.
    let bad = e.ours().args(["set", "f.yaml", r#"["a"]"#, "s3cr3t"]).run();
    let theirs = e
        .sops()
        .args(["set", "theirs.yaml", r#"["a"]"#, "s3cr3t"])
        .run();
    assert_eq!(code(&bad), code(&theirs), "{bad}\n{theirs}");
    assert!(bad
        .stderr_str()
        .contains("Value for --set is not valid JSON"));
    assert!(!bad.stderr_str().contains("s3cr3t"));
}

#[test]
fn unset_matches_sops_including_errors() {
    let e = Env::new();
    e.sops_encrypt("f.yaml", DOC, A);
    e.copy("f.yaml", "theirs.yaml");
    let before = e.text("f.yaml");
    for path in [r#"["b"][0]"#, r#"["c"]["d"]"#] {
        e.ours().args(["unset", "f.yaml", path]).ok();
        e.sops().args(["unset", "theirs.yaml", path]).ok();
    }
    e.assert_encrypted("f.yaml");
    assert_eq!(
        e.decrypt_with_sops("f.yaml"),
        e.decrypt_with_sops("theirs.yaml")
    );
    let new = e.text("f.yaml");
    assert_eq!(value_lines(&before)[0], value_lines(&new)[0], "a unchanged");
    assert!(new.contains(metadata_line(&before, "token")));

    for (path, text) in [
        (r#"["zz"]"#, "Key not found: zz"),
        (r#"["b"][9]"#, "Index 9 out of bounds"),
    ] {
        let ours = e.ours().args(["unset", "f.yaml", path]).run();
        let theirs = e.sops().args(["unset", "theirs.yaml", path]).run();
        assert_eq!(code(&ours), code(&theirs), "{ours}\n{theirs}");
        assert!(ours.stderr_str().contains(text), "{ours}");
    }
    let snapshot = e.s.read("f.yaml");
    e.ours()
        .args(["unset", "--idempotent", "f.yaml", r#"["zz"]"#])
        .ok();
    assert_eq!(snapshot, e.s.read("f.yaml"));
}

/// An `EDITOR` script: runs `body` with the temp file as $1 and records the path it was given.
fn editor(e: &Env, name: &str, body: &str) -> PathBuf {
    let p = e.s.home().join(name);
    let log = e.s.home().join(format!("{name}.path"));
    std::fs::write(
        &p,
        format!("#!/bin/sh\necho \"$1\" > '{}'\n{body}\n", log.display()),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    p
}

#[test]
fn edit_keeps_unchanged_ciphertexts_and_cleans_up() {
    let e = Env::new();
    e.sops_encrypt("f.yaml", DOC, A);
    let before = e.text("f.yaml");
    // The temp file must be private while the editor runs.
    let ed = editor(
        &e,
        "ed.sh",
        "stat -c '%a' \"$1\" \"$(dirname \"$1\")\" > \"$HOME/modes\"\nsed -i 's/d: e/d: edited/' \"$1\"",
    );
    e.ours().env("EDITOR", &ed).args(["edit", "f.yaml"]).ok();
    let modes = std::fs::read_to_string(e.s.home().join("modes")).unwrap();
    assert_eq!(modes.split_whitespace().collect::<Vec<_>>(), ["600", "700"]);
    e.assert_encrypted("f.yaml");
    assert_eq!(
        e.decrypt_with_sops("f.yaml"),
        DOC.replace("d: e", "d: edited")
    );
    let (old, new) = (value_lines(&before), value_lines(&e.text("f.yaml")));
    assert_eq!(old.len(), new.len());
    for i in 0..old.len() {
        if i == 5 {
            assert_ne!(old[i], new[i]);
        } else {
            assert_eq!(old[i], new[i], "line {i} changed");
        }
    }
    e.assert_tmp_empty();

    // Saved unchanged: exit 200, file untouched. SOPS_EDITOR wins over EDITOR.
    let snapshot = e.s.read("f.yaml");
    let noop = editor(&e, "noop.sh", "true");
    let r = e
        .ours()
        .env("SOPS_EDITOR", &noop)
        .env("EDITOR", &ed)
        .args(["edit", "f.yaml"])
        .run();
    assert_eq!(code(&r), 200, "{r}");
    assert!(r.stderr_str().contains("File has not changed, exiting."));
    assert_eq!(snapshot, e.s.read("f.yaml"));

    // Invalid YAML, not on a terminal: refused, nothing written, nothing left.
    let bad = editor(&e, "bad.sh", "printf 'a: [\\n' > \"$1\"");
    let r = e.ours().env("EDITOR", &bad).args(["edit", "f.yaml"]).run();
    assert_ne!(code(&r), 0, "{r}");
    assert!(r.stderr_str().contains("not valid yaml"), "{r}");
    assert_eq!(snapshot, e.s.read("f.yaml"));
    e.assert_tmp_empty();

    // A file the real sops edited (its own editor flow) is read by us.
    let sed = editor(&e, "sops-ed.sh", "sed -i 's/a: 1/a: 2/' \"$1\"");
    e.sops().env("EDITOR", &sed).args(["edit", "f.yaml"]).ok();
    let ours = e.ours().args(["decrypt", "f.yaml"]).ok();
    assert_eq!(ours.stdout_str(), e.decrypt_with_sops("f.yaml"));
    assert!(ours.stdout_str().starts_with("a: 2\n"));
}

#[test]
fn edit_creates_a_new_file_from_the_matching_rule() {
    let e = Env::new();
    e.s.write(
        ".sops.yaml",
        format!(
            "creation_rules:\n  - path_regex: ^k8s/\n    encrypted_regex: ^(data|stringData)$\n    age: {B}\n  - age: {A}\n"
        ),
    );
    let ed = editor(
        &e,
        "new.sh",
        "printf 'kind: Secret\\nstringData:\\n    pw: hunter2\\n' > \"$1\"",
    );
    e.ours()
        .env("EDITOR", &ed)
        .args(["edit", "k8s/new.yaml"])
        .ok();
    e.assert_encrypted("k8s/new.yaml");
    let text = e.text("k8s/new.yaml");
    assert!(text.contains(B) && !text.contains(A), "rule 0's recipient");
    assert!(text.starts_with("kind: Secret\n"), "kind stays plain");
    assert!(text.contains("encrypted_regex: ^(data|stringData)$"));
    let r = e.sops_with(&["b"]).args(["decrypt", "k8s/new.yaml"]).ok();
    assert_eq!(
        r.stdout_str(),
        "kind: Secret\nstringData:\n    pw: hunter2\n"
    );
    // The real sops agrees the file already matches its rule.
    let up = e.sops().args(["updatekeys", "-y", "k8s/new.yaml"]).ok();
    assert!(up.stderr_str().contains("already up to date"), "{up}");
    e.assert_tmp_empty();
}

#[test]
fn edit_removes_the_plaintext_on_sigterm() {
    let e = Env::new();
    e.sops_encrypt("f.yaml", DOC, A);
    let snapshot = e.s.read("f.yaml");
    let ed = editor(&e, "slow.sh", "sleep 30");
    let log = e.s.home().join("slow.sh.path");
    let child = Command::new(crate::util::ours_bin())
        .args(["edit", "f.yaml"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", e.s.home())
        .env("TMPDIR", &e.tmp)
        .env("SOPS_AGE_KEY_FILE", &e.ids)
        .env("EDITOR", &ed)
        .current_dir(e.s.work())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the editor has the plaintext file open.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let temp = loop {
        if let Ok(p) = std::fs::read_to_string(&log) {
            if !p.trim().is_empty() {
                break PathBuf::from(p.trim());
            }
        }
        assert!(std::time::Instant::now() < deadline, "editor never started");
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert!(temp.exists());
    let pid = child.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(143),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!temp.exists(), "plaintext temp file survived SIGTERM");
    e.assert_tmp_empty();
    assert_eq!(snapshot, e.s.read("f.yaml"));
}

/// The part of a YAML SOPS file that `updatekeys` must not touch: values, lastmodified, mac,
/// version.
fn untouched_parts(text: &str) -> (Vec<String>, String, String, String) {
    (
        value_lines(text),
        metadata_line(text, "lastmodified").to_string(),
        metadata_line(text, "mac").to_string(),
        metadata_line(text, "version").to_string(),
    )
}

#[test]
fn updatekeys_brings_a_whole_tree_to_its_rules() {
    let e = Env::new();
    // Files made by the real sops for A only; the rules now demand other keys.
    e.sops_encrypt("secrets/app/one.yaml", DOC, A);
    e.sops_encrypt("secrets/app/two.json", "{\"k\": \"v\", \"n\": 1}", A);
    e.sops_encrypt("secrets/shared/three.yaml", DOC, &format!("{A},{B}"));
    e.sops_encrypt("secrets/shared/four.env", "K=v\n", A);
    e.s.write("secrets/app/plain.yaml", "not: sops\n");
    e.s.write("secrets/README.md", "docs\n");
    e.s.write(
        ".sops.yaml",
        format!(
            "creation_rules:\n  - path_regex: ^secrets/shared/\n    shamir_threshold: 2\n    key_groups:\n      - age: [{A}]\n      - age: [{B}, {C}]\n  - path_regex: ^secrets/\n    age: {B},{C}\n"
        ),
    );
    let files = [
        "secrets/app/one.yaml",
        "secrets/app/two.json",
        "secrets/shared/three.yaml",
        "secrets/shared/four.env",
    ];
    let plain: Vec<String> = files.iter().map(|f| e.decrypt_with_sops(f)).collect();
    let before: Vec<Vec<u8>> = files.iter().map(|f| e.s.read(f)).collect();

    // Without a terminal and without --yes: shows the plan, refuses, writes nothing.
    let r = e.ours().args(["updatekeys", "secrets"]).run();
    assert_ne!(code(&r), 0, "{r}");
    assert!(r.stderr_str().contains("--yes"), "{r}");
    assert!(r.stdout_str().contains(&format!("+++ {C}")), "{r}");
    for (f, b) in files.iter().zip(&before) {
        assert_eq!(&e.s.read(f), b, "{f} written without confirmation");
    }

    let r = e.ours().args(["updatekeys", "-y", "secrets"]).ok();
    let plan = r.stdout_str();
    assert!(plan.contains(&format!("--- {A}")), "{r}");
    assert!(plan.contains("+++ shamir_threshold: 2"), "{r}");
    for (i, f) in files.iter().enumerate() {
        e.assert_encrypted(f);
        assert_eq!(e.decrypt_with_sops(f), plain[i], "{f}");
        // The real sops sees nothing left to do for any file.
        let up = e.sops().args(["updatekeys", "-y", f]).ok();
        assert!(up.stderr_str().contains("already up to date"), "{f}\n{up}");
    }
    // The app files are now readable by B alone, and no longer by A.
    e.sops_with(&["b"])
        .args(["decrypt", "secrets/app/one.yaml"])
        .ok();
    let r = e
        .sops_with(&["a"])
        .args(["decrypt", "secrets/app/one.yaml"])
        .run();
    assert_eq!(code(&r), 128, "{r}");
    // Shamir 2-of-2 took effect: A alone or C alone is not enough, A+C is.
    for (keys, ok) in [
        (&["a"][..], false),
        (&["c"][..], false),
        (&["a", "c"][..], true),
    ] {
        let r = e
            .sops_with(keys)
            .args(["decrypt", "secrets/shared/three.yaml"])
            .run();
        assert_eq!(code(&r) == 0, ok, "{keys:?}\n{r}");
    }
    // Values, MAC, lastmodified and version are untouched (YAML files checked line by line).
    for (i, f) in files.iter().enumerate() {
        if f.ends_with(".yaml") {
            let old = String::from_utf8(before[i].clone()).unwrap();
            assert_eq!(untouched_parts(&old), untouched_parts(&e.text(f)), "{f}");
        }
    }
    assert_eq!(e.s.read("secrets/app/plain.yaml"), b"not: sops\n");

    // A second run changes nothing, byte for byte.
    let after: Vec<Vec<u8>> = files.iter().map(|f| e.s.read(f)).collect();
    let r = e.ours().args(["updatekeys", "secrets"]).ok();
    assert!(r.stderr_str().contains("already up to date"), "{r}");
    assert!(
        !r.stderr_str().contains("selects values differently"),
        "{r}"
    );
    for (f, b) in files.iter().zip(&after) {
        assert_eq!(&e.s.read(f), b, "{f} rewritten although up to date");
    }
    // A selection change in the rule cannot be applied by re-keying: said, not silently ignored.
    e.s.write(
        ".sops.yaml",
        format!("creation_rules:\n  - encrypted_regex: ^token$\n    age: {B},{C}\n"),
    );
    let r = e
        .ours()
        .args(["updatekeys", "-y", "secrets/app/one.yaml"])
        .ok();
    assert!(r.stderr_str().contains("selects values differently"), "{r}");
    assert_eq!(e.s.read("secrets/app/one.yaml"), after[0]);
}

#[test]
fn files_sops_rotated_or_rekeyed_are_read_by_us() {
    let e = Env::new();
    e.sops_encrypt("f.yaml", DOC, A);
    e.s.write(".sops.yaml", format!("creation_rules:\n  - age: {A},{B}\n"));
    e.sops().args(["updatekeys", "-y", "f.yaml"]).ok();
    e.sops().args(["rotate", "-i", "f.yaml"]).ok();
    e.sops()
        .args(["set", "f.yaml", r#"["c"]["d"]"#, r#""by-sops""#])
        .ok();
    let want = e.decrypt_with_sops("f.yaml");
    for keys in [&["a"][..], &["b"][..]] {
        let ids = e.s.identities(keys);
        let r =
            e.s.ours()
                .age_key_file(&ids)
                .args(["decrypt", "f.yaml"])
                .ok();
        assert_eq!(r.stdout_str(), want);
    }
}

#[test]
fn rotate_makes_a_new_data_key_and_keeps_ivs() {
    let e = Env::new();
    e.sops_encrypt("f.yaml", DOC, A);
    let before = e.text("f.yaml");
    e.ours()
        .args(["rotate", "-i", "--add-age", B, "--rm-age", A, "f.yaml"])
        .ok();
    let after = e.text("f.yaml");
    e.assert_encrypted("f.yaml");
    assert_eq!(
        e.sops_with(&["b"])
            .args(["decrypt", "f.yaml"])
            .ok()
            .stdout_str(),
        DOC
    );
    let r = e.sops_with(&["a"]).args(["decrypt", "f.yaml"]).run();
    assert_eq!(code(&r), 128, "A was removed\n{r}");
    let iv = |l: &str| l.split(",iv:").nth(1).map(|s| s[..44].to_string());
    let data = |l: &str| {
        l.split("data:")
            .nth(1)
            .map(|s| s.split(',').next().unwrap().to_string())
    };
    let (old, new) = (value_lines(&before), value_lines(&after));
    let mut encrypted = 0;
    for (o, n) in old.iter().zip(&new) {
        if o.contains("ENC[") {
            encrypted += 1;
            assert_eq!(iv(o), iv(n), "IV re-used (SOPS.md §2.6)");
            assert_ne!(
                (data(o), o.split("tag:").nth(1)),
                (data(n), n.split("tag:").nth(1)),
                "new data key ⇒ new ciphertext or tag"
            );
        }
    }
    assert_eq!(encrypted, 6);
    // Without -i the rotated file goes to stdout and the file stays as it is.
    let snapshot = e.s.read("f.yaml");
    let out = e.ours().args(["rotate", "f.yaml"]).ok();
    assert_eq!(snapshot, e.s.read("f.yaml"));
    e.s.write("rotated.yaml", &out.stdout);
    assert_eq!(e.decrypt_with_sops("rotated.yaml"), DOC);
}

fn ssh_keygen(e: &Env, kind: &str) -> (PathBuf, String) {
    let key = e.s.home().join(format!("id_{kind}"));
    let mut args = vec!["-q", "-t", kind, "-N", "", "-C", "TEST-ONLY"];
    if kind == "rsa" {
        args.extend(["-b", "2048"]);
    }
    let st = Command::new("ssh-keygen")
        .args(&args)
        .arg("-f")
        .arg(&key)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .expect(
            "ssh-keygen is needed for the SSH recipient tests (apt-get install openssh-client)",
        );
    assert!(st.success());
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    (key, public.trim().to_string())
}

fn ssh_only(e: &Env, mut c: crate::util::TestCommand, key: &Path) -> crate::util::TestCommand {
    c.env_remove("SOPS_AGE_KEY_FILE")
        .env("SOPS_AGE_SSH_PRIVATE_KEY_FILE", key)
        .env("TMPDIR", &e.tmp);
    c
}

#[test]
fn ssh_recipients_work_both_ways() {
    let e = Env::new();
    for kind in ["ed25519", "rsa"] {
        let (key, public) = ssh_keygen(&e, kind);
        // sops encrypts to the SSH key, we decrypt with it.
        let theirs = format!("theirs-{kind}.yaml");
        e.sops_encrypt(&theirs, DOC, &public);
        let r = ssh_only(&e, e.s.ours(), &key)
            .args(["decrypt", &theirs])
            .ok();
        assert_eq!(r.stdout_str(), DOC);
        // We encrypt to it, sops decrypts with it.
        let ours = format!("ours-{kind}.yaml");
        e.s.write(&ours, DOC);
        e.ours()
            .args(["encrypt", "--age", &public, "-i", &ours])
            .ok();
        let r = ssh_only(&e, e.s.sops(), &key).args(["decrypt", &ours]).ok();
        assert_eq!(r.stdout_str(), DOC);
        // rotate to an SSH recipient and updatekeys to one; sops reads both.
        e.sops_encrypt("r.yaml", DOC, A);
        e.ours()
            .args([
                "rotate",
                "-i",
                "--add-age",
                &public,
                "--rm-age",
                A,
                "r.yaml",
            ])
            .ok();
        let r = ssh_only(&e, e.s.sops(), &key)
            .args(["decrypt", "r.yaml"])
            .ok();
        assert_eq!(r.stdout_str(), DOC);
        e.sops_encrypt("u.yaml", DOC, A);
        e.s.write(
            ".sops.yaml",
            format!("creation_rules:\n  - age: '{public}'\n"),
        );
        e.ours().args(["updatekeys", "-y", "u.yaml"]).ok();
        let r = ssh_only(&e, e.s.sops(), &key)
            .args(["decrypt", "u.yaml"])
            .ok();
        assert_eq!(r.stdout_str(), DOC);
        // And ~/.ssh/id_<kind> is found without any variable, as sops does.
        let ssh_dir = e.s.home().join(".ssh");
        std::fs::create_dir_all(&ssh_dir).unwrap();
        std::fs::copy(&key, ssh_dir.join(format!("id_{kind}"))).unwrap();
        let mut c = e.s.ours();
        c.args(["decrypt", "u.yaml"]);
        assert_eq!(c.ok().stdout_str(), DOC);
        std::fs::remove_file(ssh_dir.join(format!("id_{kind}"))).unwrap();
        std::fs::remove_file(e.s.path(".sops.yaml")).unwrap();
    }
}

#[test]
fn exec_env_and_exec_file_pass_values_and_leave_nothing() {
    let e = Env::new();
    let doc = "f1: 1.5\nf2: 3.0\nf3: 1e21\nb: true\ni: 42\nn: null\ns: s3cr3t\n";
    e.sops_encrypt("f.yaml", doc, A);
    let show = "for v in f1 f2 f3 b i n s; do eval echo \"$v=\\${$v-unset}\"; done";
    let ours = e.ours().args(["exec-env", "f.yaml", show]).ok();
    let theirs = e.sops().args(["exec-env", "f.yaml", show]).ok();
    assert_eq!(ours.stdout_str(), theirs.stdout_str());
    assert!(ours.stdout_str().contains("s=s3cr3t"));
    // --pristine: only the file's values (PATH is gone, so use the shell's builtins only).
    let r = e
        .ours()
        .args([
            "exec-env",
            "--pristine",
            "f.yaml",
            "echo \"[${HOME-none}]\"",
        ])
        .ok();
    assert_eq!(r.stdout_str(), "[none]\n");
    // The child's exit status is ours; argv form without a shell works too.
    let r = e.ours().args(["exec-env", "f.yaml", "exit 7"]).run();
    assert_eq!(code(&r), 7, "{r}");
    e.ours()
        .args(["exec-env", "f.yaml", "--", "test", "-n", "x"])
        .ok();
    // Nested values are refused, as by sops.
    e.sops_encrypt("nested.yaml", "a: {b: c}\n", A);
    let r = e.ours().args(["exec-env", "nested.yaml", "true"]).run();
    assert_ne!(code(&r), 0);
    assert!(r.stderr_str().contains("complex value"), "{r}");

    // exec-file: a FIFO by default, a 0600 file with --no-fifo; the content is sops's plaintext.
    let want = e.decrypt_with_sops("f.yaml");
    for extra in [&[][..], &["--no-fifo"][..]] {
        let mut c = e.ours();
        c.arg("exec-file").args(extra.iter().copied());
        c.args(["f.yaml", "cat {}; stat -c %a {} > \"$HOME/mode\""]);
        let r = c.ok();
        assert_eq!(r.stdout_str(), want);
        let mode = std::fs::read_to_string(e.s.home().join("mode")).unwrap();
        assert_eq!(mode.trim(), "600");
        e.assert_tmp_empty();
    }
    let r = e
        .ours()
        .args([
            "exec-file",
            "--output-type",
            "json",
            "--filename",
            "x.json",
            "f.yaml",
            "--",
            "sh",
            "-c",
            "basename \"$1\"; cat \"$1\"",
            "sh",
            "{}",
        ])
        .ok();
    assert!(
        r.stdout_str().starts_with("x.json\n{\n\t\"f1\": 1.5"),
        "{r}"
    );
    // A command that never opens the FIFO, and one that fails: no hang, status passed on.
    let r = e.ours().args(["exec-file", "f.yaml", "exit 3"]).run();
    assert_eq!(code(&r), 3, "{r}");
    e.assert_tmp_empty();
}

#[test]
fn set_and_edit_other_stores_match_sops() {
    let e = Env::new();
    let cases = [
        (
            "f.json",
            "{\n\t\"a\": \"x\",\n\t\"n\": 1.5,\n\t\"l\": [\n\t\t\"p\",\n\t\t\"q\"\n\t]\n}\n",
        ),
        ("f.env", "A=x\nB=y\n"),
        ("f.ini", "[s]\na = x\nb = y\n"),
    ];
    for (name, plain) in cases {
        e.sops_encrypt(name, plain, A);
        let theirs = format!("theirs-{name}");
        e.copy(name, &theirs);
        let path = if name.ends_with(".ini") {
            r#"["s"]["a"]"#
        } else if name.ends_with(".env") {
            r#"["A"]"#
        } else {
            r#"["a"]"#
        };
        e.ours().args(["set", name, path, r#""changed""#]).ok();
        e.sops().args(["set", &theirs, path, r#""changed""#]).ok();
        e.assert_encrypted(name);
        assert_eq!(
            e.decrypt_with_sops(name),
            e.decrypt_with_sops(&theirs),
            "{name}"
        );
        // An edit through an EDITOR script, compared with sops running the same script.
        let ed = editor(&e, "up.sh", "sed -i 's/changed/edited/' \"$1\"");
        e.ours().env("EDITOR", &ed).args(["edit", name]).ok();
        e.sops().env("EDITOR", &ed).args(["edit", &theirs]).ok();
        assert_eq!(
            e.decrypt_with_sops(name),
            e.decrypt_with_sops(&theirs),
            "{name}"
        );
        assert!(e.decrypt_with_sops(name).contains("edited"), "{name}");
    }
    // Binary files: the whole content is one value.
    e.sops_encrypt("blob.bin", "line one\nline two\n", A);
    let ed = editor(&e, "bin.sh", "sed -i 's/two/2/' \"$1\"");
    e.ours().env("EDITOR", &ed).args(["edit", "blob.bin"]).ok();
    assert_eq!(e.decrypt_with_sops("blob.bin"), "line one\nline 2\n");
    e.assert_tmp_empty();
}

/// Runs our binary on a pseudo-terminal (util-linux `script`), typing `input`, so the
/// interactive paths (confirmation, re-open offer) are exercised as a user sees them.
fn on_terminal(e: &Env, args: &str, envs: &[(&str, &Path)], input: &str) -> Run {
    let cmd = format!("{} --no-color {args}", crate::util::ours_bin().display());
    let script = Command::new("script").arg("--version").output();
    assert!(
        script.is_ok(),
        "util-linux `script` is needed for the terminal tests"
    );
    let mut p = Command::new("script");
    p.args(["-qec", &cmd, "/dev/null"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", e.s.home())
        .env("TMPDIR", &e.tmp)
        .env("SOPS_AGE_KEY_FILE", &e.ids)
        .current_dir(e.s.work())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        p.env(k, v);
    }
    let mut child = p.spawn().unwrap();
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    Run {
        description: format!("script -qec {cmd:?}"),
        code: out.status.code(),
        stdout: out.stdout,
        stderr: out.stderr,
    }
}

#[test]
fn interactive_confirmation_and_reopen_on_a_terminal() {
    let e = Env::new();
    e.sops_encrypt("f.yaml", DOC, A);
    e.s.write(".sops.yaml", format!("creation_rules:\n  - age: {C}\n"));
    // "n" leaves the file alone; "y" applies.
    let before = e.s.read("f.yaml");
    let r = on_terminal(&e, "updatekeys f.yaml", &[], "n\n");
    assert!(r.stdout_str().contains("Is this okay? (y/n):"), "{r}");
    assert_eq!(before, e.s.read("f.yaml"), "{r}");
    let r = on_terminal(&e, "updatekeys f.yaml", &[], "y\n");
    assert_eq!(r.code, Some(0), "{r}");
    e.sops_with(&["c"]).args(["decrypt", "f.yaml"]).ok();

    // The first save is invalid: the editor is offered again and the fixed document is saved.
    let flag = e.s.home().join("second");
    let ed = editor(
        &e,
        "twice.sh",
        &format!(
            "if [ -e '{0}' ]; then printf 'a: fixed\\n' > \"$1\"; else printf 'a: [\\n' > \"$1\"; touch '{0}'; fi",
            flag.display()
        ),
    );
    let r = on_terminal(&e, "edit f.yaml", &[("EDITOR", &ed)], "y\n");
    assert_eq!(r.code, Some(0), "{r}");
    assert!(r.stdout_str().contains("Re-open the editor"), "{r}");
    assert_eq!(e.decrypt_with_sops("f.yaml"), "a: fixed\n");
    e.assert_tmp_empty();
}

#[test]
fn failures_write_nothing_and_keep_sops_exit_codes() {
    let e = Env::new();
    e.sops_encrypt("f.yaml", DOC, A);
    // A tampered MAC: rotate and set refuse with sops's 51, the file stays as it was.
    let text = e.text("f.yaml");
    let mac = metadata_line(&text, "mac");
    let pos = mac.find("data:").unwrap() + 5;
    let flipped = if &mac[pos..pos + 1] == "A" { "B" } else { "A" };
    let bad_mac = format!("{}{flipped}{}", &mac[..pos], &mac[pos + 1..]);
    e.s.write("f.yaml", text.replace(mac, &bad_mac));
    let snapshot = e.s.read("f.yaml");
    for args in [
        &["rotate", "-i", "f.yaml"][..],
        &["set", "f.yaml", r#"["a"]"#, "2"][..],
    ] {
        let r = e.ours().args(args.iter().copied()).run();
        assert_eq!(code(&r), 51, "{r}");
        assert_eq!(snapshot, e.s.read("f.yaml"));
    }
    let r = e
        .ours()
        .args(["rotate", "-i", "--ignore-mac", "f.yaml"])
        .ok();
    assert!(r.stderr_str().contains("rotated"));
    assert_eq!(e.decrypt_with_sops("f.yaml"), DOC);

    // updatekeys without a usable identity: 128, file untouched; with two such files the
    // failures are summed up.
    e.sops_encrypt("g.yaml", DOC, A);
    e.s.write(".sops.yaml", format!("creation_rules:\n  - age: {B}\n"));
    let before = (e.s.read("f.yaml"), e.s.read("g.yaml"));
    let only_c = e.s.identities(&["c"]);
    let r = e
        .ours()
        .age_key_file(&only_c)
        .args(["updatekeys", "-y", "f.yaml"])
        .run();
    assert_eq!(code(&r), 128, "{r}");
    let r = e
        .ours()
        .age_key_file(&only_c)
        .args(["updatekeys", "-y", "f.yaml", "g.yaml"])
        .run();
    assert_eq!(code(&r), 1, "{r}");
    assert!(r.stderr_str().contains("failed updating 2 file(s)"), "{r}");
    assert_eq!(before, (e.s.read("f.yaml"), e.s.read("g.yaml")));
    // A missing file is sops's 100.
    let r = e.ours().args(["set", "nope.yaml", r#"["a"]"#, "1"]).run();
    assert_eq!(code(&r), 100, "{r}");
}
