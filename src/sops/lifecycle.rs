//! The pure parts of sops's lifecycle commands (SOPS.md §10): reading a `set` value, comparing a
//! file's key groups with what `.sops.yaml` demands (`updatekeys`), re-wrapping a data key for new
//! groups, changing recipients for `rotate`, and turning a tree into `exec-env` variables.
//!
//! It exists so the commands stay thin and these rules can be unit-tested without files, editors
//! or child processes. It must never do I/O, and no error or rendered text here may contain a value
//! from a file: recipients, key names and counts only.

use crate::secret::{Key32, SecretBytes};
use crate::sops::format;
use crate::sops::keys;
use crate::sops::metadata::{KeyGroup, Metadata};
use crate::sops::rules::CreationRule;
use crate::sops::tree::{Node, Scalar, Tree};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    /// sops's text for a `set` value that is not JSON (exit 7).
    #[error("Value for --set is not valid JSON")]
    BadJson,
    #[error("cannot use complex value in environment; offending key: {0}")]
    ComplexValue(String),
    #[error("cannot use key containing '=' in environment; offending key: {0}")]
    KeyWithEquals(String),
    #[error("{0}")]
    Keys(String),
    /// The file or the rule holds master keys we cannot (re-)wrap a data key for.
    #[error("{0}")]
    OtherKeys(String),
}

/// Parses a `set` value: JSON, so numbers become floats and objects/arrays sub-trees, exactly as
/// our JSON store reads a document (SOPS.md §10, §8.3).
pub fn json_value(text: &[u8]) -> Result<Node, LifecycleError> {
    // Parsed as the single member of a wrapper object, so the JSON store's number and string
    // rules apply unchanged. Anything that smuggles a second member in is rejected below.
    let mut wrapped = zeroize::Zeroizing::new(Vec::with_capacity(text.len() + 8));
    wrapped.extend_from_slice(b"{\"v\":\n");
    wrapped.extend_from_slice(text);
    wrapped.extend_from_slice(b"\n}");
    let mut tree = format::json::parse(&wrapped).map_err(|_| LifecycleError::BadJson)?;
    if tree.documents.len() != 1 || tree.documents[0].entries.len() != 1 {
        return Err(LifecycleError::BadJson);
    }
    let doc = tree.documents.remove(0);
    match doc.entries.into_iter().next() {
        Some(crate::sops::tree::Entry::Pair(k, v)) if k == "v" => Ok(v),
        _ => Err(LifecycleError::BadJson),
    }
}

/// A short label for a non-age master key as stored in a file, comparable with the strings a
/// `.sops.yaml` rule lists for the same type (SOPS.md §9.3).
pub fn other_key_label(ty: &str, node: &Node) -> String {
    let Node::Mapping(m) = node else {
        return node.as_str().unwrap_or("?").to_string();
    };
    let f = |k: &str| m.get(k).and_then(Node::as_str).unwrap_or("").to_string();
    match ty {
        "pgp" => f("fp"),
        "kms" => f("arn"),
        "gcp_kms" => f("resource_id"),
        "hckms" => f("key_id"),
        "azure_kv" => format!(
            "{}/keys/{}/{}",
            f("vault_url").trim_end_matches('/'),
            f("name"),
            f("version")
        ),
        "hc_vault" => format!(
            "{}/v1/{}/keys/{}",
            f("vault_address").trim_end_matches('/'),
            f("engine_path"),
            f("key_name")
        ),
        _ => "?".into(),
    }
}

/// One key group as a list of printable key names: age recipients, then other keys as
/// `type:label`.
fn file_group_keys(g: &KeyGroup) -> Vec<String> {
    let mut v: Vec<String> = g.age.iter().map(|k| k.recipient.clone()).collect();
    for (ty, nodes) in &g.others {
        for n in nodes {
            v.push(format!("{ty}:{}", other_key_label(ty, n)));
        }
    }
    v
}

