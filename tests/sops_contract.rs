//! The sops-compatible command-line contract, checked differentially: each scenario runs the same
//! command line, in identical scratch directories, once with our binary and once with the real sops,
//! and demands the same exit code (SOPS.md §11) and the same output bytes.
//!
//! Why it exists: scripts written for sops must keep working when they call us instead — exit codes,
//! where `.sops.yaml` is looked for, where identities come from, `--extract`, `--output`, `-i`.
//! Expectations come from running sops, never from constants typed here. What it must never do:
//! accept a failure that prints data to stdout or a plaintext value of the file anywhere.

use std::path::Path;

use crate::util::{first_difference, fixture, identity_file, Run, Scratch, TestCommand};

/// The case every scenario starts from: a flat YAML file for recipient a (tests/fixtures/sops).
const BASE_CASE: &str = "sops/cases/neg-base";

/// Plaintext values of the base case that must never appear in a failing run's output.
const BASE_SECRETS: &[&str] = &["alice", "correct horse battery staple", "admin", "audit"];

/// One side of a differential run: its scratch dir and the outcome.
struct Side {
    scratch: Scratch,
    run: Run,
}

/// Runs `args` with us and with sops, each in a fresh copy of the base case prepared by `setup`, with
/// identity a in `SOPS_AGE_KEY_FILE` unless `env` says otherwise.
fn differential(
    setup: impl Fn(&Scratch),
    args: &[&str],
    env: impl Fn(&Scratch, &mut TestCommand),
) -> (Side, Side) {
    let side = |ours: bool| {
        let scratch = Scratch::new();
        scratch.copy_case(&fixture(BASE_CASE));
        setup(&scratch);
        let mut cmd = if ours { scratch.ours() } else { scratch.sops() };
        cmd.args(args).age_key_file(&identity_file("a"));
        env(&scratch, &mut cmd);
        let run = cmd.run();
        Side { scratch, run }
    };
    (side(true), side(false))
}

fn no_setup(_: &Scratch) {}

fn default_env(_: &Scratch, _: &mut TestCommand) {}

/// Same exit code; on success the same stdout bytes; on failure nothing on stdout, a message on
/// stderr, and no plaintext value anywhere.
fn assert_same(ours: &Side, sops: &Side) {
    let (o, t) = (&ours.run, &sops.run);
    assert_eq!(o.code, t.code, "exit code differs from sops\n{t}\n\n{o}");
    if t.code == Some(0) {
        assert!(
            o.stdout == t.stdout,
            "stdout differs from sops ({})\n{t}\n\n{o}",
            first_difference(&t.stdout, &o.stdout)
        );
    } else {
        assert!(o.stdout.is_empty(), "a failing run wrote to stdout\n{o}");
        assert!(
            !o.stderr.is_empty(),
            "a failing run said nothing on stderr\n{o}"
        );
        let text = format!("{}{}", o.stdout_str(), o.stderr_str());
        for secret in BASE_SECRETS {
            assert!(
                !text.contains(secret),
                "a failing run printed {secret:?}\n{o}"
            );
        }
    }
}

fn assert_same_file(ours: &Side, sops: &Side, rel: &str) {
    let (o, t) = (ours.scratch.read(rel), sops.scratch.read(rel));
    assert!(
        o == t,
        "{rel} differs from sops's ({})",
        first_difference(&t, &o)
    );
}

/// `rel` (written by our encrypt) decrypts with the real sops to neg-base's expected plaintext.
fn assert_sops_reads(side: &Side, rel: &str) {
    let want = std::fs::read(fixture(BASE_CASE).join("expected.yaml")).expect("expected.yaml");
    let run = side
        .scratch
        .sops()
        .args(["decrypt", rel])
        .age_key_file(&identity_file("a"))
        .ok();
    assert!(
        run.stdout == want,
        "sops decrypt of {rel} != expected ({})\n{run}",
        first_difference(&want, &run.stdout)
    );
}

// ------------------------------------------------------------------------------------------------
// Exit codes (SOPS.md §11)

#[test]
fn decrypt_missing_file() {
    let (o, t) = differential(no_setup, &["decrypt", "missing.yaml"], default_env);
    assert_same(&o, &t);
}

