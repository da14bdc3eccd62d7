//! SOPS interop in both directions, driven by `tests/fixtures/sops/cases.yaml` (files written by the
//! real sops 3.11.0, expectations observed with it).
//!
//! Why it exists: "compatible with sops" only means something when checked against sops itself. The
//! decrypt direction runs our `decrypt` on sops's files and demands sops's exit codes and sops's bytes;
//! the encrypt direction has the real sops read, re-key, rotate and edit what our `encrypt` wrote.
//! What it must never do: compare our output with our own expectations, or accept a failure that
//! leaks a plaintext value of the case into stdout or stderr.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use regex::Regex;
use serde::Deserialize;

use crate::util::{first_difference, fixture, Run, Scratch};

// ------------------------------------------------------------------------------------------------
// cases.yaml (fields described in tests/fixtures/sops/README.md)

#[derive(Debug, Deserialize)]
struct Index {
    recipients: std::collections::BTreeMap<String, String>,
    cases: Vec<Case>,
}

#[derive(Debug, Deserialize)]
struct Case {
    name: String,
    format: String,
    dir: String,
    input: Option<String>,
    encrypted: String,
    expected_plaintext: Option<String>,
    original: Option<String>,
    created_with: Option<CreatedWith>,
    decrypt_with: Vec<Vec<String>>,
    must_fail_with: Option<MustFail>,
    expect: Expect,
    with_ignore_mac: Option<Expect>,
    #[serde(default)]
    negative: bool,
}

#[derive(Debug, Deserialize)]
struct CreatedWith {
    commands: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct MustFail {
    identity_sets: Vec<Vec<String>>,
    exit_code: i32,
    stderr_contains: String,
}

#[derive(Debug, Deserialize)]
struct Expect {
    exit_code: i32,
    stdout_file: Option<String>,
    stderr_contains: Option<String>,
}

fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| {
        let path = fixture("sops/cases.yaml");
        let text = std::fs::read_to_string(&path).expect("read cases.yaml");
        serde_yaml_ng::from_str(&text).expect("parse cases.yaml")
    })
}

fn case(name: &str) -> &'static Case {
    index()
        .cases
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("case {name:?} is not in cases.yaml"))
}

impl Case {
    fn dir(&self) -> PathBuf {
        fixture("sops").join(&self.dir)
    }

    fn read(&self, file: &str) -> Vec<u8> {
        let path = self.dir().join(file);
        std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
    }

    /// `--age` recipients when the case was made with them on the command line (no `.sops.yaml`).
    fn age_flag(&self) -> Option<String> {
        let commands = &self.created_with.as_ref()?.commands;
        let words: Vec<&str> = commands.iter().flat_map(|c| c.split_whitespace()).collect();
        let at = words.iter().position(|w| *w == "--age")?;
        words.get(at + 1).map(|r| r.to_string())
    }

    fn has_config(&self) -> bool {
        self.dir().join(".sops.yaml").is_file()
    }

    /// Cases our encrypt can be checked on: a plaintext input, keys from `.sops.yaml` or `--age`,
    /// and sops's own decryption of the result to compare with.
    fn encrypt_eligible(&self) -> bool {
        !self.negative
            && self.input.is_some()
            && self.expected_plaintext.is_some()
            && (self.has_config() || self.age_flag().is_some())
    }

    fn ext(&self) -> &str {
        let input = self.input.as_deref().unwrap_or(&self.encrypted);
        Path::new(input)
            .extension()
            .and_then(|e| e.to_str())
            .expect("fixture file has an extension")
    }
}

// ------------------------------------------------------------------------------------------------
// One test function per case and direction, so failures name the case. `every_case_is_tested`
// keeps these lists equal to what cases.yaml holds.

macro_rules! case_tests {
    ($module:ident, $check:path, [$($test:ident => $name:literal),* $(,)?]) => {
        mod $module {
            pub(super) const NAMES: &[&str] = &[$($name),*];
            $(
                #[test]
                fn $test() {
                    $check($name);
                }
            )*
        }
    };
}