/// The same label for a key as a rule lists it. Flat rule fields are plain strings already;
/// `key_groups` entries for kms/gcp_kms/hckms/azure_keyvault are objects, which the rules module
/// renders as `field: value` text on one line, so the identifying field is picked out of that.
fn rule_key_label(ty: &str, id: &str) -> String {
    let field = |name: &str| {
        let tokens: Vec<&str> = id.split_whitespace().collect();
        tokens
            .iter()
            .position(|t| *t == format!("{name}:"))
            .and_then(|i| tokens.get(i + 1))
            .map(|v| v.trim_matches(|c| c == '"' || c == '\'').to_string())
    };
    let picked = match ty {
        "kms" => field("arn"),
        "gcp_kms" => field("resource_id"),
        "hckms" => field("key_id"),
        "azure_kv" => match (field("vaultUrl"), field("key"), field("version")) {
            (Some(u), Some(k), Some(v)) => {
                Some(format!("{}/keys/{k}/{v}", u.trim_end_matches('/')))
            }
            _ => None,
        },
        _ => None,
    };
    picked.unwrap_or_else(|| id.to_string())
}

fn rule_group_keys(g: &crate::sops::rules::RuleGroup) -> Vec<String> {
    let mut v = g.age.clone();
    for (ty, id) in &g.others {
        v.push(format!("{ty}:{}", rule_key_label(ty, id)));
    }
    v
}

/// How one group changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupDiff {
    pub kept: Vec<String>,
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

/// What `updatekeys` would change in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeysPlan {
    pub groups: Vec<GroupDiff>,
    pub old_threshold: usize,
    pub new_threshold: usize,
    /// The age recipients per new group, in the rule's order.
    pub new_age: Vec<Vec<String>>,
}

impl KeysPlan {
    /// Nothing to do: same keys in every group (order inside a group does not matter) and the
    /// same threshold.
    pub fn is_up_to_date(&self) -> bool {
        self.old_threshold == self.new_threshold
            && self
                .groups
                .iter()
                .all(|g| g.added.is_empty() && g.removed.is_empty())
    }

    /// The change list, laid out as sops prints it (observed with sops 3.11: groups numbered
    /// from 1, unchanged keys indented by four spaces, `+++`/`---` for added/removed, and the
    /// threshold first when there are several groups or it changes).
    pub fn render(&self) -> String {
        let mut s = String::new();
        if self.old_threshold != self.new_threshold {
            s.push_str(&format!("+++ shamir_threshold: {}\n", self.new_threshold));
            s.push_str(&format!("--- shamir_threshold: {}\n", self.old_threshold));
        } else if self.new_threshold != 0 {
            s.push_str(&format!("shamir_threshold: {}\n", self.new_threshold));
        }
        for (i, g) in self.groups.iter().enumerate() {
            s.push_str(&format!("Group {}\n", i + 1));
            for k in &g.kept {
                s.push_str(&format!("    {k}\n"));
            }
            for k in &g.added {
                s.push_str(&format!("+++ {k}\n"));
            }
            for k in &g.removed {
                s.push_str(&format!("--- {k}\n"));
            }
        }
        s
    }
}

/// Compares a file's key groups with a creation rule. The threshold is `flag`, else the rule's,
/// else the file's capped at the new number of groups (sops keeps the file's and ignores the
/// rule's — sops#810; we apply the rule, as the README says).
pub fn plan_keys(meta: &Metadata, rule: &CreationRule, flag_threshold: Option<usize>) -> KeysPlan {
    let n_old = meta.key_groups.len();
    let n_new = rule.groups.len();
    let mut groups = Vec::new();
    for i in 0..n_old.max(n_new) {
        let old = meta
            .key_groups
            .get(i)
            .map(file_group_keys)
            .unwrap_or_default();
        let new = rule.groups.get(i).map(rule_group_keys).unwrap_or_default();
        groups.push(GroupDiff {
            kept: new.iter().filter(|k| old.contains(k)).cloned().collect(),
            added: new.iter().filter(|k| !old.contains(k)).cloned().collect(),
            removed: old.iter().filter(|k| !new.contains(k)).cloned().collect(),
        });
    }
    let new_threshold = match flag_threshold {
        Some(t) => t,
        None if rule.shamir_threshold != 0 => rule.shamir_threshold,
        None if n_new > 1 => meta.shamir_threshold.min(n_new),
        // One group and no threshold in the rule: what a fresh `encrypt` from this rule writes.
        None => 0,
    };
    KeysPlan {
        groups,
        old_threshold: meta.shamir_threshold,
        new_threshold,
        new_age: rule.groups.iter().map(|g| g.age.clone()).collect(),
    }
}