#[test]
fn decrypt_empty_file() {
    let setup = |s: &Scratch| {
        s.write("empty.yaml", "");
    };
    let (o, t) = differential(setup, &["decrypt", "empty.yaml"], default_env);
    assert_same(&o, &t);
}

#[test]
fn encrypt_empty_file() {
    let setup = |s: &Scratch| {
        s.write("empty.yaml", "");
    };
    let (o, t) = differential(setup, &["encrypt", "empty.yaml"], default_env);
    assert_same(&o, &t);
}

#[test]
fn decrypt_plaintext_file() {
    let (o, t) = differential(no_setup, &["decrypt", "input.yaml"], default_env);
    assert_same(&o, &t);
}

#[test]
fn decrypt_unparsable_yaml() {
    let setup = |s: &Scratch| {
        s.write("bad.yaml", "a: [\n");
    };
    let (o, t) = differential(setup, &["decrypt", "bad.yaml"], default_env);
    assert_same(&o, &t);
}

#[test]
fn decrypt_unparsable_json() {
    let setup = |s: &Scratch| {
        s.write("bad.json", "{\"a\": \n");
    };
    let (o, t) = differential(setup, &["decrypt", "bad.json"], default_env);
    assert_same(&o, &t);
}

#[test]
fn encrypt_already_encrypted() {
    let (o, t) = differential(no_setup, &["encrypt", "encrypted.yaml"], default_env);
    assert_same(&o, &t);
}

#[test]
fn encrypt_without_config_or_recipients() {
    // No `.sops.yaml` anywhere up from the CWD and no --age (SOPS.md §9.3).
    let setup = |s: &Scratch| std::fs::remove_file(s.path(".sops.yaml")).expect("remove config");
    let (o, t) = differential(setup, &["encrypt", "input.yaml"], default_env);
    assert_same(&o, &t);
}

#[test]
fn decrypt_without_any_identity() {
    let env = |_: &Scratch, cmd: &mut TestCommand| {
        cmd.env_remove("SOPS_AGE_KEY_FILE");
    };
    let (o, t) = differential(no_setup, &["decrypt", "encrypted.yaml"], env);
    assert_same(&o, &t);
}

#[test]
fn decrypt_with_the_wrong_identity() {
    let env = |_: &Scratch, cmd: &mut TestCommand| {
        cmd.age_key_file(&identity_file("b"));
    };
    let (o, t) = differential(no_setup, &["decrypt", "encrypted.yaml"], env);
    assert_same(&o, &t);
}

#[test]
fn encrypt_unparsable_yaml() {
    let setup = |s: &Scratch| {
        s.write("bad.yaml", "a: [\n");
    };
    let (o, t) = differential(setup, &["encrypt", "bad.yaml"], default_env);
    assert_same(&o, &t);
}

#[test]
fn encrypt_dotenv_with_a_sops_key() {
    // For flat stores any `sops_` key marks the file as encrypted (SOPS.md §7.4).
    let setup = |s: &Scratch| {
        s.write("app.env", "A=1\nsops_x=2\n");
    };
    let (o, t) = differential(setup, &["encrypt", "app.env"], default_env);
    assert_same(&o, &t);
}

#[test]
fn decrypt_dotenv_without_metadata() {
    let setup = |s: &Scratch| {
        s.write("plain.env", "A=1\n");
    };
    let (o, t) = differential(setup, &["decrypt", "plain.env"], default_env);
    assert_same(&o, &t);
}

// ------------------------------------------------------------------------------------------------
// `.sops.yaml` (SOPS.md §9)

#[test]
fn encrypt_with_no_matching_creation_rule() {
    let setup = |s: &Scratch| {
        s.write(
            ".sops.yaml",
            format!(
                "creation_rules:\n  - path_regex: \\.json$\n    age: {}\n",
                recipient("a")
            ),
        );
    };
    let (o, t) = differential(setup, &["encrypt", "input.yaml"], default_env);
    assert_same(&o, &t);
}

#[test]
fn decrypt_with_an_unparsable_config() {
    // Every command reads the config for its `stores` section, so even decrypt fails (§9.1).
    let setup = |s: &Scratch| {
        s.write(".sops.yaml", "creation_rules: [\n");
    };
    let (o, t) = differential(setup, &["decrypt", "encrypted.yaml"], default_env);
    assert_same(&o, &t);
}