case_tests!(decrypt, super::check_decrypt, [
    k8s_secret_flux => "k8s-secret-flux",
    yaml_nested_types => "yaml-nested-types",
    yaml_unencrypted_suffix => "yaml-unencrypted-suffix",
    yaml_encrypted_suffix => "yaml-encrypted-suffix",
    yaml_unencrypted_regex => "yaml-unencrypted-regex",
    yaml_mac_only_encrypted => "yaml-mac-only-encrypted",
    yaml_mac_only_encrypted_plain_edit => "yaml-mac-only-encrypted-plain-edit",
    json_basic => "json-basic",
    dotenv_basic => "dotenv-basic",
    ini_basic => "ini-basic",
    binary_bytes => "binary-bytes",
    yaml_multidoc => "yaml-multidoc",
    yaml_two_recipients => "yaml-two-recipients",
    yaml_shamir_2of3 => "yaml-shamir-2of3",
    yaml_updatekeys_added_recipient => "yaml-updatekeys-added-recipient",
    yaml_rotated => "yaml-rotated",
    neg_base => "neg-base",
    neg_reencrypted_value_mac_mismatch => "neg-reencrypted-value-mac-mismatch",
    neg_unencrypted_value_edited => "neg-unencrypted-value-edited",
    neg_list_items_swapped => "neg-list-items-swapped",
    neg_ciphertext_bitflip => "neg-ciphertext-bitflip",
    neg_mac_tampered => "neg-mac-tampered",
    neg_lastmodified_changed => "neg-lastmodified-changed",
    neg_mac_emptied => "neg-mac-emptied",
    neg_unknown_recipient => "neg-unknown-recipient",
]);

case_tests!(encrypt, super::check_encrypt, [
    k8s_secret_flux => "k8s-secret-flux",
    yaml_nested_types => "yaml-nested-types",
    yaml_unencrypted_suffix => "yaml-unencrypted-suffix",
    yaml_encrypted_suffix => "yaml-encrypted-suffix",
    yaml_unencrypted_regex => "yaml-unencrypted-regex",
    yaml_mac_only_encrypted => "yaml-mac-only-encrypted",
    json_basic => "json-basic",
    dotenv_basic => "dotenv-basic",
    ini_basic => "ini-basic",
    binary_bytes => "binary-bytes",
    yaml_multidoc => "yaml-multidoc",
    yaml_two_recipients => "yaml-two-recipients",
    yaml_shamir_2of3 => "yaml-shamir-2of3",
    yaml_updatekeys_added_recipient => "yaml-updatekeys-added-recipient",
    yaml_rotated => "yaml-rotated",
    neg_base => "neg-base",
]);

case_tests!(encrypt_layout, super::check_encrypt_layout, [
    k8s_secret_flux => "k8s-secret-flux",
    yaml_nested_types => "yaml-nested-types",
    yaml_unencrypted_suffix => "yaml-unencrypted-suffix",
    yaml_encrypted_suffix => "yaml-encrypted-suffix",
    yaml_unencrypted_regex => "yaml-unencrypted-regex",
    yaml_mac_only_encrypted => "yaml-mac-only-encrypted",
    json_basic => "json-basic",
    dotenv_basic => "dotenv-basic",
    ini_basic => "ini-basic",
    binary_bytes => "binary-bytes",
    yaml_multidoc => "yaml-multidoc",
    yaml_two_recipients => "yaml-two-recipients",
    yaml_shamir_2of3 => "yaml-shamir-2of3",
    yaml_updatekeys_added_recipient => "yaml-updatekeys-added-recipient",
    yaml_rotated => "yaml-rotated",
    neg_base => "neg-base",
]);

// The sample on which the real sops edits our files (SOPS.md §10): one per store, plus the
// key-group and regex-rule cases where re-wrapping or re-encrypting could go wrong.
case_tests!(sops_rotates_ours, super::check_sops_rotates_ours, [
    yaml_nested_types => "yaml-nested-types",
    k8s_secret_flux => "k8s-secret-flux",
    yaml_shamir_2of3 => "yaml-shamir-2of3",
    json_basic => "json-basic",
    dotenv_basic => "dotenv-basic",
    ini_basic => "ini-basic",
    binary_bytes => "binary-bytes",
]);

case_tests!(sops_updatekeys_ours, super::check_sops_updatekeys_ours, [
    yaml_nested_types => "yaml-nested-types",
    json_basic => "json-basic",
    dotenv_basic => "dotenv-basic",
    ini_basic => "ini-basic",
    binary_bytes => "binary-bytes",
]);

