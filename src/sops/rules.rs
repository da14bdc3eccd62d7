//! `.sops.yaml`: found and applied as sops does (SOPS.md §9) — the first `.sops.yaml` from the
//! working directory upward (or `--config`/`SOPS_CONFIG`), creation rules in order with the first
//! match winning, `path_regex` matched against the path relative to the config's folder, `age` as a
//! list or a comma-separated string, `key_groups` with `merge`, the selection options, and `stores`.

use crate::sops::format::EmitOptions;
use crate::sops::metadata::Selection;
use regex::Regex;
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("Could not unmarshal config file {}: {msg}", path.display())]
    Parse { path: PathBuf, msg: String },
    #[error("no matching creation rules found")]
    NoMatch,
    #[error("cannot use more than one of encrypted_suffix, unencrypted_suffix, encrypted_regex, unencrypted_regex, encrypted_comment_regex, or unencrypted_comment_regex for the same rule (in {})", .0.display())]
    TwoSelections(PathBuf),
    #[error("invalid path_regex {regex:?} in {}: {msg}", path.display())]
    BadRegex {
        path: PathBuf,
        regex: String,
        msg: String,
    },
    #[error("{0}")]
    Io(String),
}

/// A string or a list of strings (`age: a,b` or `age: [a, b]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum StringOrList {
    One(String),
    Many(Vec<String>),
}