#[test]
fn decrypt_honours_the_stores_yaml_indent() {
    let setup = |s: &Scratch| {
        s.write(".sops.yaml", "stores:\n  yaml:\n    indent: 2\n");
    };
    let (o, t) = differential(setup, &["decrypt", "encrypted.yaml"], default_env);
    assert_eq!(
        t.run.code,
        Some(0),
        "sops itself failed: the scenario is wrong\n{}",
        t.run
    );
    assert_same(&o, &t);
}

#[test]
fn creation_rule_path_is_relative_to_the_config_dir() {
    // First match wins; `^sub/` matches although the CWD is `sub/` (SOPS.md §9.3 [observed]).
    let setup = |s: &Scratch| {
        s.write(
            ".sops.yaml",
            format!(
                "creation_rules:\n  - path_regex: ^sub/.*\\.yaml$\n    age: {}\n  - age: {}\n",
                recipient("b"),
                recipient("a")
            ),
        );
        s.write("sub/x.yaml", s.read("input.yaml"));
    };
    let in_sub = |s: &Scratch, cmd: &mut TestCommand| {
        cmd.current_dir(&s.path("sub"));
    };
    let (mut o, mut t) = differential(setup, &["encrypt", "x.yaml"], in_sub);
    assert_eq!(
        t.run.code,
        Some(0),
        "sops itself failed: the scenario is wrong\n{}",
        t.run
    );
    // The masked layout keeps recipients, so equality means the `^sub/` rule (b) was chosen.
    o.run.stdout = crate::sops_interop::mask("yaml", &o.run.stdout).into_bytes();
    t.run.stdout = crate::sops_interop::mask("yaml", &t.run.stdout).into_bytes();
    assert_same(&o, &t);
    assert!(t.run.stdout_str().contains(&recipient("b")));
}

fn recipient(letter: &str) -> String {
    // recipients.txt: a comment naming the key file, then its recipient.
    let text = std::fs::read_to_string(fixture("sops/recipients.txt")).expect("recipients.txt");
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.ends_with(&format!("test-key-{letter}.agekey")))
        .unwrap_or_else(|| panic!("no recipient {letter} in recipients.txt"));
    lines[at + 1].to_string()
}

// ------------------------------------------------------------------------------------------------
// --extract (SOPS.md §10)