case_tests!(sops_sets_in_ours, super::check_sops_sets_in_ours, [
    yaml_nested_types => "yaml-nested-types",
    k8s_secret_flux => "k8s-secret-flux",
    yaml_mac_only_encrypted => "yaml-mac-only-encrypted",
    json_basic => "json-basic",
    dotenv_basic => "dotenv-basic",
    ini_basic => "ini-basic",
]);

#[test]
fn every_case_is_tested() {
    let all: BTreeSet<&str> = index().cases.iter().map(|c| c.name.as_str()).collect();
    let eligible: BTreeSet<&str> = index()
        .cases
        .iter()
        .filter(|c| c.encrypt_eligible())
        .map(|c| c.name.as_str())
        .collect();
    let set = |names: &[&'static str]| names.iter().copied().collect::<BTreeSet<&str>>();
    assert_eq!(set(decrypt::NAMES), all, "decrypt tests vs cases.yaml");
    assert_eq!(
        set(encrypt::NAMES),
        eligible,
        "encrypt tests vs eligible cases"
    );
    assert_eq!(
        set(encrypt_layout::NAMES),
        eligible,
        "layout tests vs eligible cases"
    );
    for sample in [
        sops_rotates_ours::NAMES,
        sops_updatekeys_ours::NAMES,
        sops_sets_in_ours::NAMES,
    ] {
        assert!(
            set(sample).is_subset(&eligible),
            "{sample:?} must be encrypt-eligible"
        );
    }
    // Every store is exercised in both directions.
    let formats: BTreeSet<&str> = index().cases.iter().map(|c| c.format.as_str()).collect();
    let encrypted_formats: BTreeSet<&str> = index()
        .cases
        .iter()
        .filter(|c| c.encrypt_eligible())
        .map(|c| c.format.as_str())
        .collect();
    assert_eq!(formats, encrypted_formats);
}

// ------------------------------------------------------------------------------------------------
// Failures are collected per case and reported together: one broken identity set should not hide
// the state of the others.

#[derive(Default)]
struct Failures(Vec<String>);

impl Failures {
    fn check(&mut self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            self.0.push(what());
        }
    }

    fn finish(self, case: &str) {
        if !self.0.is_empty() {
            panic!(
                "case {case}: {} problem(s)\n\n{}",
                self.0.len(),
                self.0.join("\n\n==========\n\n")
            );
        }
    }
}

/// Checks a run against an `expect` block of cases.yaml. `plaintexts` are the case's values that
/// must not show up in the output of a failing run.
fn check_expect(f: &mut Failures, case: &Case, expect: &Expect, run: &Run, plaintexts: &[String]) {
    f.check(run.code == Some(expect.exit_code), || {
        format!("exit code {:?}, want {}\n{run}", run.code, expect.exit_code)
    });
    if let Some(file) = &expect.stdout_file {
        // Byte-exact for every store, INI included: the only random order in sops's INI output
        // is the `[sops]` section (SOPS.md §7.5), which decrypt does not print.
        let want = case.read(file);
        f.check(run.stdout == want, || {
            format!(
                "stdout differs from {file} ({})\n{run}",
                first_difference(&want, &run.stdout)
            )
        });
    }
    if let Some(text) = &expect.stderr_contains {
        f.check(run.stderr_str().contains(text.as_str()), || {
            format!("stderr lacks sops's text {text:?}\n{run}")
        });
    }
    if expect.exit_code != 0 {
        check_failure_is_quiet(f, run, plaintexts);
    }
}

/// A failing run prints no data and names no plaintext value of the file (positions and key names
/// are fine; STYLE.md "Secrets in memory").
fn check_failure_is_quiet(f: &mut Failures, run: &Run, plaintexts: &[String]) {
    f.check(run.stdout.is_empty(), || {
        format!("a failing run wrote data to stdout\n{run}")
    });
    let leaked = leaked_values(run, plaintexts);
    f.check(leaked.is_empty(), || {
        format!("a failing run printed plaintext value(s) {leaked:?}\n{run}")
    });
}

fn leaked_values(run: &Run, plaintexts: &[String]) -> Vec<String> {
    // Hex runs of 64+ digits are MACs and hashes (SHA-512 in "MAC mismatch", SOPS.md §11); masking
    // them keeps a short value such as "5432" from matching inside one by chance, while shorter
    // hex-looking values (tokens) stay searchable.
    static HEX: OnceLock<Regex> = OnceLock::new();
    let hex = HEX.get_or_init(|| Regex::new("[0-9A-Fa-f]{64,}").unwrap());
    let text = format!("{}\n{}", run.stdout_str(), run.stderr_str());
    let text = hex.replace_all(&text, "<hex>");
    plaintexts
        .iter()
        .filter(|v| text.contains(v.as_str()))
        .cloned()
        .collect()
}