/// Wraps `key` for the planned groups. Non-age keys are carried over only where that stays
/// correct: the rule still lists exactly the same ones in the same single group, so their stored
/// wrapping of the (unchanged) data key is still valid. Anything else is an error naming the keys.
pub fn rewrap(
    meta: &Metadata,
    rule: &CreationRule,
    plan: &KeysPlan,
    key: &Key32,
    key_changes: bool,
) -> Result<Vec<KeyGroup>, LifecycleError> {
    let file_others: Vec<(usize, String)> = meta
        .key_groups
        .iter()
        .enumerate()
        .flat_map(|(i, g)| {
            file_group_keys(g)
                .into_iter()
                .skip(g.age.len())
                .map(move |k| (i, k))
        })
        .collect();
    let rule_others: Vec<(usize, String)> = rule
        .groups
        .iter()
        .enumerate()
        .flat_map(|(i, g)| {
            g.others
                .iter()
                .map(move |(t, id)| (i, format!("{t}:{}", rule_key_label(t, id))))
        })
        .collect();
    let same_single_group = meta.key_groups.len() == 1 && rule.groups.len() == 1 && !key_changes;
    let nothing_to_keep = file_others.is_empty() && rule_others.is_empty();
    let keep_verbatim = same_single_group && sorted(&file_others) == sorted(&rule_others);
    if !nothing_to_keep && !keep_verbatim {
        let list = |v: &[(usize, String)]| {
            v.iter()
                .map(|(i, k)| format!("{k} (group {})", i + 1))
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Err(LifecycleError::OtherKeys(format!(
            "non-age master keys cannot be re-wrapped by overworld-secrets (file has: [{}]; rule {} demands: [{}]); run `sops updatekeys` for this file, or make the rule list the same keys in a single group",
            list(&file_others),
            rule.index,
            list(&rule_others)
        )));
    }
    let mut groups = keys::wrap_data_key(key, &plan.new_age, plan.new_threshold)
        .map_err(|e| LifecycleError::Keys(e.to_string()))?;
    if same_single_group {
        groups[0].others = meta.key_groups[0].others.clone();
    }
    Ok(groups)
}

fn sorted(v: &[(usize, String)]) -> Vec<(usize, String)> {
    let mut v = v.to_vec();
    v.sort();
    v
}

/// `rotate --add-age/--rm-age`: added recipients go to the first group, removed ones leave every
/// group (SOPS.md §10). Returns the age recipients per group.
pub fn rotate_recipients(
    meta: &Metadata,
    add: &[String],
    remove: &[String],
) -> Result<Vec<Vec<String>>, LifecycleError> {
    if let Some(g) = meta.key_groups.iter().find(|g| g.other_key_count() > 0) {
        return Err(LifecycleError::OtherKeys(format!(
            "the file also has {} keys; a new data key cannot be wrapped for them by overworld-secrets: use `sops rotate` for this file",
            g.other_types().join(", ")
        )));
    }
    let mut groups: Vec<Vec<String>> = meta
        .key_groups
        .iter()
        .map(|g| {
            g.age
                .iter()
                .map(|k| k.recipient.clone())
                .filter(|r| !remove.contains(r))
                .collect()
        })
        .collect();
    if groups.is_empty() {
        groups.push(Vec::new());
    }
    for r in add {
        if !groups[0].contains(r) {
            groups[0].push(r.clone());
        }
    }
    if groups.iter().any(|g| g.is_empty()) {
        return Err(LifecycleError::Keys(
            "after --rm-age a key group would have no recipient left; add one with --add-age"
                .into(),
        ));
    }
    Ok(groups)
}

/// The text `exec-env` puts in a variable for a scalar, as sops formats it (observed with sops
/// 3.11): floats in Go `%G` with `.0` added when there is neither point nor exponent, bools
/// `true`/`false`, null `<nil>`.
fn env_text(node: &Node) -> SecretBytes {
    match node {
        Node::Null => SecretBytes::from_str("<nil>"),
        Node::Scalar(Scalar::Str(s)) => s.clone(),
        Node::Scalar(Scalar::Int(i)) => SecretBytes::from(i.to_string()),
        Node::Scalar(Scalar::Bool(b)) => SecretBytes::from(b.to_string()),
        Node::Scalar(Scalar::Time(t)) => SecretBytes::from_str(t),
        Node::Scalar(Scalar::Float(f)) => {
            let mut s = format::json::go_format_float(*f, b'G');
            if f.is_finite() && !s.contains(['.', 'E']) {
                s.push_str(".0");
            }
            SecretBytes::from(s)
        }
        Node::Mapping(_) | Node::Sequence(_) => SecretBytes::default(),
    }
}

/// The top-level entries of the first document as environment variables (SOPS.md §10
/// `exec-env`): nested values and keys holding `=` are refused.
pub fn env_entries(tree: &Tree) -> Result<Vec<(String, SecretBytes)>, LifecycleError> {
    let Some(doc) = tree.documents.first() else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (k, v) in doc.pairs() {
        if matches!(v, Node::Mapping(_) | Node::Sequence(_)) {
            return Err(LifecycleError::ComplexValue(k.to_string()));
        }
        if k.contains('=') {
            return Err(LifecycleError::KeyWithEquals(k.to_string()));
        }
        out.push((k.to_string(), env_text(v)));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sops::metadata::AgeKey;
    use crate::sops::rules::RuleGroup;

    #[test]
    fn json_values_follow_the_json_store() {
        assert!(matches!(
            json_value(b"5").unwrap(),
            Node::Scalar(Scalar::Float(f)) if f == 5.0
        ));
        assert_eq!(json_value(br#""x""#).unwrap().as_str(), Some("x"));
        assert!(matches!(
            json_value(br#"{"a":[1,true]}"#).unwrap(),
            Node::Mapping(_)
        ));
        assert!(matches!(json_value(b"[]").unwrap(), Node::Sequence(_)));
        for bad in [&b"notjson"[..], b"1, \"w\": 2", b"", b"{"] {
            assert_eq!(
                json_value(bad).unwrap_err(),
                LifecycleError::BadJson,
                "{bad:?}"
            );
        }
    }

    fn meta(groups: &[&[&str]], threshold: usize) -> Metadata {
        Metadata {
            shamir_threshold: threshold,
            key_groups: groups
                .iter()
                .map(|g| KeyGroup {
                    age: g
                        .iter()
                        .map(|r| AgeKey {
                            recipient: r.to_string(),
                            enc: String::new(),
                        })
                        .collect(),
                    others: vec![],
                })
                .collect(),
            last_modified: "2024-01-01T00:00:00Z".into(),
            mac: String::new(),
            selection: None,
            mac_only_encrypted: false,
            version: "3.11.0".into(),
        }
    }

    fn rule(groups: &[&[&str]], threshold: usize) -> CreationRule {
        CreationRule {
            groups: groups
                .iter()
                .map(|g| RuleGroup {
                    age: g.iter().map(|s| s.to_string()).collect(),
                    others: vec![],
                })
                .collect(),
            shamir_threshold: threshold,
            ..Default::default()
        }
    }

    #[test]
    fn plan_renders_like_sops() {
        let p = plan_keys(&meta(&[&["A"]], 0), &rule(&[&["A", "B"], &["C"]], 2), None);
        assert!(!p.is_up_to_date());
        assert_eq!(
            p.render(),
            "+++ shamir_threshold: 2\n--- shamir_threshold: 0\nGroup 1\n    A\n+++ B\nGroup 2\n+++ C\n"
        );
        let same = plan_keys(&meta(&[&["B", "A"]], 0), &rule(&[&["A", "B"]], 0), None);
        assert!(same.is_up_to_date());
        let shrink = plan_keys(&meta(&[&["A"], &["C"]], 2), &rule(&[&["C"]], 0), None);
        assert_eq!(shrink.new_threshold, 0);
        assert_eq!(
            shrink.render(),
            "+++ shamir_threshold: 0\n--- shamir_threshold: 2\nGroup 1\n+++ C\n--- A\nGroup 2\n--- C\n"
        );
    }

    #[test]
    fn other_keys_are_kept_only_when_still_demanded() {
        let mut m = meta(&[&[]], 0);
        let mut fp = crate::sops::tree::Mapping::new();
        fp.push("fp", Node::str("ABCD"));
        m.key_groups[0].others = vec![("pgp".into(), vec![Node::Mapping(fp)])];
        let key = Key32::random();
        let r = age::x25519::Identity::generate().to_public().to_string();
        let mut keep = rule(&[&[r.as_str()]], 0);
        keep.groups[0].others = vec![("pgp".into(), "ABCD".into())];
        let plan = plan_keys(&m, &keep, None);
        let g = rewrap(&m, &keep, &plan, &key, false).unwrap();
        assert_eq!(g[0].others, m.key_groups[0].others);
        let drop = rule(&[&[r.as_str()]], 0);
        let plan = plan_keys(&m, &drop, None);
        let e = rewrap(&m, &drop, &plan, &key, false).unwrap_err();
        assert!(e.to_string().contains("pgp:ABCD (group 1)"), "{e}");
    }

    #[test]
    fn key_group_objects_compare_by_their_identifying_field() {
        assert_eq!(
            rule_key_label("kms", "arn: arn:aws:kms:eu-west-1:1:key/k role: r"),
            "arn:aws:kms:eu-west-1:1:key/k"
        );
        assert_eq!(
            rule_key_label(
                "azure_kv",
                "vaultUrl: https://v.vault.azure.net key: k version: 1"
            ),
            "https://v.vault.azure.net/keys/k/1"
        );
        assert_eq!(rule_key_label("pgp", "ABCD"), "ABCD");
        let mut kms = crate::sops::tree::Mapping::new();
        kms.push("arn", Node::str("arn:aws:kms:eu-west-1:1:key/k"));
        kms.push("enc", Node::str("wrapped"));
        assert_eq!(
            other_key_label("kms", &Node::Mapping(kms)),
            "arn:aws:kms:eu-west-1:1:key/k"
        );
    }

    #[test]
    fn rotate_adds_to_first_group_and_removes_everywhere() {
        let m = meta(&[&["A", "B"], &["B", "C"]], 2);
        let g = rotate_recipients(&m, &["D".into()], &["B".into()]).unwrap();
        assert_eq!(g, vec![vec!["A", "D"], vec!["C"]]);
        assert!(rotate_recipients(&m, &[], &["B".into(), "C".into()]).is_err());
    }

    #[test]
    fn env_values_are_formatted_like_sops() {
        let t = crate::sops::format::yaml::parse(
            b"f1: 1.5\nf2: 3.0\nf3: 1e21\nf4: 0.0000001\nf5: 100000.0\nf6: 123456789.0\nb: true\ni: 42\nn: null\ns: hi\n",
        )
        .unwrap();
        let env: Vec<(String, String)> = env_entries(&t)
            .unwrap()
            .into_iter()
            .map(|(k, v)| (k, v.as_str().unwrap().to_string()))
            .collect();
        let want = [
            ("f1", "1.5"),
            ("f2", "3.0"),
            ("f3", "1E+21"),
            ("f4", "1E-07"),
            ("f5", "100000.0"),
            ("f6", "1.23456789E+08"),
            ("b", "true"),
            ("i", "42"),
            ("n", "<nil>"),
            ("s", "hi"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(env, want);
        let nested = crate::sops::format::yaml::parse(b"a: {b: c}\n").unwrap();
        assert_eq!(
            env_entries(&nested).unwrap_err(),
            LifecycleError::ComplexValue("a".into())
        );
        let eq = crate::sops::format::yaml::parse(b"\"a=b\": c\n").unwrap();
        assert!(matches!(
            env_entries(&eq).unwrap_err(),
            LifecycleError::KeyWithEquals(_)
        ));
    }
}