#[test]
fn extract_bad_syntax() {
    let (o, t) = differential(
        no_setup,
        &["decrypt", "--extract", r#"["nope""#, "encrypted.yaml"],
        default_env,
    );
    assert_same(&o, &t);
}

#[test]
fn extract_missing_key() {
    let (o, t) = differential(
        no_setup,
        &["decrypt", "--extract", r#"["zz"]"#, "encrypted.yaml"],
        default_env,
    );
    assert_same(&o, &t);
}

#[test]
fn extract_string_leaf() {
    let (o, t) = differential(
        no_setup,
        &["decrypt", "--extract", r#"["password"]"#, "encrypted.yaml"],
        default_env,
    );
    assert_same(&o, &t);
}

#[test]
fn extract_list_item() {
    let (o, t) = differential(
        no_setup,
        &["decrypt", "--extract", r#"["roles"][1]"#, "encrypted.yaml"],
        default_env,
    );
    assert_same(&o, &t);
}

#[test]
fn extract_subtree() {
    let (o, t) = differential(
        no_setup,
        &["decrypt", "--extract", r#"["roles"]"#, "encrypted.yaml"],
        default_env,
    );
    assert_same(&o, &t);
}

// ------------------------------------------------------------------------------------------------
// Where output goes and which store writes it

#[test]
fn decrypt_to_output_file() {
    let (o, t) = differential(
        no_setup,
        &["decrypt", "--output", "out.yaml", "encrypted.yaml"],
        default_env,
    );
    assert_same(&o, &t);
    assert_same_file(&o, &t, "out.yaml");
}

#[test]
fn decrypt_in_place() {
    let (o, t) = differential(no_setup, &["decrypt", "-i", "encrypted.yaml"], default_env);
    assert_same(&o, &t);
    assert_same_file(&o, &t, "encrypted.yaml");
}

#[test]
fn decrypt_to_another_output_type() {
    let (o, t) = differential(
        no_setup,
        &["decrypt", "--output-type", "json", "encrypted.yaml"],
        default_env,
    );
    assert_same(&o, &t);
}

#[test]
fn decrypt_with_explicit_types() {
    // A YAML file under a name that says nothing about its store.
    let setup = |s: &Scratch| {
        s.write("secret.txt", s.read("encrypted.yaml"));
    };
    let args = [
        "decrypt",
        "--input-type",
        "yaml",
        "--output-type",
        "yaml",
        "secret.txt",
    ];
    let (o, t) = differential(setup, &args, default_env);
    assert_same(&o, &t);
}

#[test]
fn encrypt_to_output_file() {
    let (o, t) = differential(
        no_setup,
        &["encrypt", "--output", "enc.yaml", "input.yaml"],
        default_env,
    );
    assert_same(&o, &t);
    assert_sops_reads(&o, "enc.yaml");
}

#[test]
fn encrypt_in_place() {
    let (o, t) = differential(no_setup, &["encrypt", "-i", "input.yaml"], default_env);
    assert_same(&o, &t);
    assert_sops_reads(&o, "input.yaml");
}

#[test]
fn encrypt_output_and_in_place_conflict() {
    let args = ["encrypt", "-i", "--output", "x.yaml", "input.yaml"];
    let (o, t) = differential(no_setup, &args, default_env);
    assert_same(&o, &t);
}

#[test]
fn encrypt_finds_config_from_a_subdirectory() {
    // `.sops.yaml` is searched from the CWD upwards (SOPS.md §9.1).
    let (mut o, mut t) = differential(
        |s: &Scratch| std::fs::create_dir(s.path("sub")).expect("mkdir"),
        &["encrypt", "--output", "../enc.yaml", "../input.yaml"],
        |s: &Scratch, cmd: &mut TestCommand| {
            cmd.current_dir(&s.path("sub"));
        },
    );
    assert_same(&o, &t);
    assert_sops_reads(&o, "enc.yaml");
    // The layout matches too (same rules applied).
    o.run.stdout = crate::sops_interop::mask("yaml", &o.scratch.read("enc.yaml")).into_bytes();
    t.run.stdout = crate::sops_interop::mask("yaml", &t.scratch.read("enc.yaml")).into_bytes();
    assert_same(&o, &t);
}

#[test]
fn encrypt_from_stdin_with_filename_override() {
    let input = std::fs::read(fixture(BASE_CASE).join("input.yaml")).expect("input.yaml");
    let (o, t) = differential(
        no_setup,
        &["encrypt", "--filename-override", "x.yaml"],
        |_: &Scratch, cmd: &mut TestCommand| {
            cmd.stdin(input.clone());
        },
    );
    assert_eq!(o.run.code, t.run.code, "{}\n\n{}", t.run, o.run);
    o.scratch.write("x.yaml", &o.run.stdout);
    assert_sops_reads(&o, "x.yaml");
}

// ------------------------------------------------------------------------------------------------
// Selection-rule flags override `.sops.yaml` one by one (SOPS.md §9.3): the masked layout of our
// output must equal sops's, so the right leaves are encrypted.

fn check_selection_flag(flag: &str, value: &str) {
    let recipient_a = recipient("a");
    let args = ["encrypt", "--age", &recipient_a, flag, value, "input.yaml"];
    let (mut o, mut t) = differential(no_setup, &args, default_env);
    assert_eq!(o.run.code, Some(0), "{}", o.run);
    assert_eq!(t.run.code, Some(0), "{}", t.run);
    o.scratch.write("ours.yaml", &o.run.stdout);
    assert_sops_reads(&o, "ours.yaml");
    o.run.stdout = crate::sops_interop::mask("yaml", &o.run.stdout).into_bytes();
    t.run.stdout = crate::sops_interop::mask("yaml", &t.run.stdout).into_bytes();
    assert_same(&o, &t);
}

#[test]
fn encrypt_encrypted_regex_flag() {
    check_selection_flag("--encrypted-regex", "^pass");
}

#[test]
fn encrypt_unencrypted_regex_flag() {
    check_selection_flag("--unencrypted-regex", "^(username|roles)$");
}

#[test]
fn encrypt_encrypted_suffix_flag() {
    check_selection_flag("--encrypted-suffix", "word");
}

#[test]
fn encrypt_unencrypted_suffix_flag() {
    check_selection_flag("--unencrypted-suffix", "name");
}

#[test]
fn encrypt_shamir_threshold_flag() {
    // The 2-of-3 case's config, with the threshold raised to 3 on the command line.
    let case = fixture("sops/cases/yaml-shamir-2of3");
    let s = Scratch::new();
    s.copy_case(&case);
    let run = s
        .ours()
        .args([
            "encrypt",
            "--shamir-secret-sharing-threshold",
            "3",
            "input.yaml",
        ])
        .ok();
    s.write("ours.yaml", &run.stdout);
    let expected = std::fs::read(case.join("expected.yaml")).expect("expected.yaml");
    let abc = s.identities(&["a", "b", "c"]);
    let ok = s
        .sops()
        .args(["decrypt", "ours.yaml"])
        .age_key_file(&abc)
        .ok();
    assert!(
        ok.stdout == expected,
        "{}",
        first_difference(&expected, &ok.stdout)
    );
    let ab = s.identities(&["a", "b"]);
    let quorum = s
        .sops()
        .args(["decrypt", "ours.yaml"])
        .age_key_file(&ab)
        .run();
    assert_eq!(
        quorum.code,
        Some(128),
        "two shares opened a 3-of-3 file\n{quorum}"
    );
}

// ------------------------------------------------------------------------------------------------
// Identity sources (SOPS.md §6.3)

fn check_identity_source(place: impl Fn(&Scratch, &mut TestCommand)) {
    let env = |s: &Scratch, cmd: &mut TestCommand| {
        cmd.env_remove("SOPS_AGE_KEY_FILE");
        place(s, cmd);
    };
    let (o, t) = differential(no_setup, &["decrypt", "encrypted.yaml"], env);
    assert_eq!(
        t.run.code,
        Some(0),
        "sops itself failed: the scenario is wrong\n{}",
        t.run
    );
    assert_same(&o, &t);
}

fn key_a() -> String {
    std::fs::read_to_string(identity_file("a")).expect("key a")
}

#[test]
fn identity_from_sops_age_key() {
    check_identity_source(|_, cmd| {
        cmd.env("SOPS_AGE_KEY", key_a());
    });
}

#[test]
fn identity_from_sops_age_key_cmd() {
    check_identity_source(|_, cmd| {
        let line = format!("cat {}", identity_file("a").display());
        cmd.env("SOPS_AGE_KEY_CMD", line);
    });
}

#[test]
fn identity_from_home_config() {
    check_identity_source(|s, _| {
        write_keys_txt(&s.home().join(".config"));
    });
}

#[test]
fn identity_from_xdg_config_home() {
    check_identity_source(|s, cmd| {
        let xdg = s.home().join("xdg");
        write_keys_txt(&xdg);
        cmd.env("XDG_CONFIG_HOME", &xdg);
    });
}

#[test]
fn xdg_config_home_replaces_home_config() {
    // keys.txt under $HOME/.config is not read when XDG_CONFIG_HOME points elsewhere.
    let env = |s: &Scratch, cmd: &mut TestCommand| {
        cmd.env_remove("SOPS_AGE_KEY_FILE");
        write_keys_txt(&s.home().join(".config"));
        cmd.env("XDG_CONFIG_HOME", s.home().join("empty-xdg"));
    };
    let (o, t) = differential(no_setup, &["decrypt", "encrypted.yaml"], env);
    assert_same(&o, &t);
}

fn write_keys_txt(config_dir: &Path) {
    let dir = config_dir.join("sops").join("age");
    std::fs::create_dir_all(&dir).expect("mkdir keys dir");
    std::fs::write(dir.join("keys.txt"), key_a()).expect("write keys.txt");
    std::fs::set_permissions(
        dir.join("keys.txt"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .expect("chmod keys.txt");
}

// ------------------------------------------------------------------------------------------------
// filestatus (SOPS.md §10)

#[test]
fn filestatus_encrypted() {
    let (o, t) = differential(no_setup, &["filestatus", "encrypted.yaml"], default_env);
    assert_same(&o, &t);
}

#[test]
fn filestatus_plaintext() {
    let (o, t) = differential(no_setup, &["filestatus", "input.yaml"], default_env);
    assert_same(&o, &t);
}

#[test]
fn filestatus_missing_file() {
    let (o, t) = differential(no_setup, &["filestatus", "missing.yaml"], default_env);
    assert_same(&o, &t);
}