// ------------------------------------------------------------------------------------------------
// Decrypt direction: our `decrypt` on sops's files.

fn check_decrypt(name: &str) {
    let case = case(name);
    let s = Scratch::new();
    s.copy_case(&case.dir());
    let plaintexts = secret_values(case, &s);
    let mut f = Failures::default();

    let mut failing_runs = 0;
    for set in &case.decrypt_with {
        let ids = s.identities(set);
        let run = s
            .ours()
            .arg("decrypt")
            .arg(&case.encrypted)
            .age_key_file(&ids)
            .run();
        check_expect(&mut f, case, &case.expect, &run, &plaintexts);
        failing_runs += usize::from(case.expect.exit_code != 0);

        if let Some(expect) = &case.with_ignore_mac {
            let run = s
                .ours()
                .args(["decrypt", "--ignore-mac"])
                .arg(&case.encrypted)
                .age_key_file(&ids)
                .run();
            check_expect(&mut f, case, expect, &run, &plaintexts);
        }
    }
    if let Some(must) = &case.must_fail_with {
        let expect = Expect {
            exit_code: must.exit_code,
            stdout_file: None,
            stderr_contains: Some(must.stderr_contains.clone()),
        };
        for set in &must.identity_sets {
            let ids = s.identities(set);
            let run = s
                .ours()
                .arg("decrypt")
                .arg(&case.encrypted)
                .age_key_file(&ids)
                .run();
            check_expect(&mut f, case, &expect, &run, &plaintexts);
            failing_runs += 1;
        }
    }
    if failing_runs > 0 {
        // Otherwise the leak check above would pass vacuously.
        assert!(
            !plaintexts.is_empty(),
            "case {name}: no plaintext values found to check for leaks"
        );
    }

    // filestatus needs no key and must answer exactly as sops does (SOPS.md §10).
    let theirs = s.sops().args(["filestatus", &case.encrypted]).run();
    let ours = s.ours().args(["filestatus", &case.encrypted]).run();
    f.check(
        ours.code == theirs.code && ours.stdout == theirs.stdout,
        || format!("filestatus differs from sops\n{theirs}\n\n{ours}"),
    );

    // Converting to another store on the way out (`--output-type`, SOPS.md §10) gives sops's
    // bytes too; run live, since the fixtures only hold same-store output.
    if case.expect.exit_code == 0 {
        let other = if case.format == "json" {
            "yaml"
        } else {
            "json"
        };
        let ids = s.identities(&case.decrypt_with[0]);
        let args = ["decrypt", "--output-type", other, case.encrypted.as_str()];
        let theirs = s.sops().args(args).age_key_file(&ids).run();
        let ours = s.ours().args(args).age_key_file(&ids).run();
        f.check(
            ours.code == theirs.code && ours.stdout == theirs.stdout,
            || {
                format!(
                    "decrypt --output-type {other} differs from sops ({})\n{theirs}\n\n{ours}",
                    first_difference(&theirs.stdout, &ours.stdout)
                )
            },
        );
    }
    f.finish(name);
}

/// The case's plaintext values (from its expected output, its input, its `--ignore-mac` output, and
/// the real sops's decryption of the untampered `original`), minus those too short to search for
/// and those the encrypted file shows in clear anyway (keys, unencrypted values).
fn secret_values(case: &Case, s: &Scratch) -> Vec<String> {
    let mut values = BTreeSet::new();
    let mut sources: Vec<Vec<u8>> = Vec::new();
    for file in [&case.expected_plaintext, &case.input]
        .into_iter()
        .flatten()
        .chain(
            case.with_ignore_mac
                .iter()
                .filter_map(|e| e.stdout_file.as_ref()),
        )
    {
        sources.push(case.read(file));
    }
    if let Some(original) = &case.original {
        let ids = s.identities(&["a", "b", "c"]);
        let run = s.sops().args(["decrypt", original]).age_key_file(&ids).ok();
        sources.push(run.stdout);
    }
    for source in &sources {
        plaintext_values(&case.format, source, &mut values);
    }
    let encrypted = String::from_utf8_lossy(&case.read(&case.encrypted)).into_owned();
    values
        .into_iter()
        .filter(|v| v.chars().count() >= 4 && !encrypted.contains(v.as_str()))
        .collect()
}