impl StringOrList {
    fn items(&self) -> Vec<String> {
        let raw: Vec<&str> = match self {
            StringOrList::One(s) => s.split(',').collect(),
            StringOrList::Many(v) => v.iter().map(String::as_str).collect(),
        };
        raw.into_iter()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
struct RawGroup {
    #[serde(default)]
    age: Vec<String>,
    #[serde(default)]
    pgp: Vec<String>,
    #[serde(default)]
    kms: Vec<serde_yaml_ng::Value>,
    #[serde(default)]
    gcp_kms: Vec<serde_yaml_ng::Value>,
    #[serde(default)]
    azure_keyvault: Vec<serde_yaml_ng::Value>,
    #[serde(default)]
    hc_vault: Vec<String>,
    #[serde(default)]
    hckms: Vec<serde_yaml_ng::Value>,
    #[serde(default)]
    merge: Vec<RawGroup>,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct RawRule {
    path_regex: Option<String>,
    age: Option<StringOrList>,
    pgp: Option<StringOrList>,
    kms: Option<StringOrList>,
    gcp_kms: Option<StringOrList>,
    azure_keyvault: Option<StringOrList>,
    hc_vault_transit_uri: Option<StringOrList>,
    hckms: Option<serde_yaml_ng::Value>,
    key_groups: Option<Vec<RawGroup>>,
    shamir_threshold: Option<usize>,
    mac_only_encrypted: Option<bool>,
    unencrypted_suffix: Option<String>,
    encrypted_suffix: Option<String>,
    unencrypted_regex: Option<String>,
    encrypted_regex: Option<String>,
    unencrypted_comment_regex: Option<String>,
    encrypted_comment_regex: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct RawIndent {
    indent: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct RawStores {
    yaml: Option<RawIndent>,
    json: Option<RawIndent>,
    json_binary: Option<RawIndent>,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct RawConfig {
    creation_rules: Option<Vec<RawRule>>,
    stores: Option<RawStores>,
}

/// One key group a rule demands: age recipients, plus the other key types by name (which we can
/// compare against a file but not encrypt to).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleGroup {
    pub age: Vec<String>,
    pub others: Vec<(String, String)>,
}

/// What a matching creation rule demands for a file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreationRule {
    pub groups: Vec<RuleGroup>,
    pub shamir_threshold: usize,
    pub selection: Option<Selection>,
    pub mac_only_encrypted: bool,
    /// The rule's index in `creation_rules` (for messages).
    pub index: usize,
}

/// A loaded `.sops.yaml`.
#[derive(Debug, Clone)]
pub struct SopsConfig {
    pub path: PathBuf,
    rules: Vec<(Option<Regex>, RawRule)>,
    /// Each rule once built: `check` asks for the rule of every file of a repository, and they
    /// share a handful of rules.
    built: Vec<std::sync::OnceLock<CreationRule>>,
    has_rules: bool,
    pub emit: EmitOptions,
    /// `stores.json_binary.indent`: the JSON layout of encrypted binary files.
    binary_json_indent: Option<usize>,
}

impl SopsConfig {
    /// Locates the config: `explicit` (`--config`/`SOPS_CONFIG`), else the first `.sops.yaml`
    /// from `start` upward (at most 100 levels). A `.sops.yml` seen first is reported in `warnings`.
    pub fn find(
        start: &Path,
        explicit: Option<&Path>,
        warnings: &mut Vec<String>,
    ) -> Result<Option<SopsConfig>, RulesError> {
        if let Some(p) = explicit {
            return SopsConfig::load(p).map(Some);
        }
        let mut dir = Some(start.to_path_buf());
        for _ in 0..100 {
            let Some(d) = dir else { break };
            let candidate = d.join(".sops.yaml");
            if candidate.is_file() {
                return SopsConfig::load(&candidate).map(Some);
            }
            let yml = d.join(".sops.yml");
            if yml.is_file() {
                warnings.push(format!(
                    "ignoring \"{}\" when searching for config file; the config file must be called \".sops.yaml\"",
                    yml.display()
                ));
            }
            dir = d.parent().map(Path::to_path_buf);
        }
        Ok(None)
    }

    pub fn load(path: &Path) -> Result<SopsConfig, RulesError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| RulesError::Io(format!("{}: {e}", path.display())))?;
        Self::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<SopsConfig, RulesError> {
        let raw: RawConfig = if text.trim().is_empty() {
            RawConfig::default()
        } else {
            serde_yaml_ng::from_str(text).map_err(|e| RulesError::Parse {
                path: path.to_path_buf(),
                msg: e.to_string(),
            })?
        };
        let has_rules = raw.creation_rules.is_some();
        let mut rules = Vec::new();
        for r in raw.creation_rules.unwrap_or_default() {
            let re = match r.path_regex.as_deref() {
                Some(s) if !s.is_empty() => {
                    Some(Regex::new(s).map_err(|e| RulesError::BadRegex {
                        path: path.to_path_buf(),
                        regex: s.to_string(),
                        msg: e.to_string(),
                    })?)
                }
                _ => None,
            };
            rules.push((re, r));
        }
        let mut emit = EmitOptions::default();
        let mut binary_json_indent = None;
        if let Some(stores) = raw.stores {
            if let Some(i) = stores.yaml.and_then(|y| y.indent) {
                if i < 0 {
                    return Err(RulesError::Parse {
                        path: path.to_path_buf(),
                        msg: "YAML Negative indentation not accepted".into(),
                    });
                }
                if i > 0 {
                    emit.yaml_indent = i as usize;
                }
            }
            if let Some(i) = stores.json.and_then(|y| y.indent) {
                if i < -1 {
                    return Err(RulesError::Parse {
                        path: path.to_path_buf(),
                        msg: "JSON Indentation parameter smaller than -1 is not accepted".into(),
                    });
                }
                emit.json_indent = if i == -1 { None } else { Some(i as usize) };
            }
            if let Some(i) = stores.json_binary.and_then(|y| y.indent) {
                binary_json_indent = if i < 0 { None } else { Some(i as usize) };
            }
        }
        Ok(SopsConfig {
            path: path.to_path_buf(),
            built: rules.iter().map(|_| std::sync::OnceLock::new()).collect(),
            rules,
            has_rules,
            emit,
            binary_json_indent,
        })
    }

    /// Emit options for files of `format`: encrypted binary files use the `json_binary` indent.
    pub fn emit_for(&self, format: crate::sops::format::Format) -> EmitOptions {
        let mut e = self.emit;
        if format == crate::sops::format::Format::Binary {
            e.json_indent = self.binary_json_indent;
        }
        e
    }

    pub fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }

    /// Whether the file has a `creation_rules` key at all (without one it counts as "no config").
    pub fn has_creation_rules(&self) -> bool {
        self.has_rules
    }

    /// The path `path_regex` sees: absolute, with `<config dir>/` removed when below it.
    pub fn match_path(&self, file: &Path) -> String {
        let abs = absolute(file);
        let dir = absolute(self.dir());
        match abs.strip_prefix(&dir) {
            Ok(rel) => rel.to_string_lossy().into_owned(),
            Err(_) => abs.to_string_lossy().into_owned(),
        }
    }

    /// The first rule matching `file` (SOPS.md §9.3).
    pub fn rule_for(&self, file: &Path) -> Result<CreationRule, RulesError> {
        let rel = self.match_path(file);
        for (i, (re, raw)) in self.rules.iter().enumerate() {
            if re.as_ref().is_none_or(|r| r.is_match(&rel)) {
                if let Some(rule) = self.built[i].get() {
                    return Ok(rule.clone());
                }
                // An invalid rule is an error each time it is asked for, never cached.
                let rule = build_rule(i, raw, &self.path)?;
                return Ok(self.built[i].get_or_init(|| rule).clone());
            }
        }
        Err(RulesError::NoMatch)
    }

    /// Every rule with its path regex, for repository-wide checks.
    pub fn path_regexes(&self) -> Vec<Option<&Regex>> {
        self.rules.iter().map(|(r, _)| r.as_ref()).collect()
    }
}

/// Makes a path absolute against the working directory without touching the file system
/// (sops addresses files by absolute path).
pub fn absolute(p: &Path) -> PathBuf {
    // The common case, once or twice per file of a `check`: nothing to resolve.
    if is_plainly_absolute(p) {
        return p.to_path_buf();
    }
    let joined = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(p)
    };
    normalise(&joined)
}

/// `.` and `..` resolved lexically, empty components and a trailing separator dropped.
fn normalise(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// An absolute path that component-wise normalisation would leave byte for byte as it is: no
/// `.` or `..` component, no empty component (`//`), no trailing separator.
#[cfg(unix)]
fn is_plainly_absolute(p: &Path) -> bool {
    let b = p.as_os_str().as_encoded_bytes();
    let has = |needle: &[u8]| memchr::memmem::find(b, needle).is_some();
    b.len() > 1
        && b[0] == b'/'
        && !b.ends_with(b"/")
        && !b.ends_with(b"/.")
        && !b.ends_with(b"/..")
        && !has(b"//")
        && !has(b"/./")
        && !has(b"/../")
}

#[cfg(not(unix))]
fn is_plainly_absolute(_: &Path) -> bool {
    false
}

fn value_label(v: &serde_yaml_ng::Value) -> String {
    match v {
        serde_yaml_ng::Value::String(s) => s.clone(),
        other => serde_yaml_ng::to_string(other)
            .unwrap_or_default()
            .trim()
            .replace('\n', " "),
    }
}

fn group_from_raw(g: &RawGroup) -> RuleGroup {
    let mut out = RuleGroup::default();
    let mut push_age = |r: &str| {
        let r = r.trim().to_string();
        if !r.is_empty() && !out.age.contains(&r) {
            out.age.push(r);
        }
    };
    for r in &g.age {
        push_age(r);
    }
    for m in &g.merge {
        for r in &group_from_raw(m).age {
            push_age(r);
        }
    }
    let mut others: Vec<(String, String)> = Vec::new();
    let mut add = |ty: &str, id: String| {
        if !others.iter().any(|(t, i)| t == ty && *i == id) {
            others.push((ty.to_string(), id));
        }
    };
    for p in &g.pgp {
        add("pgp", p.clone());
    }
    for k in &g.kms {
        add("kms", value_label(k));
    }
    for k in &g.gcp_kms {
        add("gcp_kms", value_label(k));
    }
    for k in &g.azure_keyvault {
        add("azure_kv", value_label(k));
    }
    for k in &g.hc_vault {
        add("hc_vault", k.clone());
    }
    for k in &g.hckms {
        add("hckms", value_label(k));
    }
    for m in &g.merge {
        for (t, i) in group_from_raw(m).others {
            add(&t, i);
        }
    }
    out.others = others;
    out
}

fn build_rule(index: usize, raw: &RawRule, path: &Path) -> Result<CreationRule, RulesError> {
    let mut selection = None;
    for (field, v) in [
        ("unencrypted_suffix", &raw.unencrypted_suffix),
        ("encrypted_suffix", &raw.encrypted_suffix),
        ("unencrypted_regex", &raw.unencrypted_regex),
        ("encrypted_regex", &raw.encrypted_regex),
        ("unencrypted_comment_regex", &raw.unencrypted_comment_regex),
        ("encrypted_comment_regex", &raw.encrypted_comment_regex),
    ] {
        if let Some(v) = v {
            if selection.is_some() {
                return Err(RulesError::TwoSelections(path.to_path_buf()));
            }
            selection = Selection::from_field(field, v.clone());
        }
    }
    let groups = if let Some(kg) = &raw.key_groups {
        kg.iter().map(group_from_raw).collect()
    } else {
        let mut g = RuleGroup::default();
        if let Some(a) = &raw.age {
            g.age = a.items();
        }
        for (ty, v) in [
            ("pgp", &raw.pgp),
            ("kms", &raw.kms),
            ("gcp_kms", &raw.gcp_kms),
            ("azure_kv", &raw.azure_keyvault),
            ("hc_vault", &raw.hc_vault_transit_uri),
        ] {
            if let Some(v) = v {
                for id in v.items() {
                    g.others.push((ty.to_string(), id));
                }
            }
        }
        if let Some(h) = &raw.hckms {
            g.others.push(("hckms".into(), value_label(h)));
        }
        vec![g]
    };
    Ok(CreationRule {
        groups,
        shamir_threshold: raw.shamir_threshold.unwrap_or(0),
        selection,
        mac_only_encrypted: raw.mac_only_encrypted.unwrap_or(false),
        index,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shortcut answers exactly as the component-wise normalisation.
    #[test]
    fn absolute_shortcut_agrees_with_normalising() {
        let slow = |p: &str| normalise(Path::new(p));
        for p in [
            "/r/secrets/a.yaml",
            "/r/secrets/",
            "/r//secrets/a.yaml",
            "/r/./a.yaml",
            "/r/x/../a.yaml",
            "/r/x/..",
            "/r/x/.",
            "/",
            "/.hidden/.sops.yaml",
            "/a/..b/c.",
        ] {
            assert_eq!(absolute(Path::new(p)), slow(p), "{p}");
            if is_plainly_absolute(Path::new(p)) {
                assert_eq!(PathBuf::from(p), slow(p), "{p}");
            }
        }
        assert!(is_plainly_absolute(Path::new("/r/secrets/a.yaml")));
        assert!(!is_plainly_absolute(Path::new("r/a.yaml")));
    }

    #[test]
    fn first_match_wins_relative_to_config_dir() {
        let cfg = SopsConfig::parse(
            Path::new("/repo/.sops.yaml"),
            "creation_rules:\n  - path_regex: ^sub/.*\\.yaml$\n    age: a1,  a2 ,\n    encrypted_regex: ^(data|stringData)$\n  - age: [b1]\n",
        )
        .unwrap();
        let r = cfg.rule_for(Path::new("/repo/sub/x.yaml")).unwrap();
        assert_eq!(r.groups[0].age, ["a1", "a2"]);
        assert_eq!(
            r.selection,
            Some(Selection::EncryptedRegex("^(data|stringData)$".into()))
        );
        let r = cfg.rule_for(Path::new("/repo/other/x.yaml")).unwrap();
        assert_eq!(r.groups[0].age, ["b1"]);
        assert_eq!(r.index, 1);
    }

    #[test]
    fn key_groups_merge_and_stores() {
        let cfg = SopsConfig::parse(
            Path::new("/r/.sops.yaml"),
            "stores:\n  yaml:\n    indent: 2\n  json:\n    indent: 0\ncreation_rules:\n  - shamir_threshold: 2\n    key_groups:\n      - age: [a]\n      - age: [b]\n        merge:\n          - age: [c, b]\n",
        )
        .unwrap();
        assert_eq!(cfg.emit.yaml_indent, 2);
        assert_eq!(cfg.emit.json_indent, Some(0));
        let r = cfg.rule_for(Path::new("/r/x.yaml")).unwrap();
        assert_eq!(r.groups.len(), 2);
        assert_eq!(r.groups[1].age, ["b", "c"]);
        assert_eq!(r.shamir_threshold, 2);
    }

    #[test]
    fn errors() {
        let two = SopsConfig::parse(
            Path::new("/r/.sops.yaml"),
            "creation_rules:\n  - age: a\n    encrypted_regex: x\n    unencrypted_suffix: y\n",
        )
        .unwrap();
        assert!(matches!(
            two.rule_for(Path::new("/r/f.yaml")),
            Err(RulesError::TwoSelections(_))
        ));
        let none = SopsConfig::parse(
            Path::new("/r/.sops.yaml"),
            "creation_rules:\n  - path_regex: ^nope$\n    age: a\n",
        )
        .unwrap();
        assert!(matches!(
            none.rule_for(Path::new("/r/f.yaml")),
            Err(RulesError::NoMatch)
        ));
        assert!(SopsConfig::parse(Path::new("/r/.sops.yaml"), "creation_rules: [").is_err());
    }
}