/// Values (and full-line comments, which sops encrypts too — SOPS.md §4) of a plaintext document.
fn plaintext_values(format: &str, bytes: &[u8], out: &mut BTreeSet<String>) {
    let text = String::from_utf8_lossy(bytes);
    match format {
        "yaml" => {
            for doc in serde_yaml_ng::Deserializer::from_str(&text) {
                let value =
                    serde_yaml_ng::Value::deserialize(doc).expect("fixture plaintext is YAML");
                yaml_values(&value, out);
            }
            comment_lines(&text, &["#"], out);
        }
        "json" => {
            let value: serde_json::Value =
                serde_json::from_str(&text).expect("fixture plaintext is JSON");
            json_values(&value, out);
        }
        "dotenv" => {
            comment_lines(&text, &["#"], out);
            for line in text.lines().filter(|l| !l.starts_with('#')) {
                if let Some((_, v)) = line.split_once('=') {
                    out.insert(v.to_string());
                }
            }
        }
        "ini" => {
            comment_lines(&text, &[";", "#"], out);
            for line in text.lines() {
                if let Some((_, v)) = line.split_once('=') {
                    out.insert(v.trim().to_string());
                }
            }
        }
        "binary" => {
            out.insert(text.into_owned());
        }
        other => panic!("unknown fixture format {other:?}"),
    }
}

fn comment_lines(text: &str, markers: &[&str], out: &mut BTreeSet<String>) {
    for line in text.lines() {
        let line = line.trim_start();
        if let Some(marker) = markers.iter().find(|m| line.starts_with(**m)) {
            out.insert(line[marker.len()..].trim().to_string());
        }
    }
}

fn yaml_values(value: &serde_yaml_ng::Value, out: &mut BTreeSet<String>) {
    use serde_yaml_ng::Value;
    match value {
        Value::String(s) => {
            // Block scalars: a leak of any one line counts.
            out.insert(s.clone());
            out.extend(s.lines().map(|l| l.trim().to_string()));
        }
        Value::Number(n) => {
            out.insert(n.to_string());
        }
        Value::Sequence(items) => items.iter().for_each(|v| yaml_values(v, out)),
        Value::Mapping(map) => map.values().for_each(|v| yaml_values(v, out)),
        Value::Tagged(tagged) => yaml_values(&tagged.value, out),
        Value::Null | Value::Bool(_) => {}
    }
}

fn json_values(value: &serde_json::Value, out: &mut BTreeSet<String>) {
    use serde_json::Value;
    match value {
        Value::String(s) => {
            out.insert(s.clone());
        }
        Value::Number(n) => {
            out.insert(n.to_string());
        }
        Value::Array(items) => items.iter().for_each(|v| json_values(v, out)),
        Value::Object(map) => map.values().for_each(|v| json_values(v, out)),
        Value::Null | Value::Bool(_) => {}
    }
}

// ------------------------------------------------------------------------------------------------
// Encrypt direction: the real sops reads what our `encrypt` writes.

/// Runs our `encrypt` on the case's input inside the copied case dir (so `.sops.yaml` is found from
/// the CWD, SOPS.md §9.1) and stores stdout as `ours.<ext>`. Returns that file name.
fn encrypt_with_ours(case: &Case, s: &Scratch) -> String {
    let out = format!("ours.{}", case.ext());
    let run = encrypt_command(case, s, false).ok();
    s.write(&out, &run.stdout);
    out
}

/// The same encrypt command for us or for sops (the CLI contract is sops's: flags before the file).
fn encrypt_command(case: &Case, s: &Scratch, with_sops: bool) -> crate::util::TestCommand {
    let mut cmd = if with_sops { s.sops() } else { s.ours() };
    cmd.arg("encrypt");
    if let Some(age) = case.age_flag() {
        cmd.args(["--age", &age]);
    }
    cmd.arg(case.input.as_deref().expect("eligible case has an input"));
    cmd
}

fn check_encrypt(name: &str) {
    let case = case(name);
    let s = Scratch::new();
    s.copy_case(&case.dir());
    let ours = encrypt_with_ours(case, &s);
    let expected = case.read(case.expected_plaintext.as_deref().unwrap());
    let mut f = Failures::default();

    let status = s.sops().args(["filestatus", &ours]).run();
    f.check(
        status.code == Some(0) && status.stdout == b"{\"encrypted\":true}\n",
        || format!("sops filestatus does not see our file as encrypted\n{status}"),
    );

    // Every identity set that opens sops's file opens ours, to the same bytes; every set that must
    // fail on sops's file fails on ours (so recipients and key groups were honoured).
    for set in &case.decrypt_with {
        let ids = s.identities(set);
        let run = s.sops().args(["decrypt", &ours]).age_key_file(&ids).run();
        f.check(run.code == Some(0) && run.stdout == expected, || {
            format!(
                "sops decrypt of our file with {set:?} != expected ({})\n{run}",
                first_difference(&expected, &run.stdout)
            )
        });
    }
    if let Some(must) = &case.must_fail_with {
        for set in &must.identity_sets {
            let ids = s.identities(set);
            let run = s.sops().args(["decrypt", &ours]).age_key_file(&ids).run();
            f.check(run.code == Some(must.exit_code), || {
                format!("sops must fail on our file with {set:?}\n{run}")
            });
        }
    }
    // And we read our own file back the same way.
    let ids = s.identities(&case.decrypt_with[0]);
    let run = s.ours().args(["decrypt", &ours]).age_key_file(&ids).run();
    f.check(run.code == Some(0) && run.stdout == expected, || {
        format!(
            "our decrypt of our file != expected ({})\n{run}",
            first_difference(&expected, &run.stdout)
        )
    });
    f.finish(name);
}

/// Our encrypted file has sops's layout: after masking what is random or time-dependent (value
/// ciphertexts except their length, the age-wrapped data keys, `lastmodified`), it is byte-equal
/// to what the real sops writes for the same input in the same directory.
fn check_encrypt_layout(name: &str) {
    let case = case(name);
    let s = Scratch::new();
    s.copy_case(&case.dir());
    let ours = s.read(&encrypt_with_ours(case, &s));
    let theirs = encrypt_command(case, &s, true).ok().stdout;
    let (ours, theirs) = (mask(&case.format, &ours), mask(&case.format, &theirs));
    assert!(
        ours == theirs,
        "case {name}: our encrypted layout differs from sops's ({})\n--- sops (masked) ---\n{theirs}\n--- ours (masked) ---\n{ours}",
        first_difference(theirs.as_bytes(), ours.as_bytes())
    );
}

/// Replaces the random parts of an encrypted file with placeholders (SOPS.md §2.3, §6.2, §5.2).
pub(crate) fn mask(format: &str, bytes: &[u8]) -> String {
    static PATTERNS: OnceLock<[(Regex, &str); 3]> = OnceLock::new();
    let patterns = PATTERNS.get_or_init(|| {
        [
            (
                Regex::new(
                    r"ENC\[AES256_GCM,data:([A-Za-z0-9+/=]*),iv:[A-Za-z0-9+/=]+,tag:[A-Za-z0-9+/=]+,type:",
                )
                .unwrap(),
                "ENC[AES256_GCM,data:<$len>,iv:<iv>,tag:<tag>,type:",
            ),
            (
                Regex::new(r"(?s)-----BEGIN AGE ENCRYPTED FILE-----.*?-----END AGE ENCRYPTED FILE-----")
                    .unwrap(),
                "<age-armor>",
            ),
            (
                Regex::new(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z").unwrap(),
                "<lastmodified>",
            ),
        ]
    });
    let text = String::from_utf8_lossy(bytes);
    // The ciphertext's length is kept: it is the length of the serialised plaintext (SOPS.md §2.4).
    let text = patterns[0].0.replace_all(&text, |c: &regex::Captures| {
        patterns[0]
            .1
            .replace("$len", &format!("{} b64 chars", c[1].len()))
    });
    let text = patterns[1].0.replace_all(&text, patterns[1].1);
    let text = patterns[2].0.replace_all(&text, patterns[2].1).into_owned();
    if format == "ini" {
        sort_ini_sops_section(&text)
    } else {
        text
    }
}

/// Key order inside INI's `[sops]` section is random in sops (Go map iteration, SOPS.md §7.5).
fn sort_ini_sops_section(text: &str) -> String {
    match text.find("[sops]\n") {
        Some(at) => {
            let (head, tail) = text.split_at(at + "[sops]\n".len());
            let mut lines: Vec<&str> = tail.lines().collect();
            lines.sort_unstable();
            format!("{head}{}\n", lines.join("\n"))
        }
        None => text.to_string(),
    }
}

// ------------------------------------------------------------------------------------------------
// The real sops edits our files (SOPS.md §10): rotate, updatekeys, set.

/// Decrypts `file` with sops and with us using `letters`; both must give `want`.
fn both_decrypt_to(
    f: &mut Failures,
    s: &Scratch,
    file: &str,
    letters: &[&str],
    want: &[u8],
    step: &str,
) {
    let ids = s.identities(letters);
    for run in [
        s.sops().args(["decrypt", file]).age_key_file(&ids).run(),
        s.ours().args(["decrypt", file]).age_key_file(&ids).run(),
    ] {
        f.check(run.code == Some(0) && run.stdout == want, || {
            format!(
                "after {step}, decrypt with {letters:?} != expected ({})\n{run}",
                first_difference(want, &run.stdout)
            )
        });
    }
}

fn first_identity_set(case: &Case) -> Vec<&str> {
    case.decrypt_with[0].iter().map(String::as_str).collect()
}

fn check_sops_rotates_ours(name: &str) {
    let case = case(name);
    let s = Scratch::new();
    s.copy_case(&case.dir());
    let ours = encrypt_with_ours(case, &s);
    let before = s.read(&ours);
    let letters = first_identity_set(case);
    let ids = s.identities(&letters);
    s.sops()
        .args(["rotate", "-i", &ours])
        .age_key_file(&ids)
        .ok();
    let mut f = Failures::default();
    f.check(s.read(&ours) != before, || {
        "sops rotate -i left our file unchanged".into()
    });
    let expected = case.read(case.expected_plaintext.as_deref().unwrap());
    both_decrypt_to(&mut f, &s, &ours, &letters, &expected, "sops rotate");
    f.finish(name);
}

fn check_sops_updatekeys_ours(name: &str) {
    let case = case(name);
    assert_eq!(
        case.decrypt_with,
        [["a"]],
        "sample cases are encrypted for a alone"
    );
    let s = Scratch::new();
    s.copy_case(&case.dir());
    let ours = encrypt_with_ours(case, &s);
    // The new rule adds recipient b; updatekeys re-wraps the data key for it (SOPS.md §10).
    let recipients = &index().recipients;
    s.write(
        ".sops.yaml",
        format!(
            "creation_rules:\n  - age: {},{}\n",
            recipients["a"], recipients["b"]
        ),
    );
    let ids = s.identities(&["a"]);
    s.sops()
        .args(["updatekeys", "-y", &ours])
        .age_key_file(&ids)
        .ok();
    let mut f = Failures::default();
    let expected = case.read(case.expected_plaintext.as_deref().unwrap());
    both_decrypt_to(&mut f, &s, &ours, &["b"], &expected, "sops updatekeys");
    both_decrypt_to(&mut f, &s, &ours, &["a"], &expected, "sops updatekeys");
    f.finish(name);
}

fn check_sops_sets_in_ours(name: &str) {
    let case = case(name);
    // A path that exists in the store's tree shape: INI values live one level down, in a section.
    let path = match case.format.as_str() {
        "ini" => r#"["api"]["harness_added"]"#,
        "yaml" if case.name == "k8s-secret-flux" => r#"["data"]["harness_added"]"#,
        _ => r#"["harness_added"]"#,
    };
    let value = r#""aGFybmVzcyBzZXQgdmFsdWU=""#;
    let s = Scratch::new();
    s.copy_case(&case.dir());
    let letters = first_identity_set(case);
    let ids = s.identities(&letters);

    // Reference: the same `sops set` on sops's own encrypted file.
    s.sops()
        .args(["set", &case.encrypted, path, value])
        .age_key_file(&ids)
        .ok();
    let want = s
        .sops()
        .args(["decrypt", &case.encrypted])
        .age_key_file(&ids)
        .ok()
        .stdout;
    assert!(
        want.windows(8).any(|w| w == b"aGFybmVz"),
        "reference set did not add the value"
    );

    let ours = encrypt_with_ours(case, &s);
    s.sops()
        .args(["set", &ours, path, value])
        .age_key_file(&ids)
        .ok();
    let mut f = Failures::default();
    both_decrypt_to(&mut f, &s, &ours, &letters, &want, "sops set");
    f.finish(name);
}
